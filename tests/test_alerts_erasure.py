"""The alert evaluator skips mentions erased (right to erasure) while their scored copy was queued,
and deletion notices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from common.bus import Record
from common.settings import Topics
from services.alerts.evaluator import EvaluationProcessor
from services.alerts.models import AlertQuery, RuleRecord
from services.alerts.rules import RuleIn
from services.alerts.sqlite_store import SqliteAlertStore
from services.search.store.sqlite import SqliteMentionStore
from services.search.store.sqlite_file import SqliteFile
from tests.alerts_support import scored

TENANT = "northside-imaging"


def _setup(tmp_path: Path) -> tuple[SqliteAlertStore, SqliteMentionStore, EvaluationProcessor]:
    file = SqliteFile(tmp_path / "search.sqlite3")
    alerts = SqliteAlertStore(file)
    alerts.ensure_schema()
    mentions = SqliteMentionStore(SqliteFile(tmp_path / "search.sqlite3"))
    mentions.ensure_schema()
    now = datetime.now(UTC)
    rule = RuleRecord(
        **RuleIn.model_validate(
            {
                "name": "negative",
                "conditions": {"rating_max": 2},
                "channels": [{"type": "webhook", "url": "https://hooks.example.com/x", "secret": "s" * 20}],
            }
        ).model_dump(),
        id=uuid.uuid4().hex,
        tenant=TENANT,
        created_at=now,
        created_by="test",
        updated_at=now,
        updated_by="test",
    )
    alerts.save_rule(rule, None)
    processor = EvaluationProcessor(
        alerts, Topics("t"), rules_cache_s=0, excerpt_chars=200, is_erased=mentions.is_erased
    )
    return alerts, mentions, processor


def _record(value: bytes) -> Record:
    return Record(topic="t.scored", partition=0, offset=0, key=None, value=value, timestamp_ms=0)


def test_a_mention_erased_while_queued_raises_no_alert(tmp_path: Path) -> None:
    alerts, mentions, processor = _setup(tmp_path)
    kept, erased = scored(tenant=TENANT), scored(tenant=TENANT)
    mentions.upsert([kept, erased])
    assert mentions.erase(TENANT, erased.id)  # erased after scoring, before the evaluator read it

    out = processor.process([_record(m.model_dump_json().encode()) for m in (kept, erased)])

    jobs = [j for js in out.values() for j in js]
    raised = {a.mention_id for a in alerts.list_alerts(TENANT, AlertQuery())}
    assert raised == {kept.id}  # the rule matches both; only the one still there raised an alert
    assert len(jobs) == 1


def test_a_deletion_notice_raises_no_alert(tmp_path: Path) -> None:
    alerts, _, processor = _setup(tmp_path)
    gone = scored(tenant=TENANT).model_copy(update={"deleted_at": datetime.now(UTC)})
    processor.process([_record(gone.model_dump_json().encode())])
    assert alerts.list_alerts(TENANT, AlertQuery()) == []
