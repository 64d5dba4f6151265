"""HTTP API of the ingest service: ``POST /v1/mentions``, health and readiness."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from common.auth import Role
from common.bus import Bus, BusUnavailable, Publisher
from common.http import ApiError, current_principal, error_response, read_json_body, requires
from common.settings import Settings
from services.ingest.intake import deduplicate, parse_mentions, publish_mentions, split_payload

log = logging.getLogger(__name__)

blueprint = Blueprint("ingest", __name__)


def _settings() -> Settings:
    settings: Settings = current_app.extensions["radar.settings"]
    return settings


@blueprint.post("/v1/mentions")
@requires(Role.marketer)
def post_mentions() -> tuple[Response, int]:
    settings = _settings()
    principal = current_principal()
    try:
        items, prefix = split_payload(read_json_body())
    except TypeError as exc:
        raise ApiError(422, "invalid_payload", str(exc)) from None
    if not items:
        raise ApiError(422, "empty_batch", "the batch holds no mentions")
    if len(items) > settings.max_batch_items:
        raise ApiError(
            413, "batch_too_large", f"{len(items)} mentions in one request; the limit is {settings.max_batch_items}"
        )

    parsed = parse_mentions(items, tenant=principal.tenant, prefix=prefix, max_text_chars=settings.max_text_chars)
    if parsed.foreign_tenant_items:
        raise ApiError(
            403,
            "wrong_tenant",
            "this API key may only submit mentions for its own practice",
            [
                {"field": f"{prefix}[{i}].tenant" if prefix else "tenant", "problem": "not this key's tenant"}
                for i in parsed.foreign_tenant_items
            ],
        )
    if parsed.problems:
        raise ApiError(
            422,
            "validation_failed",
            f"{len(parsed.problems)} problem(s) in the submitted mentions; nothing was accepted",
            [p.as_dict() for p in parsed.problems],
        )

    unique, duplicates = deduplicate(parsed.mentions)
    publisher: Publisher = current_app.extensions["radar.publisher"]
    try:
        current_app.extensions["radar.topics"].ensure_or_raise()
        publish_mentions(publisher, settings.topics.raw, unique, timeout_s=settings.produce_timeout_s)
    except BusUnavailable:
        log.warning("publish failed; answering 503", extra={"count": len(unique), "tenant": principal.tenant})
        response = error_response(
            503,
            "bus_unavailable",
            "the message bus did not acknowledge the mentions; nothing was accepted, retry later",
        )
        response.headers["Retry-After"] = "5"
        return response, 503

    log.info("accepted mentions", extra={"count": len(unique), "duplicates": duplicates, "tenant": principal.tenant})
    body: dict[str, Any] = {
        "accepted": len(unique),
        "duplicates_in_batch": duplicates,
        "ids": [m.id for m in parsed.mentions],
    }
    return jsonify(body), 202


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    bus: Bus = current_app.extensions["radar.bus"]
    if bus.is_healthy():
        return jsonify({"status": "ready", "kafka": "ok"}), 200
    return jsonify({"status": "not_ready", "kafka": "unreachable"}), 503
