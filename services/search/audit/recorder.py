"""Records an audit entry after every authenticated request to an audited endpoint.

One ``after_request`` hook instead of a call in each view, so a new endpoint cannot forget it:
the table below names every audited endpoint, and a test checks that every authenticated route
of the search service is in it.  The hook runs whatever the outcome (a 403 or a 409 is worth
knowing too) and never changes the response; a failed audit write is logged as an error.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, g, request

from common.auth import Principal
from services.search.audit.models import ENUMERATED_PARAMETERS, AuditAction, AuditRecord
from services.search.audit.store import AuditLog

log = logging.getLogger(__name__)

AUDITED: dict[str, AuditAction] = {
    "search.search_mentions": "mentions.search",
    "search.export_mentions": "mentions.export",
    "search.get_mention": "mentions.view",
    "search.stats": "statistics.read",
    "search.negative_topics": "statistics.read",
    "search.reputation": "statistics.read",
    "erasure.erase_mention": "mentions.erase",
    "practice.compare": "statistics.read",
    "practice.put_practice": "practice.update",
    "testimonials.candidates": "testimonials.read",
    "testimonials.list_testimonials": "testimonials.read",
    "testimonials.get_testimonial": "testimonials.read",
    "testimonials.decide": "testimonials.decide",
    "testimonials.publish": "testimonials.publish",
    "testimonials.unpublish": "testimonials.unpublish",
    "testimonials.create_authorisation": "authorisations.record",
    "testimonials.list_authorisations": "authorisations.read",
    "testimonials.get_authorisation": "authorisations.read",
    "testimonials.revoke_authorisation": "authorisations.revoke",
    "audit.list_audit": "audit.read",
    "keys.list_keys": "keys.read",
    "keys.create_key": "keys.create",
    "keys.revoke_key": "keys.revoke",
    "alerts.list_rules": "alert_rules.read",
    "alerts.get_rule": "alert_rules.read",
    "alerts.create_rule": "alert_rules.change",
    "alerts.replace_rule": "alert_rules.change",
    "alerts.delete_rule": "alert_rules.change",
    "alerts.list_alerts": "alerts.read",
    "alerts.get_alert": "alerts.read",
    "alerts.summary": "alerts.read",
    "alerts.acknowledge": "alerts.update",
    "alerts.resolve": "alerts.update",
    "alerts.record_outcome": "alerts.update",
}

# Authenticated endpoints that are deliberately not audited (they reveal nothing about mentions).
# The reply guard reads no stored data and keeps nothing of the draft it checks.
NOT_AUDITED = {"practice.me", "practice.get_practice", "replies.check_reply"}


def install_audit(app: Flask, audit_log: AuditLog) -> None:
    app.extensions["radar.audit"] = audit_log
    app.after_request(_record)


def _record(response: Response) -> Response:
    action = AUDITED.get(request.endpoint or "")
    principal: Principal | None = g.get("principal")
    if action is None or principal is None:
        return response
    try:
        record = AuditRecord(
            id=uuid.uuid4().hex,
            at=datetime.now(UTC),
            tenant=principal.tenant,
            actor=principal.key_id,
            role=principal.role.name,  # type: ignore[arg-type]
            action=action,
            method=request.method,
            route=request.url_rule.rule if request.url_rule else request.path,
            targets=_targets(response),
            parameters=_parameters(),
            detail=_detail(),
            status=response.status_code,
            request_id=g.get("request_id"),
        )
        audit_log: AuditLog = current_app.extensions["radar.audit"]
        audit_log.append(record)
    except Exception as exc:  # noqa: BLE001 - an audit failure must not turn an answer into a 500
        log.error("audit record not written", extra={"action": action, "exc_type": type(exc).__name__})
    return response


def _parameters() -> dict[str, list[str]]:
    kept: dict[str, list[str]] = {}
    for name in request.args:
        if name in ENUMERATED_PARAMETERS:
            kept[name] = [value[:100] for value in request.args.getlist(name)][:20]
        else:
            kept[name] = ["(given)"]  # free text or an unknown parameter: never its value
    return kept


def _targets(response: Response) -> list[str]:
    targets = [str(v)[:64] for v in (request.view_args or {}).values()]
    if request.endpoint == "testimonials.create_authorisation" and response.status_code < 300:
        body = _json(response.get_data())
        targets += [str(body.get(k))[:64] for k in ("id", "mention_id") if body.get(k)]
    if request.endpoint == "keys.create_key" and response.status_code < 300:
        key_id = _json(response.get_data()).get("key_id")  # the id only; never the secret
        if key_id:
            targets.append(str(key_id)[:64])
    return targets


def _detail() -> dict[str, str]:
    if request.endpoint == "testimonials.decide":
        decision = _json(request.get_data(cache=True)).get("decision")
        if decision in ("approve", "reject"):
            return {"decision": decision}
    return {}


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
