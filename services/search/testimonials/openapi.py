"""OpenAPI description of the testimonial endpoints, for ``services/search/openapi.py``.

Hooked in with three lines there::

    components = Components([..., *testimonial_models()])
    paths.update(testimonial_paths(components))
    tags=[..., *TESTIMONIAL_TAGS]
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode

from common.auth import Role
from common.openapi import (
    BODY_ERRORS,
    Components,
    json_body,
    json_response,
    operation,
    path_parameter,
    query_parameters,
)
from common.schema import ScoredMention
from services.search.testimonials.models import (
    AuthorisationIn,
    AuthorisationList,
    AuthorisationQuery,
    AuthorisationView,
    CandidateQuery,
    DecisionIn,
    RevocationIn,
    TestimonialList,
    TestimonialQuery,
    TestimonialView,
    UnpublishIn,
)
from services.search.testimonials.public import MAX_AGE, NOTE, FeedQuery

TESTIMONIAL_TAGS = [
    {"name": "testimonials", "description": "Curating reviews into testimonials and publishing them."},
    {"name": "authorisations", "description": "Patients' HIPAA authorisations (45 CFR 164.508)."},
    {"name": "public", "description": "The practice's public testimonial feed (no API key)."},
]


class PhiSpan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="NAME, PHONE, DATE, EMAIL, ...")
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mention: ScoredMention
    quality: float = Field(ge=0, le=1, description="The ranking score (see ranking.py).")
    components: dict[str, float] = Field(description="confidence, specificity, length, rating, recency (0-1).")
    reasons: list[str] = Field(description="Why it scores as it does, in words.")
    phi: list[PhiSpan] = Field(
        description="Identifiers the PHI detector found in the text (names other than staff, phones, dates...)."
    )


class CandidateList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Candidate] = Field(description="Best first.")


class PublicTestimonial(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    rating: float | None
    date_published: str | None = Field(description="YYYY-MM-DD.")
    author: str | None = Field(description="The reviewer's display name, only where the patient allowed it.")
    source: str
    location: str | None


class PublicFeed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    practice: str = Field(description="The practice (tenant) id.")
    practice_name: str = Field(description="The practice's display name (its profile, else its id).")
    note: str = Field(description=NOTE)
    testimonials: list[PublicTestimonial]


def testimonial_models() -> list[tuple[Any, JsonSchemaMode]]:
    return [
        (CandidateList, "serialization"),
        (TestimonialView, "serialization"),
        (TestimonialList, "serialization"),
        (AuthorisationView, "serialization"),
        (AuthorisationList, "serialization"),
        (PublicFeed, "serialization"),
        (DecisionIn, "validation"),
        (UnpublishIn, "validation"),
        (AuthorisationIn, "validation"),
        (RevocationIn, "validation"),
    ]


_UNAVAILABLE = "The search engine is unavailable (code `search_unavailable`); retry shortly."
_BAD_QUERY = "Invalid query parameters (code `invalid_query`, `details` per parameter)."
_MENTION_ID = {"type": "string", "pattern": "^[0-9a-f]{32}$"}


def testimonial_paths(components: Components) -> dict[str, Any]:
    marketer, admin = Role.marketer, Role.admin
    mention = path_parameter("mention_id", _MENTION_ID, "The mention's id (32 lower-case hexadecimal characters).")
    auth_id = path_parameter("authorisation_id", _MENTION_ID, "The authorisation's id.")
    view = components.ref(TestimonialView)
    auth_view = components.ref(AuthorisationView)
    bad_id = "Not an id (code `invalid_id`)."

    def op(**kwargs: Any) -> dict[str, Any]:
        return operation(components, **kwargs)

    cache_headers = {
        "Cache-Control": {"description": f"`public, max-age={MAX_AGE}`.", "schema": {"type": "string"}},
        "ETag": {"description": "A strong validator of the body.", "schema": {"type": "string"}},
    }

    def feed(kind: str, mimetype: str, schema: dict[str, Any], what: str) -> dict[str, Any]:
        return op(
            operation_id=f"testimonialFeed{kind}",
            summary=f"Public testimonial feed ({what})",
            tags=["public"],
            role=None,
            description=(
                "Published testimonials of the practice whose authorisation is valid now, newest first. An unknown "
                "practice answers an empty list. Send `If-None-Match` with the ETag to get 304 when unchanged."
            ),
            parameters=[
                path_parameter("tenant", {"type": "string"}, "The practice (tenant) id."),
                *query_parameters(FeedQuery),
            ],
            responses={
                200: {"description": what, "headers": cache_headers, "content": {mimetype: {"schema": schema}}},
                304: {"description": "Not modified (the ETag matched).", "headers": cache_headers},
                400: _BAD_QUERY,
                503: _UNAVAILABLE,
            },
        )

    return {
        "/v1/testimonials/candidates": {
            "get": op(
                operation_id="testimonialCandidates",
                summary="Testimonial candidates, best first",
                tags=["testimonials"],
                role=marketer,
                description="Undecided positive, specific reviews ranked by quality, with the reasons.",
                parameters=query_parameters(CandidateQuery),
                responses={
                    200: json_response("Candidates.", components.ref(CandidateList)),
                    400: _BAD_QUERY,
                    503: _UNAVAILABLE,
                },
            )
        },
        "/v1/testimonials": {
            "get": op(
                operation_id="listTestimonials",
                summary="Decided reviews",
                tags=["testimonials"],
                role=marketer,
                parameters=query_parameters(TestimonialQuery),
                responses={
                    200: json_response("Records, latest first.", components.ref(TestimonialList)),
                    400: _BAD_QUERY,
                    503: _UNAVAILABLE,
                },
            )
        },
        "/v1/testimonials/{mention_id}": {
            "get": op(
                operation_id="getTestimonial",
                summary="One curation record",
                tags=["testimonials"],
                role=marketer,
                parameters=[mention],
                responses={
                    200: json_response("The record.", view),
                    400: bad_id,
                    404: "No decision on this mention.",
                    503: _UNAVAILABLE,
                },
            )
        },
        "/v1/testimonials/{mention_id}/decision": {
            "post": op(
                operation_id="decideTestimonial",
                summary="Approve or reject a review as a testimonial",
                tags=["testimonials"],
                role=marketer,
                parameters=[mention],
                request_body=json_body(components, DecisionIn),
                responses={
                    200: json_response("Decided again.", view),
                    201: json_response("First decision.", view),
                    **BODY_ERRORS,
                    404: "No such mention for this practice.",
                    409: "Published (code `published`: unpublish first), or not publishable (code `not_publishable`).",
                    503: _UNAVAILABLE,
                },
            )
        },
        "/v1/testimonials/{mention_id}/publish": {
            "post": op(
                operation_id="publishTestimonial",
                summary="Publish an approved, authorised testimonial",
                tags=["testimonials"],
                role=marketer,
                parameters=[mention],
                responses={
                    200: json_response("Published.", view),
                    400: bad_id,
                    404: "No such mention for this practice.",
                    409: (
                        "Refused: `not_approved`, `mention_changed`, `authorisation_missing`, "
                        "`authorisation_expired`, `authorisation_revoked`, `authorisation_not_yet_valid`, `conflict`."
                    ),
                    503: _UNAVAILABLE,
                },
            )
        },
        "/v1/testimonials/{mention_id}/unpublish": {
            "post": op(
                operation_id="unpublishTestimonial",
                summary="Take a testimonial down",
                tags=["testimonials"],
                role=marketer,
                parameters=[mention],
                request_body=json_body(components, UnpublishIn, required=False),
                responses={
                    200: json_response("Unpublished (approved again).", view),
                    **BODY_ERRORS,
                    404: "No such mention for this practice.",
                    409: "Not published (code `not_published`).",
                    503: _UNAVAILABLE,
                },
            )
        },
        "/v1/authorisations": {
            "get": op(
                operation_id="listAuthorisations",
                summary="Patient authorisations",
                tags=["authorisations"],
                role=marketer,
                description="`patient_name` is null unless the caller is an admin.",
                parameters=query_parameters(AuthorisationQuery),
                responses={
                    200: json_response("Authorisations, latest signature first.", components.ref(AuthorisationList)),
                    400: _BAD_QUERY,
                    503: _UNAVAILABLE,
                },
            ),
            "post": op(
                operation_id="createAuthorisation",
                summary="Record a patient's signed authorisation",
                tags=["authorisations"],
                role=admin,
                request_body=json_body(components, AuthorisationIn),
                responses={
                    201: json_response("Recorded.", auth_view),
                    **BODY_ERRORS,
                    404: "No such mention for this practice.",
                    503: _UNAVAILABLE,
                },
            ),
        },
        "/v1/authorisations/{authorisation_id}": {
            "get": op(
                operation_id="getAuthorisation",
                summary="One authorisation",
                tags=["authorisations"],
                role=marketer,
                parameters=[auth_id],
                responses={
                    200: json_response("The authorisation.", auth_view),
                    400: bad_id,
                    404: "No such authorisation for this practice.",
                    503: _UNAVAILABLE,
                },
            )
        },
        "/v1/authorisations/{authorisation_id}/revoke": {
            "post": op(
                operation_id="revokeAuthorisation",
                summary="Record a revocation",
                tags=["authorisations"],
                role=admin,
                parameters=[auth_id],
                request_body=json_body(components, RevocationIn),
                responses={
                    200: json_response("Revoked; the testimonial leaves the feed.", auth_view),
                    **BODY_ERRORS,
                    404: "No such authorisation for this practice.",
                    409: "Already revoked (code `already_revoked`), or `conflict`.",
                    503: _UNAVAILABLE,
                },
            )
        },
        "/public/{tenant}/testimonials.json": {
            "get": feed("Json", "application/json", components.ref(PublicFeed), "JSON")
        },
        "/public/{tenant}/testimonials.html": {
            "get": feed("Html", "text/html", {"type": "string"}, "an embeddable HTML widget")
        },
        "/public/{tenant}/testimonials.jsonld": {
            "get": feed("JsonLd", "application/ld+json", {"type": "object"}, "schema.org Review items as JSON-LD")
        },
    }
