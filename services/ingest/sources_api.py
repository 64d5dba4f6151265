"""HTTP endpoints about sources: ``GET /v1/sources`` (status) and the Google Pub/Sub push path.

The status comes from the compacted source-state topic that the scheduler writes, so any ingest
replica answers the same without talking to the scheduler.  Parameters (which hold secrets) and
cursors are never shown.

The push endpoint receives Google Business Profile notifications through a Pub/Sub push
subscription.  Pub/Sub cannot send an API key, so it is authenticated by a shared token
(``RADAR_GOOGLE_PUSH_TOKEN``) in the push URL's query string or a Bearer header.  It answers 2xx
for anything it will never be able to use (Pub/Sub would otherwise redeliver it for days) and 503
when the review could not be fetched or published now, so Pub/Sub retries.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from common.auth import Role
from common.bus import BusUnavailable, Publisher
from common.http import ApiError, current_principal, error_response, read_json_body, requires
from common.settings import Settings
from services.ingest.sources.config import SourceConfig, SourcesFile, TenantSources
from services.ingest.sources.google import fetch_review
from services.ingest.sources.http import SafeHttpClient, SourceError
from services.ingest.sources.runner import publish_items
from services.ingest.sources.state import CachedStateReader, SourceState, state_key

log = logging.getLogger(__name__)

blueprint = Blueprint("sources", __name__)

PUSH_TYPES = {"NEW_REVIEW", "UPDATED_REVIEW"}


class SourceStatus(BaseModel):
    """What the last runs of a source did."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["never_run", "ok", "failing", "breaker_open"] = Field(
        description="`failing`: the last run failed; `breaker_open`: it failed repeatedly and is paused."
    )
    last_run_at: AwareDatetime | None = None
    last_success_at: AwareDatetime | None = None
    last_error: str | None = Field(None, description="Stable code and a message naming host and status.")
    last_error_at: AwareDatetime | None = None
    next_run_at: AwareDatetime | None = None
    items_fetched: int = Field(0, ge=0, description="Mentions published from this source, all runs together.")
    last_run_items: int = Field(0, ge=0)
    consecutive_failures: int = Field(0, ge=0)
    breaker_open_until: AwareDatetime | None = None


class BackfillStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    completed: bool
    items_fetched: int = Field(ge=0)
    last_run_at: AwareDatetime | None = None
    last_error: str | None = None


class SourceView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    type: str
    configured: bool = Field(description="False for a source that has state but is no longer in the sources file.")
    enabled: bool
    interval_s: float | None = None
    location: str | None = None
    provider: str | None = None
    competitor: str | None = None
    status: SourceStatus
    backfill: BackfillStatus | None = None


class SourceList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[SourceView]


class PushResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["published", "ignored"]
    reason: str | None = Field(None, description="Why a notification was ignored.")
    mentions: int = Field(0, ge=0)


def _status(state: SourceState | None, now: datetime) -> SourceStatus:
    if state is None:
        return SourceStatus(state="never_run")
    if state.breaker_open(now):
        label: Literal["never_run", "ok", "failing", "breaker_open"] = "breaker_open"
    elif state.consecutive_failures:
        label = "failing"
    elif state.last_run_at is None:
        label = "never_run"
    else:
        label = "ok"
    return SourceStatus(
        state=label,
        **state.model_dump(
            include={
                "last_run_at",
                "last_success_at",
                "last_error",
                "last_error_at",
                "next_run_at",
                "items_fetched",
                "last_run_items",
                "consecutive_failures",
                "breaker_open_until",
            }
        ),
    )


def source_views(tenant: str, sources: SourcesFile, states: dict[str, SourceState], now: datetime) -> SourceList:
    configured = sources.tenant(tenant)
    views: list[SourceView] = []
    seen: set[str] = set()
    for source in configured.sources if configured else []:
        seen.add(source.id)
        views.append(_view(source.id, source.type, source, states, tenant, now))
    for state in states.values():
        if state.tenant == tenant and not state.backfill and state.source_id not in seen:
            seen.add(state.source_id)
            views.append(_view(state.source_id, state.type, None, states, tenant, now))
    return SourceList(sources=views)


def _view(
    source_id: str, type_: str, source: SourceConfig | None, states: dict[str, SourceState], tenant: str, now: datetime
) -> SourceView:
    backfill = states.get(state_key(tenant, source_id, backfill=True))
    return SourceView(
        id=source_id,
        type=type_,
        configured=source is not None,
        enabled=bool(source and source.enabled),
        interval_s=source.interval_s if source else None,
        location=source.location if source else None,
        provider=source.provider if source else None,
        competitor=source.competitor if source else None,
        status=_status(states.get(state_key(tenant, source_id)), now),
        backfill=BackfillStatus(
            completed=backfill.completed,
            items_fetched=backfill.items_fetched,
            last_run_at=backfill.last_run_at,
            last_error=backfill.last_error,
        )
        if backfill
        else None,
    )


@blueprint.get("/v1/sources")
@requires(Role.viewer)
def list_sources() -> Response:
    principal = current_principal()
    reader: CachedStateReader = current_app.extensions["radar.source_states"]
    try:
        states = reader.states()
    except BusUnavailable:
        raise ApiError(503, "bus_unavailable", "the source status could not be read from Kafka; retry later") from None
    body = source_views(principal.tenant, current_app.extensions["radar.sources"], states, datetime.now(UTC))
    return jsonify(body.model_dump(mode="json"))


# --- Google Pub/Sub push ----------------------------------------------------------------------


def _push_token_ok(expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    presented = header[7:].strip() if header.lower().startswith("bearer ") else request.args.get("token", "")
    return bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())


def _notification(envelope: Any) -> dict[str, Any]:
    message = envelope.get("message") if isinstance(envelope, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("data"), str):
        raise ApiError(422, "invalid_envelope", "expected a Pub/Sub push envelope with message.data")
    try:
        data = json.loads(base64.b64decode(message["data"], validate=True))
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid_envelope", "message.data is not base64-encoded JSON") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_envelope", "message.data is not a JSON object")
    return data


def _first_of(data: dict[str, Any], *names: str) -> Any:
    """The field under whichever spelling the notification uses (v4 camelCase, v1 snake_case)."""
    return next((data[n] for n in names if data.get(n) is not None), None)


def _owner(sources: SourcesFile, review_name: str) -> tuple[TenantSources, SourceConfig] | None:
    for tenant, source in sources.all_sources():
        location = str(source.param("location") or "").strip("/")
        if source.type == "google" and location and review_name.startswith(f"{location}/reviews/"):
            return tenant, source
    return None


@blueprint.post("/v1/sources/google/push")
def google_push() -> tuple[Response, int]:
    settings: Settings = current_app.extensions["radar.settings"]
    if not settings.google_push_token:
        raise ApiError(404, "push_disabled", "Google push notifications are not enabled (RADAR_GOOGLE_PUSH_TOKEN)")
    if not _push_token_ok(settings.google_push_token):
        raise ApiError(401, "unauthenticated", "missing or wrong push token")
    data = _notification(read_json_body())
    kind = _first_of(data, "type", "notificationType", "notification_type")
    review = _first_of(data, "reviewName", "review_name", "review")
    if kind not in PUSH_TYPES:
        return jsonify(PushResult(status="ignored", reason="not a review notification").model_dump()), 200
    if not isinstance(review, str) or "/reviews/" not in review or len(review) > 512:
        raise ApiError(422, "invalid_notification", "the notification names no review")
    owner = _owner(current_app.extensions["radar.sources"], review)
    if owner is None:
        return jsonify(PushResult(status="ignored", reason="no configured source for this location").model_dump()), 200
    tenant, source = owner
    http: SafeHttpClient = current_app.extensions["radar.source_http"]
    now = datetime.now(UTC)
    try:
        item = fetch_review(http, settings.google_api_url, source, review, now)
        if item is None:
            return jsonify(PushResult(status="ignored", reason="the review could not be read").model_dump()), 200
        publisher: Publisher = current_app.extensions["radar.publisher"]
        current_app.extensions["radar.topics"].ensure_or_raise()
        published, _ = publish_items(tenant, source, [item], publisher, settings, now=now)
    except (SourceError, BusUnavailable) as exc:
        log.warning(
            "push fetch failed", extra={"tenant": tenant.tenant, "source": source.id, "error": type(exc).__name__}
        )
        response = error_response(503, "source_unavailable", "the review could not be fetched or stored now; retry")
        response.headers["Retry-After"] = "30"
        return response, 503
    log.info("push notification processed", extra={"tenant": tenant.tenant, "source": source.id, "count": published})
    return jsonify(PushResult(status="published", mentions=published).model_dump()), 200
