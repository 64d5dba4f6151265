"""The alert store on both engines: create-if-absent, conditional writes, tenant filters, due queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from common.settings import Settings
from services.alerts.evaluator import build_alert
from services.alerts.models import AlertQuery, RuleRecord
from services.alerts.redaction import default_redact
from services.alerts.rules import RuleIn
from services.alerts.sqlite_store import SqliteAlertStore
from services.alerts.store import Conflict, EngineAlertStore
from services.search.store.engines import connect
from services.search.store.sqlite_file import SqliteFile
from tests.alerts_support import scored
from tests.conftest import ENGINE_URLS


@pytest.fixture(scope="module", params=["elasticsearch", "opensearch", "embedded"])
def alerts(
    request: pytest.FixtureRequest, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineAlertStore | SqliteAlertStore]:
    if request.param == "embedded":
        embedded = SqliteAlertStore(SqliteFile(tmp_path_factory.mktemp("alerts") / "search.sqlite3"))
        embedded.ensure_schema()
        embedded.ensure_schema()  # idempotent: a second start-up changes nothing
        yield embedded
        return
    engine = connect(request.param, [ENGINE_URLS[request.param]], request_timeout=30)
    store = EngineAlertStore(engine, f"{settings.index_alias}-store-{request.param}")
    store.ensure_schema()
    store.ensure_schema()  # idempotent: a second start-up changes nothing
    yield store
    store.drop()


def rule(store: EngineAlertStore, tenant: str) -> RuleRecord:
    now = datetime.now(UTC)
    body = {"name": "r", "conditions": {"rating_max": 2}, "channels": [{"type": "slack", "url": "https://h.example/x"}]}
    record = RuleRecord(
        **RuleIn.model_validate(body).model_dump(),
        id=uuid.uuid4().hex,
        tenant=tenant,
        created_at=now,
        created_by="t",
        updated_at=now,
        updated_by="t",
    )
    store.save_rule(record, None)
    return record


def test_rules_and_alerts_round_trip_per_tenant(alerts: EngineAlertStore) -> None:
    tenant, other = f"t-{uuid.uuid4().hex[:6]}", f"o-{uuid.uuid4().hex[:6]}"
    mine, theirs = rule(alerts, tenant), rule(alerts, other)
    assert [r.id for r in alerts.list_rules(tenant)] == [mine.id]
    assert alerts.get_rule(tenant, theirs.id) is None
    with pytest.raises(Conflict):
        alerts.save_rule(mine, None)  # create twice

    found = alerts.get_rule(tenant, mine.id)
    assert found is not None
    disabled = found.record.model_copy(update={"enabled": False})
    alerts.save_rule(disabled, found)
    with pytest.raises(Conflict):
        alerts.save_rule(disabled, found)  # stale version
    assert alerts.list_rules(tenant, enabled_only=True) == []

    alert = build_alert(mine, scored(tenant=tenant), ["r"], excerpt_chars=50, redact=default_redact)
    assert alerts.create_alert(alert)
    assert not alerts.create_alert(alert.model_copy(update={"severity": "low"}))
    stored = alerts.get_alert(tenant, alert.id)
    assert stored is not None and stored.record.severity == alert.severity
    assert alerts.get_alert(other, alert.id) is None
    assert [a.id for a in alerts.list_alerts(tenant, AlertQuery())] == [alert.id]
    assert alerts.list_alerts(other, AlertQuery(rule=mine.id)) == []

    counts = alerts.open_counts(tenant)
    assert counts == {"open": 1, "open_negative": 1, "unacknowledged": 1, "by_severity": {"high": 1}}
    assert alerts.delete_rule(tenant, mine.id) and not alerts.delete_rule(tenant, mine.id)
    assert not alerts.delete_rule(tenant, theirs.id)


def test_due_and_delivered_queries(alerts: EngineAlertStore) -> None:
    tenant = f"d-{uuid.uuid4().hex[:6]}"
    owner = rule(alerts, tenant)
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)
    held = build_alert(owner, scored(tenant=tenant), ["r"], excerpt_chars=50, redact=default_redact)
    held.delivery_state, held.due_at = "held", now - timedelta(minutes=1)
    later = build_alert(owner, scored(tenant=tenant), ["r"], excerpt_chars=50, redact=default_redact)
    later.delivery_state, later.due_at = "held", now + timedelta(minutes=1)
    lapsed = build_alert(owner, scored(tenant=tenant), ["r"], excerpt_chars=50, redact=default_redact)
    lapsed.delivery_state, lapsed.claimed_until = "sending", now - timedelta(seconds=1)
    sent = build_alert(owner, scored(tenant=tenant), ["r"], excerpt_chars=50, redact=default_redact)
    sent.delivery_state, sent.delivered_as, sent.delivered_at = "delivered", "single", now - timedelta(minutes=30)
    for record in (held, later, lapsed, sent):
        assert alerts.create_alert(record)
    due = {v.record.id for v in alerts.due(now, 100) if v.record.tenant == tenant}
    assert due == {held.id, lapsed.id}
    count, first = alerts.count_delivered(tenant, owner.id, now - timedelta(hours=1), "single")
    assert count == 1 and first == sent.delivered_at
    assert alerts.count_delivered(tenant, owner.id, now - timedelta(minutes=10), "single")[0] == 0


def test_erasing_a_mention_blanks_its_alerts_but_keeps_the_history(alerts: EngineAlertStore) -> None:
    tenant = f"e-{uuid.uuid4().hex[:6]}"
    mention = scored("The front desk lost my referral and nobody called back.", tenant=tenant)
    alert = build_alert(rule(alerts, tenant), mention, ["r"], excerpt_chars=200, redact=default_redact)
    assert alerts.create_alert(alert)
    assert alerts.erase_mention(tenant, mention.id) == 1
    assert alerts.erase_mention("someone-else", mention.id) == 0
    stored = alerts.get_alert(tenant, alert.id)
    assert stored is not None
    assert stored.record.mention.excerpt == "(erased)" and stored.record.mention.url is None
    assert "referral" not in stored.record.model_dump_json()
    assert not alerts.create_alert(alert), "the erased mention cannot raise the same rule again"
