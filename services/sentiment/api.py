"""HTTP API of the sentiment service: synchronous scoring for the dashboard and other services."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from common.auth import Role
from common.bus import Bus
from common.http import ApiError, read_json_body, requires, validation_details
from common.metrics.catalog import MODEL_LATENCY
from common.settings import Settings
from services.sentiment.language import identify
from services.sentiment.model import SentimentModel
from services.sentiment.topics import TopicTagger

blueprint = Blueprint("sentiment", __name__)

MAX_ANALYZE_TEXTS = 64


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[Annotated[str, StringConstraints(max_length=100_000)]] = Field(
        min_length=1, max_length=MAX_ANALYZE_TEXTS
    )


def _model() -> SentimentModel:
    model: SentimentModel = current_app.extensions["radar.model"]
    return model


@blueprint.post("/v1/analyze")
@requires(Role.viewer)
def analyze() -> Response:
    payload = read_json_body()
    if (
        isinstance(payload, dict)
        and isinstance(payload.get("texts"), list)
        and len(payload["texts"]) > MAX_ANALYZE_TEXTS
    ):
        raise ApiError(413, "batch_too_large", f"at most {MAX_ANALYZE_TEXTS} texts per request")
    try:
        request = AnalyzeRequest.model_validate(payload)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", "invalid analyze request", validation_details(exc)) from None
    settings: Settings = current_app.extensions["radar.settings"]
    too_long = [i for i, t in enumerate(request.texts) if len(t) > settings.max_text_chars]
    if too_long:
        raise ApiError(
            422,
            "validation_failed",
            "text too long",
            [
                {"field": f"texts[{i}]", "problem": f"longer than {settings.max_text_chars} characters"}
                for i in too_long
            ],
        )
    model = _model()
    # Text the model cannot read (blank, or not English) gets an explicit null, not a guess.
    results: list[dict[str, object]] = []
    readable: list[int] = []
    for i, text in enumerate(request.texts):
        language = identify(text)
        if not text.strip():
            results.append({"sentiment": None, "skipped": "empty text", "language": None})
        elif not language.supported:
            results.append({"sentiment": None, "skipped": "unsupported language", "language": language.code})
        else:
            results.append({"language": language.code})
            readable.append(i)
    readable_texts = [request.texts[i] for i in readable]
    tagger: TopicTagger = current_app.extensions["radar.tagger"]
    with MODEL_LATENCY.labels("sentiment", "api").time():
        predictions = model.predict(readable_texts)
    with MODEL_LATENCY.labels("topics", "api").time():
        tags = tagger.tag(readable_texts)
    for i, prediction, topics in zip(readable, predictions, tags, strict=True):
        results[i] = {**asdict(prediction), "topics": topics, **results[i]}
    return jsonify({"model": model.name, "model_version": model.version, "results": results})


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The model is loaded (verified at start-up) and Kafka, which carries the managed API keys, answers."""
    model = _model()
    bus: Bus = current_app.extensions["radar.bus"]
    kafka_ok = bus.is_healthy()
    body = {
        "status": "ready" if kafka_ok else "not_ready",
        "model": model.name,
        "model_version": model.version,
        "kafka": "ok" if kafka_ok else "unreachable",
    }
    return jsonify(body), 200 if kafka_ok else 503
