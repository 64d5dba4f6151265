"""The practice profile (``/v1/practice``) and the competitor comparison (``/v1/competitors/compare``).

The comparison answers "how do we do against the imaging centres down the road": share of
voice (their share of all mentions of the practices compared), average source rating, share
negative and the rating trend, from the same index and the same filters as the practice's own
statistics.  Competitors' mentions never leak into the practice's own figures: every other
endpoint leaves them out unless asked (``competitor=...``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from common.auth import Role
from common.http import ApiError, current_principal, read_model_body, requires
from services.search.api import parse_query
from services.search.practice.models import PracticeProfile, PracticeProfileIn
from services.search.practice.store import PracticeStore
from services.search.store.base import MentionStore, PracticeFigures, StatsRequest, StoreUnavailable

blueprint = Blueprint("practice", __name__)


def practice_store() -> PracticeStore:
    store: PracticeStore = current_app.extensions["radar.practice"]
    return store


def _profile(tenant: str) -> PracticeProfile:
    try:
        return practice_store().get(tenant)
    except StoreUnavailable:
        raise ApiError(503, "search_unavailable", "the search engine is unavailable; retry shortly") from None


def _view(profile: PracticeProfile) -> dict[str, Any]:
    return profile.model_dump(mode="json", exclude={"tenant"})


@blueprint.get("/v1/me")
@requires(Role.viewer)
def me() -> Response:
    """Who the key speaks for, so a client (the dashboard) shows only what the role may do."""
    principal = current_principal()
    return jsonify({"tenant": principal.tenant, "role": principal.role.name})


@blueprint.get("/v1/practice")
@requires(Role.viewer)
def get_practice() -> Response:
    return jsonify(_view(_profile(current_principal().tenant)))


@blueprint.put("/v1/practice")
@requires(Role.admin)
def put_practice() -> Response:
    change = read_model_body(PracticeProfileIn)
    tenant = current_principal().tenant
    profile = _profile(tenant).updated(change, datetime.now(UTC))
    try:
        practice_store().save(profile)
    except StoreUnavailable:
        raise ApiError(503, "search_unavailable", "the search engine is unavailable; retry shortly") from None
    return jsonify(_view(profile))


@blueprint.get("/v1/competitors/compare")
@requires(Role.viewer)
def compare() -> Response:
    query = parse_query(StatsRequest)
    tenant = current_principal().tenant
    profile = _profile(tenant)
    mentions: MentionStore = current_app.extensions["radar.store"]
    try:
        figures = {f.competitor: f for f in mentions.compare(tenant, query)}
    except StoreUnavailable:
        raise ApiError(503, "search_unavailable", "the search engine is unavailable; retry shortly") from None
    # Every named competitor appears, with zeros if none of its reviews arrived yet.
    wanted = set(query.competitor) if query.competitor else None
    for competitor in profile.competitors:
        if wanted is None or competitor.id in wanted:
            figures.setdefault(competitor.id, PracticeFigures(competitor.id, 0, None, 0, []))
    figures.setdefault(None, PracticeFigures(None, 0, None, 0, []))
    total = sum(f.count for f in figures.values())
    ordered = sorted(figures.values(), key=lambda f: (f.competitor is not None, -f.count, f.competitor or ""))
    return jsonify(
        {
            "interval": query.interval,
            "time_zone": query.time_zone,
            "total": total,
            "practices": [_practice_row(f, profile, total) for f in ordered],
        }
    )


def _practice_row(figures: PracticeFigures, profile: PracticeProfile, total: int) -> dict[str, Any]:
    own = figures.competitor is None
    return {
        "competitor": figures.competitor,
        "name": profile.display_name if own else profile.competitor_name(figures.competitor or ""),
        "own": own,
        "mentions": figures.count,
        "share_of_voice": figures.count / total if total else None,
        "average_rating": figures.average_rating,
        "negative_share": figures.negative / figures.count if figures.count else None,
        "trend": [
            {"start": b.start.isoformat(), "mentions": b.count, "average_rating": b.average_rating}
            for b in figures.histogram
        ],
    }
