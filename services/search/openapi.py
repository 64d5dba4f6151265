"""OpenAPI document of the search service (served at ``GET /openapi.json``).

Query parameters come from the query models in ``services.search.store.base`` and response
schemas from the store's dataclasses, so what is documented is what ``parse_query`` validates.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from common.auth import Role
from common.openapi import (
    COMMON_TAGS,
    Components,
    health_paths,
    json_response,
    openapi_blueprint,
    openapi_document,
    operation,
    path_parameter,
    query_parameters,
    ready_schema,
)
from common.schema import Mention, ScoredMention
from common.settings import Settings
from services.alerts.openapi import ALERT_TAGS, alert_models, alert_paths
from services.search.audit.openapi import AUDIT_TAGS, audit_models, audit_paths
from services.search.keys.openapi import KEY_TAGS, key_models, key_paths
from services.search.practice.openapi import PRACTICE_TAGS, practice_models, practice_paths
from services.search.replies.openapi import REPLY_TAGS, reply_models, reply_paths
from services.search.reputation import ReputationScore
from services.search.store.base import (
    ExportRequest,
    ReputationRequest,
    SearchRequest,
    Stats,
    StatsRequest,
    TopicTrendRequest,
)
from services.search.testimonials.openapi import TESTIMONIAL_TAGS, testimonial_models, testimonial_paths


class SearchItem(ScoredMention):
    """A mention as indexed, with the search's highlighted snippets and relevance score."""

    highlights: list[str] = Field(description="Matching snippets, the matches wrapped in `<mark>`.")
    score: float | None = Field(description="Relevance score; null unless sorted by relevance.")


class SearchPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    total: int = Field(ge=0, description="Mentions matching the filters (all pages).")
    items: list[SearchItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_: AwareDatetime = Field(alias="from")
    to: AwareDatetime


class TopicTrendRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str
    negative: int = Field(ge=0, description="Negative mentions in the period.")
    negative_previous: int = Field(ge=0, description="Negative mentions in the period of the same length before.")
    mentions: int = Field(ge=0, description="All mentions of the topic in the period.")
    change: int = Field(description="negative - negative_previous.")


class TopicTrend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period
    topics: list[TopicTrendRow]


class Reputation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: Literal["location", "provider"]
    half_life_days: float
    prior_weight: float
    scores: list[ReputationScore]


class Erasure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    erased: str = Field(description="The mention id.")
    removed_from: list[Literal["index", "testimonials", "alerts"]]
    kafka: str = Field(description="What happens to the copies on the Kafka topics.")


FILTER_DESCRIPTIONS = {
    "sentiment": "Sentiment labels to include.",
    "source": "Sources to include (google, yelp, healthgrades, ...).",
    "location": "The practice's sites to include.",
    "provider": "Physicians or radiologists to include.",
    "kind": "Kinds of mention to include.",
    "topic": "Radiology topics to include.",
    "language": "Languages to include (ISO 639-1 codes).",
    "rating_min": "Lowest source rating to include (1-5).",
    "rating_max": "Highest source rating to include (1-5).",
    "date_from": "Published (or, without a date, fetched) at or after.",
    "date_to": "Published (or, without a date, fetched) at or before.",
    "order": "Sort direction.",
    "size": "Results per page.",
    "interval": "Histogram bucket width.",
    "by": "Rank locations or providers.",
    "competitor": "Competitor practices (their ids); without it, only the practice's own mentions count.",
}

_FILTERS = "Filters: `q`, `sentiment`, `source`, `location`, `provider`, `kind`, `topic`, `language` (lists), " + (
    "`aspect` (list) with `aspect_min`/`aspect_max`, `rating_min`, `rating_max`, `date_from`, `date_to`, and "
    "`competitor` (list; without it only the practice's own mentions count)."
)


def build_document(settings: Settings) -> dict[str, Any]:
    components = Components(
        [
            (SearchPage, "serialization"),
            (ScoredMention, "serialization"),
            (Stats, "serialization"),
            (TopicTrend, "serialization"),
            (Reputation, "serialization"),
            *testimonial_models(),
            *practice_models(),
            *audit_models(),
            *key_models(),
            (Erasure, "serialization"),
            *alert_models(),
            *reply_models(),
        ]
    )
    viewer = Role.viewer
    bad_query = "Invalid query parameters (code `invalid_query`, `details` per parameter)."
    unavailable = "The search engine is unavailable (code `search_unavailable`); retry shortly."

    search = operation(
        components,
        operation_id="searchMentions",
        summary="Search mentions",
        tags=["search"],
        role=viewer,
        description=(
            "Full-text search and filters over the practice's mentions, newest first (by relevance with `q`). "
            "Pages with `cursor` (the previous page's `next_cursor`): pages neither repeat nor skip. " + _FILTERS
        ),
        parameters=query_parameters(SearchRequest, descriptions=FILTER_DESCRIPTIONS),
        responses={
            200: json_response("One page of results (may be empty).", components.ref(SearchPage)),
            400: f"{bad_query} Also a cursor that belongs to another sort (code `invalid_cursor`).",
            503: unavailable,
        },
    )
    export = operation(
        components,
        operation_id="exportMentions",
        summary="Export mentions as CSV",
        tags=["search"],
        role=viewer,
        description=(
            "The same filters and sort as the search, streamed as a CSV file (UTF-8 with BOM, for spreadsheets), "
            "at most `limit` rows. Cells a spreadsheet would run as formulas are neutralised. Errors are JSON."
        ),
        parameters=query_parameters(ExportRequest, descriptions=FILTER_DESCRIPTIONS),
        responses={
            200: {
                "description": "The CSV file, streamed.",
                "headers": {
                    "Content-Disposition": {
                        "description": '`attachment; filename="mentions-<UTC time>.csv"`.',
                        "schema": {"type": "string"},
                    }
                },
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            400: bad_query,
            503: unavailable,
        },
    )
    get_one = operation(
        components,
        operation_id="getMention",
        summary="One mention by id",
        tags=["search"],
        role=viewer,
        parameters=[
            path_parameter(
                "mention_id", Mention.model_json_schema()["properties"]["id"], "32 lower-case hexadecimal characters."
            )
        ],
        responses={
            200: json_response("The mention as indexed.", components.ref(ScoredMention)),
            400: "Not a mention id (code `invalid_id`).",
            404: "No such mention for this practice (code `not_found`).",
            503: unavailable,
        },
    )
    erase = operation(
        components,
        operation_id="eraseMention",
        summary="Erase a mention everywhere",
        tags=["search"],
        role=Role.admin,
        description=(
            "Removes the mention's content from the index (an erasure marker with only the id stays, so replays "
            "and connectors cannot bring it back), its testimonial curation record and the excerpts in the alerts it "
            "raised; HIPAA authorisation records are kept. Kafka copies expire with the topics' retention. "
            "Recorded in the audit trail."
        ),
        parameters=[
            path_parameter(
                "mention_id", Mention.model_json_schema()["properties"]["id"], "32 lower-case hexadecimal characters."
            )
        ],
        responses={
            200: json_response("What was erased.", components.ref(Erasure)),
            400: "Not a mention id (code `invalid_id`).",
            404: "No such mention for this practice, or already erased (code `not_found`).",
            503: unavailable,
        },
    )
    stats = operation(
        components,
        operation_id="stats",
        summary="Statistics",
        tags=["statistics"],
        role=viewer,
        description=(
            "Counts by sentiment, source, location, provider and topic, the average rating, and a histogram per "
            "`interval` in `time_zone` with per-bucket sentiment counts. " + _FILTERS
        ),
        parameters=query_parameters(StatsRequest, descriptions=FILTER_DESCRIPTIONS),
        responses={
            200: json_response("Statistics of the matching mentions.", components.ref(Stats)),
            400: bad_query,
            503: unavailable,
        },
    )
    topics = operation(
        components,
        operation_id="negativeTopics",
        summary="Topics of negative mentions, this period against the last",
        tags=["statistics"],
        role=viewer,
        description=(
            "Negative mentions per radiology topic in the last `days` (ending now, or at `date_to`) against the "
            "period of the same length before it, most negative first. `date_from` is ignored. " + _FILTERS
        ),
        parameters=query_parameters(TopicTrendRequest, descriptions=FILTER_DESCRIPTIONS),
        responses={
            200: json_response("Per-topic counts and changes.", components.ref(TopicTrend)),
            400: bad_query,
            503: unavailable,
        },
    )
    reputation = operation(
        components,
        operation_id="reputation",
        summary="Reputation score by location or provider",
        tags=["statistics"],
        role=viewer,
        description=(
            "A Bayesian average of ratings weighted by recency (`half_life_days`) and by source, shrunk towards "
            "the practice's mean by `prior_weight` reviews' worth. " + _FILTERS
        ),
        parameters=query_parameters(ReputationRequest, descriptions=FILTER_DESCRIPTIONS),
        responses={
            200: json_response("Scores, best first.", components.ref(Reputation)),
            400: bad_query,
            503: unavailable,
        },
    )
    paths: dict[str, Any] = {
        "/v1/mentions": {"get": search},
        "/v1/mentions/export.csv": {"get": export},
        "/v1/mentions/{mention_id}": {"get": get_one, "delete": erase},
        "/v1/stats": {"get": stats},
        "/v1/topics/negative": {"get": topics},
        "/v1/reputation": {"get": reputation},
    }
    paths.update(practice_paths(components, FILTER_DESCRIPTIONS))
    paths.update(audit_paths(components))
    paths.update(key_paths(components))
    paths.update(testimonial_paths(components))
    paths.update(alert_paths(components))
    paths.update(reply_paths(components))
    ready = ready_schema(
        {
            "search_engine": {"enum": ["ok", "unreachable"]},
            "kafka": {"enum": ["ok", "unreachable"]},
            "reply_model": {"enum": ["ok", "missing or corrupt"]},
        }
    )
    paths.update(
        health_paths(
            components, ready, "the search engine and Kafka answer, and the reply guard's model verifies.", True
        )
    )
    return openapi_document(
        title="Radar search API",
        description="Search, statistics and export over the practice's scored mentions.",
        paths=paths,
        components=components,
        tags=[
            {"name": "search", "description": "Finding and exporting mentions."},
            {"name": "statistics", "description": "Counts, trends and reputation."},
            *PRACTICE_TAGS,
            *AUDIT_TAGS,
            *KEY_TAGS,
            *TESTIMONIAL_TAGS,
            *ALERT_TAGS,
            *REPLY_TAGS,
            *COMMON_TAGS,
        ],
    )


blueprint = openapi_blueprint(build_document)
