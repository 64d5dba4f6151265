"""Alerts API on the search service: rules (CRUD), alert history, the response workflow, a summary.

Rules are written by admins and read by every role; webhook URLs come back masked and secrets
never come back.  Alerts are acknowledged, resolved and their loop closed (replied online,
contacted offline, no follow-up) by marketers and above; each step records who (the API key's
fingerprint and role, never the key) and when.  ``GET /v1/alerts/summary`` gives the dashboard
the open negative alerts and the time to respond.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel

from common.auth import Role
from common.http import ApiError, current_principal, read_model_body, requires
from common.settings import Settings
from services.alerts.channels import TargetRefused, check_literal_target
from services.alerts.models import (
    AlertQuery,
    AlertRecord,
    AlertView,
    OutcomeIn,
    RuleRecord,
    RuleView,
    Summary,
    SummaryQuery,
)
from services.alerts.rules import EmailChannel, RuleIn, SlackChannel, WebhookChannel
from services.alerts.store import AlertStore, Conflict
from services.search.api import engine_errors, parse_query

blueprint = Blueprint("alerts", __name__)

M = TypeVar("M", bound=BaseModel)

RULE_ID = re.compile(r"^[0-9a-f]{32}$")
ALERT_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}\.[0-9a-f]{32}\.[0-9a-f]{32}$")
SUMMARY_LIMIT = 10_000


def alert_store() -> AlertStore:
    store: AlertStore = current_app.extensions["radar.alerts"]
    return store


def _settings() -> Settings:
    settings: Settings = current_app.extensions["radar.settings"]
    return settings


def _actor() -> str:
    principal = current_principal()
    return f"{principal.role.name}:{principal.key_id}"


def _rule_in() -> RuleIn:
    rule = read_model_body(RuleIn)
    settings = _settings()
    for position, channel in enumerate(rule.channels):
        if isinstance(channel, SlackChannel | WebhookChannel):
            try:
                check_literal_target(str(channel.url), settings.alerts_allow_private_targets)
            except TargetRefused as exc:
                detail = {"field": f"channels[{position}].url", "problem": str(exc), "type": "target_refused"}
                raise ApiError(422, "validation_failed", "invalid fields", [detail]) from None
        if isinstance(channel, EmailChannel) and not settings.smtp_host:
            detail = {
                "field": f"channels[{position}].type",
                "problem": "e-mail alerts need an SMTP server (RADAR_SMTP_HOST)",
                "type": "email_unavailable",
            }
            raise ApiError(422, "validation_failed", "invalid fields", [detail])
    return rule


def _check_rule_id(rule_id: str) -> None:
    if not RULE_ID.match(rule_id):
        raise ApiError(400, "invalid_id", "a rule id is 32 lower-case hexadecimal characters")


def _alert_or_404(alert_id: str) -> None:
    if not ALERT_ID.match(alert_id) or not alert_id.startswith(current_principal().tenant + "."):
        raise ApiError(404, "not_found", "no such alert for this practice")


# --- rules ------------------------------------------------------------------------------------


@blueprint.get("/v1/alert-rules")
@requires(Role.viewer)
@engine_errors
def list_rules() -> Response:
    rules = alert_store().list_rules(current_principal().tenant)
    return jsonify({"items": [RuleView.of(r) for r in rules]})


@blueprint.post("/v1/alert-rules")
@requires(Role.admin)
@engine_errors
def create_rule() -> tuple[Response, int]:
    submitted = _rule_in()
    now, actor = datetime.now(UTC), _actor()
    record = RuleRecord(
        **submitted.model_dump(),
        id=uuid.uuid4().hex,
        tenant=current_principal().tenant,
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
    )
    alert_store().save_rule(record, None)
    return jsonify(RuleView.of(record)), 201


@blueprint.get("/v1/alert-rules/<rule_id>")
@requires(Role.viewer)
@engine_errors
def get_rule(rule_id: str) -> Response:
    _check_rule_id(rule_id)
    found = alert_store().get_rule(current_principal().tenant, rule_id)
    if found is None:
        raise ApiError(404, "not_found", "no such rule for this practice")
    return jsonify(RuleView.of(found.record))


@blueprint.put("/v1/alert-rules/<rule_id>")
@requires(Role.admin)
@engine_errors
def replace_rule(rule_id: str) -> Response:
    _check_rule_id(rule_id)
    submitted = _rule_in()
    found = alert_store().get_rule(current_principal().tenant, rule_id)
    if found is None:
        raise ApiError(404, "not_found", "no such rule for this practice")
    record = RuleRecord(
        **submitted.model_dump(),
        id=rule_id,
        tenant=found.record.tenant,
        created_at=found.record.created_at,
        created_by=found.record.created_by,
        updated_at=datetime.now(UTC),
        updated_by=_actor(),
    )
    alert_store().save_rule(record, found)
    return jsonify(RuleView.of(record))


@blueprint.delete("/v1/alert-rules/<rule_id>")
@requires(Role.admin)
@engine_errors
def delete_rule(rule_id: str) -> Response:
    _check_rule_id(rule_id)
    if not alert_store().delete_rule(current_principal().tenant, rule_id):
        raise ApiError(404, "not_found", "no such rule for this practice")
    return Response(status=204)


# --- alerts -----------------------------------------------------------------------------------


@blueprint.get("/v1/alerts")
@requires(Role.viewer)
@engine_errors
def list_alerts() -> Response:
    query = parse_query(AlertQuery)
    alerts = alert_store().list_alerts(current_principal().tenant, query)
    return jsonify({"items": [AlertView.of(a) for a in alerts]})


@blueprint.get("/v1/alerts/summary")
@requires(Role.viewer)
@engine_errors
def summary() -> Response:
    query = parse_query(SummaryQuery)
    tenant = current_principal().tenant
    store = alert_store()
    counts = store.open_counts(tenant)
    alerts = store.period_alerts(tenant, datetime.now(UTC) - timedelta(days=query.days), SUMMARY_LIMIT)
    times = sorted(a.response_s for a in alerts if a.response_s is not None)
    outcomes: dict[str, int] = {}
    for alert in alerts:
        if alert.outcome:
            outcomes[alert.outcome] = outcomes.get(alert.outcome, 0) + 1
    result = Summary(
        **counts,
        period_days=query.days,
        raised=len(alerts),
        responded=len(times),
        response_median_s=_percentile(times, 0.5),
        response_p90_s=_percentile(times, 0.9),
        outcomes=outcomes,
    )
    return jsonify(result.model_dump(mode="json"))


def _percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted ``values`` (None when empty)."""
    if not values:
        return None
    rank = max(1, math.ceil(q * len(values)))
    return round(values[rank - 1], 3)


@blueprint.get("/v1/alerts/<alert_id>")
@requires(Role.viewer)
@engine_errors
def get_alert(alert_id: str) -> Response:
    _alert_or_404(alert_id)
    found = alert_store().get_alert(current_principal().tenant, alert_id)
    if found is None:
        raise ApiError(404, "not_found", "no such alert for this practice")
    return jsonify(AlertView.of(found.record))


def _transition(alert_id: str, change: Callable[[AlertRecord, datetime, str], None]) -> Response:
    _alert_or_404(alert_id)
    store = alert_store()
    tenant = current_principal().tenant
    for _ in range(5):
        found = store.get_alert(tenant, alert_id)
        if found is None:
            raise ApiError(404, "not_found", "no such alert for this practice")
        record = found.record.model_copy(deep=True)
        change(record, datetime.now(UTC), _actor())
        try:
            store.save_alert(record, found)
        except Conflict:
            continue  # the dispatcher marked it delivered meanwhile: apply the change again
        return jsonify(AlertView.of(record))
    raise Conflict(alert_id)


@blueprint.post("/v1/alerts/<alert_id>/acknowledge")
@requires(Role.marketer)
@engine_errors
def acknowledge(alert_id: str) -> Response:
    def change(record: AlertRecord, now: datetime, actor: str) -> None:
        if record.state == "resolved":
            raise ApiError(409, "resolved", "the alert is resolved already")
        if record.acknowledged_at is None:
            record.state = "acknowledged"
            record.acknowledged_at, record.acknowledged_by = now, actor
            record.respond(now)

    return _transition(alert_id, change)


@blueprint.post("/v1/alerts/<alert_id>/resolve")
@requires(Role.marketer)
@engine_errors
def resolve(alert_id: str) -> Response:
    def change(record: AlertRecord, now: datetime, actor: str) -> None:
        if record.state != "resolved":
            record.state = "resolved"
            record.resolved_at, record.resolved_by = now, actor
            record.respond(now)

    return _transition(alert_id, change)


@blueprint.post("/v1/alerts/<alert_id>/outcome")
@requires(Role.marketer)
@engine_errors
def record_outcome(alert_id: str) -> Response:
    submitted = read_model_body(OutcomeIn)

    def change(record: AlertRecord, now: datetime, actor: str) -> None:
        record.outcome, record.outcome_note = submitted.outcome, submitted.note
        record.outcome_at, record.outcome_by = now, actor
        record.respond(now)
        if record.acknowledged_at is None:
            record.acknowledged_at, record.acknowledged_by = now, actor
        if submitted.resolve and record.state != "resolved":
            record.resolved_at, record.resolved_by = now, actor
            record.state = "resolved"
        elif record.state == "open":
            record.state = "acknowledged"

    return _transition(alert_id, change)
