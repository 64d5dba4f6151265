"""OpenAPI description of the practice profile and competitor comparison endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode

from common.auth import Role
from common.openapi import BODY_ERRORS, Components, json_body, json_response, operation, query_parameters
from services.search.practice.models import PracticeProfileIn
from services.search.store.base import StatsRequest

PRACTICE_TAGS = [{"name": "practice", "description": "The practice's profile and its tracked competitors."}]


class PracticeProfileView(PracticeProfileIn):
    updated_at: AwareDatetime | None = Field(description="Last change; null while the defaults apply.")


class Me(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str = Field(description="The practice the key belongs to.")
    role: Literal["viewer", "marketer", "admin"]


class TrendPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    mentions: int = Field(ge=0)
    average_rating: float | None


class ComparedPractice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    competitor: str | None = Field(description="The competitor's id; null for the practice itself.")
    name: str = Field(description="Display name from the practice profile (else the id).")
    own: bool
    mentions: int = Field(ge=0)
    share_of_voice: float | None = Field(ge=0, le=1, description="Share of all mentions compared; null when none.")
    average_rating: float | None = Field(description="Mean source rating (1-5) of rated mentions.")
    negative_share: float | None = Field(ge=0, le=1, description="Share of mentions the model read as negative.")
    trend: list[TrendPoint] = Field(description="Mentions and mean rating per `interval` bucket.")


class Comparison(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval: str
    time_zone: str
    total: int = Field(ge=0)
    practices: list[ComparedPractice] = Field(description="The practice first, then competitors by volume.")


def practice_models() -> list[tuple[Any, JsonSchemaMode]]:
    return [
        (PracticeProfileView, "serialization"),
        (PracticeProfileIn, "validation"),
        (Comparison, "serialization"),
        (Me, "serialization"),
    ]


def practice_paths(components: Components, filter_descriptions: dict[str, str]) -> dict[str, Any]:
    unavailable = "The search engine is unavailable (code `search_unavailable`); retry shortly."
    profile_ref = components.ref(PracticeProfileView)
    return {
        "/v1/me": {
            "get": operation(
                components,
                operation_id="me",
                summary="The caller's practice and role",
                tags=["practice"],
                role=Role.viewer,
                description="Lets a client show only what the key's role may do.",
                responses={200: json_response("The key's tenant and role.", components.ref(Me))},
            )
        },
        "/v1/practice": {
            "get": operation(
                components,
                operation_id="getPractice",
                summary="The practice's profile",
                tags=["practice"],
                role=Role.viewer,
                description="Display name, website, time zone and tracked competitors. Defaults (display name = "
                "tenant id, no competitors) until an admin saves a profile.",
                responses={200: json_response("The profile.", profile_ref), 503: unavailable},
            ),
            "put": operation(
                components,
                operation_id="putPractice",
                summary="Replace the practice's profile",
                tags=["practice"],
                role=Role.admin,
                description="The display name is what the public testimonial feed and its schema.org markup show. "
                "Competitor ids are the slugs their mentions carry in `competitor`.",
                request_body=json_body(components, PracticeProfileIn),
                responses={
                    200: json_response("The saved profile.", profile_ref),
                    **BODY_ERRORS,
                    503: unavailable,
                },
            ),
        },
        "/v1/competitors/compare": {
            "get": operation(
                components,
                operation_id="compareCompetitors",
                summary="The practice against its competitors",
                tags=["practice"],
                role=Role.viewer,
                description="Share of voice, average source rating, share negative and rating trend of the practice "
                "and its competitors under the same filters; `competitor` limits the competitors compared. Named "
                "competitors without mentions yet appear with zeros.",
                parameters=query_parameters(StatsRequest, descriptions=filter_descriptions),
                responses={
                    200: json_response("The practices side by side.", components.ref(Comparison)),
                    400: "Invalid query parameters (code `invalid_query`, `details` per parameter).",
                    503: unavailable,
                },
            )
        },
    }
