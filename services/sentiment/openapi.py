"""OpenAPI document of the sentiment service (served at ``GET /openapi.json``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from common.auth import Role
from common.openapi import (
    COMMON_TAGS,
    Components,
    health_paths,
    json_response,
    openapi_blueprint,
    openapi_document,
    operation,
    ready_schema,
)
from common.schema import SentimentLabel
from common.settings import Settings
from services.sentiment.api import MAX_ANALYZE_TEXTS, AnalyzeRequest


class ScoredText(BaseModel):
    """The model's reading of one text (``services.sentiment.model.Prediction`` plus topics and language)."""

    model_config = ConfigDict(extra="forbid")

    sentiment: SentimentLabel = Field(description="The label from the model's decision rule.")
    probabilities: dict[SentimentLabel, float] = Field(description="Calibrated class probabilities.")
    stars: float = Field(ge=1, le=5, description="Expected star rating.")
    aspects: dict[str, float] = Field(description="Expected 1-5 score per aspect (staff, punctuality, ...).")
    truncated: bool = Field(description="The text was longer than the model reads.")
    topics: dict[str, float] = Field(description="Radiology topics the text is about, with their scores.")
    language: str | None = Field(description="ISO 639-1 code, or null when the guess is uncertain.")


class SkippedText(BaseModel):
    """A text the model cannot read: an explicit null, not a guess."""

    model_config = ConfigDict(extra="forbid")

    sentiment: None
    skipped: Literal["empty text", "unsupported language"]
    language: str | None = Field(description="ISO 639-1 code of the unsupported language, if identified.")


class AnalyzeResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str
    model_version: str
    results: list[ScoredText | SkippedText] = Field(description="One result per submitted text, in order.")


def build_document(settings: Settings) -> dict[str, Any]:
    components = Components([(AnalyzeRequest, "validation"), (AnalyzeResponse, "serialization")])
    analyze = operation(
        components,
        operation_id="analyze",
        summary="Score texts with the sentiment model",
        tags=["analyze"],
        role=Role.viewer,
        description=(
            f"Scores up to {MAX_ANALYZE_TEXTS} texts synchronously. Blank text and text in a language the model "
            "does not read get `sentiment: null` with the reason in `skipped`."
        ),
        request_body={
            "required": True,
            "description": (
                f"At most {MAX_ANALYZE_TEXTS} texts, each at most {settings.max_text_chars} characters; the body "
                f"at most {settings.max_body_bytes} bytes."
            ),
            "content": {"application/json": {"schema": components.ref(AnalyzeRequest, "validation")}},
        },
        responses={
            200: json_response("One result per text.", components.ref(AnalyzeResponse)),
            400: "Unparseable JSON, a body that is not UTF-8, or an empty body.",
            413: f"Body larger than {settings.max_body_bytes} bytes, or more than {MAX_ANALYZE_TEXTS} texts "
            "(code `batch_too_large`).",
            415: None,
            422: "Invalid request or a text that is too long (code `validation_failed`, `details` per field).",
        },
    )
    paths: dict[str, Any] = {"/v1/analyze": {"post": analyze}}
    ready = ready_schema(
        {"model": {"type": "string"}, "model_version": {"type": "string"}, "kafka": {"enum": ["ok", "unreachable"]}}
    )
    paths.update(health_paths(components, ready, "the model is loaded and Kafka (the managed API keys) answers.", True))
    return openapi_document(
        title="Radar sentiment API",
        description="Synchronous scoring with the review sentiment model: label, calibrated probabilities, "
        "estimated stars, aspect scores and radiology topics.",
        paths=paths,
        components=components,
        tags=[{"name": "analyze", "description": "Scoring texts."}, *COMMON_TAGS],
    )


blueprint = openapi_blueprint(build_document)
