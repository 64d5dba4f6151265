"""``GET /v1/audit`` (admin): the practice's audit trail, newest first, with cursor pagination."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from common.auth import Role
from common.http import ApiError, current_principal, requires
from services.search.api import parse_query
from services.search.audit.models import AuditQuery
from services.search.audit.store import AuditLog
from services.search.store.base import InvalidCursor, StoreUnavailable

blueprint = Blueprint("audit", __name__)


@blueprint.get("/v1/audit")
@requires(Role.admin)
def list_audit() -> Response:
    query = parse_query(AuditQuery)
    audit_log: AuditLog = current_app.extensions["radar.audit"]
    try:
        records, next_cursor = audit_log.query(current_principal().tenant, query)
    except InvalidCursor as exc:
        raise ApiError(400, "invalid_cursor", str(exc)) from None
    except StoreUnavailable:
        raise ApiError(503, "search_unavailable", "the search engine is unavailable; retry shortly") from None
    return jsonify({"items": [r.model_dump(mode="json") for r in records], "next_cursor": next_cursor})
