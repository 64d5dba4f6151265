"""HTTP API of the search service: search, one mention, statistics, health."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar, get_origin

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from pydantic import BaseModel, ValidationError

from common.auth import Role
from common.http import ApiError, current_principal, requires, validation_details
from services.search.export import CsvExport
from services.search.phi import practice_guards
from services.search.reputation import reputation_scores
from services.search.store.base import (
    ExportRequest,
    InvalidCursor,
    MentionStore,
    ReputationRequest,
    SearchRequest,
    StatsRequest,
    StoreUnavailable,
    TopicTrendRequest,
)
from services.search.store.records import Conflict

blueprint = Blueprint("search", __name__)

Q = TypeVar("Q", bound=BaseModel)
P = ParamSpec("P")
R = TypeVar("R")


def _store() -> MentionStore:
    store: MentionStore = current_app.extensions["radar.store"]
    return store


def parse_query(model: type[Q]) -> Q:
    """Query-string parameters as ``model``; lists accept repeats and commas (``source=a,b``)."""
    lists = {name for name, f in model.model_fields.items() if get_origin(f.annotation) is list}
    raw: dict[str, Any] = {}
    for name in request.args:
        values = request.args.getlist(name)
        if name in lists:
            raw[name] = [v.strip() for value in values for v in value.split(",") if v.strip()]
        else:
            raw[name] = values[-1]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(400, "invalid_query", "invalid query parameters", validation_details(exc)) from None


def engine_errors(view: Callable[P, R]) -> Callable[P, R]:
    """For record endpoints: an unreachable engine is a 503 to retry; a lost race on a record a 409."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return view(*args, **kwargs)
        except StoreUnavailable:
            raise ApiError(503, "search_unavailable", "the search engine is unavailable; retry shortly") from None
        except Conflict:
            message = "the record changed while this request ran; read it again and retry"
            raise ApiError(409, "conflict", message) from None

    return wrapper


def _unavailable(exc: StoreUnavailable) -> ApiError:
    return ApiError(503, "search_unavailable", "the search engine is unavailable; retry shortly")


@blueprint.get("/v1/mentions")
@requires(Role.viewer)
def search_mentions() -> Response:
    query = parse_query(SearchRequest)
    try:
        page = _store().search(current_principal().tenant, query)
    except InvalidCursor as exc:
        raise ApiError(400, "invalid_cursor", str(exc)) from None
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None
    return jsonify(
        {
            "total": page.total,
            "items": [{**hit.mention, "highlights": hit.highlights, "score": hit.score} for hit in page.hits],
            "next_cursor": page.next_cursor,
        }
    )


@blueprint.get("/v1/mentions/export.csv")
@requires(Role.viewer)
def export_mentions() -> Response:
    query = parse_query(ExportRequest)
    try:
        export = CsvExport(_store(), current_principal().tenant, query)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None
    filename = f"mentions-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(export.rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blueprint.get("/v1/mentions/<mention_id>")
@requires(Role.viewer)
def get_mention(mention_id: str) -> Response:
    if len(mention_id) != 32 or any(c not in "0123456789abcdef" for c in mention_id):
        raise ApiError(400, "invalid_id", "a mention id is 32 lower-case hexadecimal characters")
    try:
        mention = _store().get(current_principal().tenant, mention_id)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None
    if mention is None:
        raise ApiError(404, "not_found", "no such mention for this practice")
    return jsonify(mention)


@blueprint.get("/v1/stats")
@requires(Role.viewer)
def stats() -> Response:
    query = parse_query(StatsRequest)
    try:
        result = _store().stats(current_principal().tenant, query)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None
    body = asdict(result)
    for bucket in body["histogram"]:
        bucket["start"] = bucket["start"].isoformat()
    return jsonify(body)


@blueprint.get("/v1/topics/negative")
@requires(Role.viewer)
def negative_topics() -> Response:
    """Negative mentions per topic in the current period against the period before it."""
    query = parse_query(TopicTrendRequest)
    end = query.date_to or datetime.now(UTC)
    start = end - timedelta(days=query.days)
    base = query.model_dump(exclude={"days", "date_from", "date_to"})
    tenant = current_principal().tenant
    try:
        now = _store().stats(tenant, StatsRequest(**base, date_from=start, date_to=end))
        before = _store().stats(tenant, StatsRequest(**base, date_from=start - (end - start), date_to=start))
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None
    previous = {b.key: b.negative for b in before.by_topic}
    current = {b.key: (b.negative, b.count) for b in now.by_topic}
    rows: list[dict[str, Any]] = []
    for topic in current.keys() | {k for k, n in previous.items() if n}:
        negative, mentions = current.get(topic, (0, 0))
        rows.append(
            {
                "topic": topic,
                "negative": negative,
                "negative_previous": previous.get(topic, 0),
                "mentions": mentions,
                "change": negative - previous.get(topic, 0),
            }
        )
    rows.sort(key=lambda r: (-r["negative"], -r["change"], r["topic"]))
    return jsonify({"period": {"from": start.isoformat(), "to": end.isoformat()}, "topics": rows})


@blueprint.get("/v1/reputation")
@requires(Role.viewer)
def reputation() -> Response:
    query = parse_query(ReputationRequest)
    try:
        cells = _store().rating_cells(current_principal().tenant, query)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None
    scores = reputation_scores(cells, half_life_days=query.half_life_days, prior_weight=query.prior_weight)
    return jsonify(
        {
            "by": query.by,
            "half_life_days": query.half_life_days,
            "prior_weight": query.prior_weight,
            "scores": [asdict(score) for score in scores],
        }
    )


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The search engine answers, Kafka too (managed API keys are read from it and written to it),
    and the reply guard's model verifies (without it every reply check would answer 503)."""
    engine_ok = _store().is_healthy()
    kafka_ok = current_app.extensions["radar.bus"].is_healthy()
    model_ok = practice_guards().reply_model_ok()
    ready = engine_ok and kafka_ok and model_ok
    body = {
        "status": "ready" if ready else "not_ready",
        "search_engine": "ok" if engine_ok else "unreachable",
        "kafka": "ok" if kafka_ok else "unreachable",
        "reply_model": "ok" if model_ok else "missing or corrupt",
    }
    return jsonify(body), 200 if ready else 503
