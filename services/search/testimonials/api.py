"""Testimonial curation API: candidates, decisions, authorisations, publishing.

The flow: ``GET /v1/testimonials/candidates`` ranks undecided positive reviews; a marketer
approves or rejects each (``POST /v1/testimonials/<id>/decision``); an admin records the
patient's signed HIPAA authorisation (``POST /v1/authorisations``); a marketer publishes
(``POST /v1/testimonials/<id>/publish``), which is refused with 409 unless the review is
approved and a signed, unexpired, unrevoked authorisation covers it.  The public feed
(``public.py``) checks the authorisation again on every read.

Nothing here hides or filters anything in search or statistics: curation only chooses what
the practice republishes, and every review stays in the analytics whatever its rating.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from common.auth import Role
from common.http import (
    ApiError,
    current_principal,
    read_model_body,
    requires,
    validation_details,
)
from services.search.api import engine_errors
from services.search.phi import practice_guards
from services.search.store.base import MentionStore
from services.search.store.records import Conflict
from services.search.testimonials.models import (
    AuthorisationIn,
    AuthorisationQuery,
    AuthorisationRecord,
    CandidateQuery,
    DecisionIn,
    HistoryEntry,
    MentionSnapshot,
    RevocationIn,
    TestimonialQuery,
    TestimonialRecord,
    TestimonialStatus,
    TestimonialView,
    UnpublishIn,
    retain_until,
)
from services.search.testimonials.ranking import Ranked, rank
from services.search.testimonials.store import CurationStore

blueprint = Blueprint("testimonials", __name__)

M = TypeVar("M", bound=BaseModel)

_HEX32 = frozenset("0123456789abcdef")


# --- plumbing ---------------------------------------------------------------------------------


def curation_store() -> CurationStore:
    store: CurationStore = current_app.extensions["radar.curation"]
    return store


def _mentions() -> MentionStore:
    store: MentionStore = current_app.extensions["radar.store"]
    return store


def _actor() -> str:
    return current_principal().key_id


def _query(model: type[M]) -> M:
    try:
        return model.model_validate({name: request.args.getlist(name)[-1] for name in request.args})
    except ValidationError as exc:
        raise ApiError(400, "invalid_query", "invalid query parameters", validation_details(exc)) from None


def _check_id(value: str, what: str = "a mention id") -> None:
    if len(value) != 32 or not set(value) <= _HEX32:
        raise ApiError(400, "invalid_id", f"{what} is 32 lower-case hexadecimal characters")


def _mention_or_404(tenant: str, mention_id: str) -> dict[str, Any]:
    mention = _mentions().get(tenant, mention_id)
    if mention is None:
        raise ApiError(404, "not_found", "no such mention for this practice")
    return mention


def snapshot(mention: dict[str, Any]) -> MentionSnapshot:
    text = mention.get("text") or ""
    return MentionSnapshot(
        text=text,
        rating=mention.get("rating"),
        author=mention.get("author"),
        source=mention["source"],
        location=mention.get("location"),
        url=mention.get("url"),
        published_at=mention.get("published_at") or mention.get("fetched_at"),
        text_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _testimonial_view(record: TestimonialRecord, in_feed: bool = False) -> dict[str, Any]:
    return TestimonialView.of(record, in_feed)


def _valid_authorisations(tenant: str, mention_ids: list[str], now: datetime) -> dict[str, list[AuthorisationRecord]]:
    found: dict[str, list[AuthorisationRecord]] = {}
    for record in curation_store().list_authorisations(tenant, mention_ids, 500):
        if record.covers(tenant, record.mention_id, now):
            found.setdefault(record.mention_id, []).append(record)
    return found


# --- candidates and decisions -----------------------------------------------------------------


@blueprint.get("/v1/testimonials/candidates")
@requires(Role.marketer)
@engine_errors
def candidates() -> Response:
    query = _query(CandidateQuery)
    now = datetime.now(UTC)
    pool = curation_store().candidate_pool(current_principal().tenant, location=query.location)
    ranked = rank(pool, now, query.limit)
    return jsonify({"items": [_candidate(r) for r in ranked]})


def _candidate(ranked: Ranked) -> dict[str, Any]:
    """A candidate with the identifiers in its text, so nobody republishes them unawares."""
    spans = practice_guards().detector(current_principal().tenant).detect(ranked.mention.get("text") or "")
    reasons = list(ranked.reasons)
    if spans:
        kinds = ", ".join(sorted({s.type.value.lower() for s in spans}))
        reasons.append(f"contains identifiers ({kinds}): check the authorisation covers them, or pass it over")
    return {
        "mention": ranked.mention,
        "quality": ranked.quality,
        "components": ranked.components,
        "reasons": reasons,
        "phi": [{"type": s.type.value, "start": s.start, "end": s.end} for s in spans],
    }


@blueprint.get("/v1/testimonials")
@requires(Role.marketer)
@engine_errors
def list_testimonials() -> Response:
    query = _query(TestimonialQuery)
    tenant = current_principal().tenant
    now = datetime.now(UTC)
    records = curation_store().list_testimonials(tenant, query.status, query.limit)
    published = [r.mention_id for r in records if r.status == "published"]
    valid = _valid_authorisations(tenant, published, now) if published else {}
    return jsonify(
        {"items": [_testimonial_view(r, r.status == "published" and r.mention_id in valid) for r in records]}
    )


@blueprint.get("/v1/testimonials/<mention_id>")
@requires(Role.marketer)
@engine_errors
def get_testimonial(mention_id: str) -> Response:
    _check_id(mention_id)
    tenant = current_principal().tenant
    found = curation_store().get_testimonial(tenant, mention_id)
    if found is None:
        raise ApiError(404, "not_found", "no decision on this mention for this practice")
    record = found.record
    in_feed = record.status == "published" and bool(_valid_authorisations(tenant, [mention_id], datetime.now(UTC)))
    return jsonify(_testimonial_view(record, in_feed))


@blueprint.post("/v1/testimonials/<mention_id>/decision")
@requires(Role.marketer)
@engine_errors
def decide(mention_id: str) -> Response:
    _check_id(mention_id)
    body = read_model_body(DecisionIn)
    tenant = current_principal().tenant
    mention = _mention_or_404(tenant, mention_id)
    if body.decision == "approve":
        if not (mention.get("text") or "").strip():
            raise ApiError(409, "not_publishable", "a mention without text cannot be a testimonial")
        if (mention.get("sentiment") or {}).get("label") == "negative":
            raise ApiError(409, "not_publishable", "a negative review cannot be approved as a testimonial")
    now = datetime.now(UTC)
    actor = _actor()
    status: TestimonialStatus = "approved" if body.decision == "approve" else "rejected"
    entry = HistoryEntry(action=body.decision, at=now, actor=actor, reason=body.reason)
    previous = curation_store().get_testimonial(tenant, mention_id)
    if previous is not None and previous.record.status == "published":
        raise ApiError(409, "published", "this testimonial is published; unpublish it before deciding again")
    record = TestimonialRecord(
        tenant=tenant,
        mention_id=mention_id,
        status=status,
        reason=body.reason,
        decided_by=actor,
        decided_at=now,
        updated_at=now,
        mention=snapshot(mention),
        history=[*(previous.record.history if previous else []), entry],
    )
    curation_store().save_testimonial(record, previous)
    response = jsonify(_testimonial_view(record))
    response.status_code = 201 if previous is None else 200
    return response


# --- publishing -------------------------------------------------------------------------------


@blueprint.post("/v1/testimonials/<mention_id>/publish")
@requires(Role.marketer)
@engine_errors
def publish(mention_id: str) -> Response:
    _check_id(mention_id)
    tenant = current_principal().tenant
    mention = _mention_or_404(tenant, mention_id)
    found = curation_store().get_testimonial(tenant, mention_id)
    if found is None or found.record.status == "rejected":
        raise ApiError(409, "not_approved", "approve the review before publishing it")
    record = found.record
    current = snapshot(mention)
    if record.status == "approved" and current.text_sha256 != record.mention.text_sha256:
        raise ApiError(409, "mention_changed", "the review was edited since it was approved; decide on it again")
    now = datetime.now(UTC)
    authorisations = curation_store().list_authorisations(tenant, [mention_id], 500)
    valid = [a for a in authorisations if a.covers(tenant, mention_id, now)]
    if not valid:
        states = {a.state(now) for a in authorisations}
        if not authorisations:
            raise ApiError(
                409,
                "authorisation_missing",
                "no patient authorisation is on file for this review; an admin records it with POST /v1/authorisations",
            )
        if "expired" in states:
            raise ApiError(409, "authorisation_expired", "the patient's authorisation for this review has expired")
        if "revoked" in states:
            raise ApiError(409, "authorisation_revoked", "the patient revoked the authorisation for this review")
        raise ApiError(409, "authorisation_not_yet_valid", "the authorisation's signature date is in the future")
    if record.status == "published":
        return jsonify(_testimonial_view(record, True))  # idempotent
    chosen = max(valid, key=lambda a: (a.signed_at, a.id))
    actor = _actor()
    published = record.model_copy(
        update={
            "status": "published",
            "published_at": now,
            "published_by": actor,
            "authorisation_id": chosen.id,
            "updated_at": now,
            "mention": current,
            "history": [
                *record.history,
                HistoryEntry(action="publish", at=now, actor=actor, authorisation_id=chosen.id),
            ],
        }
    )
    curation_store().save_testimonial(published, found)
    return jsonify(_testimonial_view(published, True))


@blueprint.post("/v1/testimonials/<mention_id>/unpublish")
@requires(Role.marketer)
@engine_errors
def unpublish(mention_id: str) -> Response:
    _check_id(mention_id)
    body = read_model_body(UnpublishIn) if request.get_data(cache=True) else UnpublishIn()
    tenant = current_principal().tenant
    found = curation_store().get_testimonial(tenant, mention_id)
    if found is None:
        _mention_or_404(tenant, mention_id)
        raise ApiError(409, "not_published", "this review is not published")
    if found.record.status != "published":
        raise ApiError(409, "not_published", "this review is not published")
    now = datetime.now(UTC)
    record = _unpublished(found.record, now, _actor(), body.reason)
    curation_store().save_testimonial(record, found)
    return jsonify(_testimonial_view(record, False))


def _unpublished(record: TestimonialRecord, now: datetime, actor: str, reason: str | None) -> TestimonialRecord:
    return record.model_copy(
        update={
            "status": "approved",
            "published_at": None,
            "published_by": None,
            "authorisation_id": None,
            "updated_at": now,
            "history": [*record.history, HistoryEntry(action="unpublish", at=now, actor=actor, reason=reason)],
        }
    )


# --- authorisations ---------------------------------------------------------------------------


def _with_phi() -> bool:
    """Only admins see the signer's name; marketers see whether and until when it is valid."""
    return current_principal().can(Role.admin)


@blueprint.post("/v1/authorisations")
@requires(Role.admin)
@engine_errors
def create_authorisation() -> Response:
    body = read_model_body(AuthorisationIn)
    tenant = current_principal().tenant
    _mention_or_404(tenant, body.mention_id)
    now = datetime.now(UTC)
    record = AuthorisationRecord(
        **body.model_dump(),
        id=uuid.uuid4().hex,
        tenant=tenant,
        created_at=now,
        created_by=_actor(),
        retain_until=retain_until(body.signed_at, body.expires_at),
    )
    curation_store().add_authorisation(record)
    response = jsonify(record.view(now, with_phi=True))
    response.status_code = 201
    return response


@blueprint.get("/v1/authorisations")
@requires(Role.marketer)
@engine_errors
def list_authorisations() -> Response:
    query = _query(AuthorisationQuery)
    now = datetime.now(UTC)
    records = curation_store().list_authorisations(
        current_principal().tenant, [query.mention_id] if query.mention_id else None, query.limit
    )
    return jsonify({"items": [r.view(now, with_phi=_with_phi()) for r in records]})


@blueprint.get("/v1/authorisations/<authorisation_id>")
@requires(Role.marketer)
@engine_errors
def get_authorisation(authorisation_id: str) -> Response:
    _check_id(authorisation_id, "an authorisation id")
    found = curation_store().get_authorisation(current_principal().tenant, authorisation_id)
    if found is None:
        raise ApiError(404, "not_found", "no such authorisation for this practice")
    return jsonify(found.record.view(datetime.now(UTC), with_phi=_with_phi()))


@blueprint.post("/v1/authorisations/<authorisation_id>/revoke")
@requires(Role.admin)
@engine_errors
def revoke_authorisation(authorisation_id: str) -> Response:
    _check_id(authorisation_id, "an authorisation id")
    body = read_model_body(RevocationIn)
    tenant = current_principal().tenant
    found = curation_store().get_authorisation(tenant, authorisation_id)
    if found is None:
        raise ApiError(404, "not_found", "no such authorisation for this practice")
    if found.record.revoked_at is not None:
        raise ApiError(409, "already_revoked", "this authorisation is already revoked")
    now = datetime.now(UTC)
    revoked_at = body.revoked_at or now
    if revoked_at < found.record.signed_at:
        raise ApiError(
            422,
            "validation_failed",
            "invalid fields",
            [{"field": "revoked_at", "problem": "is before the authorisation was signed", "type": "value_error"}],
        )
    actor = _actor()
    record = found.record.model_copy(
        update={"revoked_at": revoked_at, "revocation_reason": body.reason, "revoked_by": actor}
    )
    curation_store().save_authorisation(record, found)
    _unpublish_if_uncovered(tenant, record.mention_id, now, actor)
    return jsonify(record.view(now, with_phi=True))


def _unpublish_if_uncovered(tenant: str, mention_id: str, now: datetime, actor: str) -> None:
    """Keep the curation state truthful after a revocation (the feed re-checks regardless)."""
    for _ in range(3):
        found = curation_store().get_testimonial(tenant, mention_id)
        if found is None or found.record.status != "published":
            return
        if _valid_authorisations(tenant, [mention_id], now):
            return
        try:
            curation_store().save_testimonial(
                _unpublished(found.record, now, actor, "patient authorisation revoked"), found
            )
            return
        except Conflict:
            continue
