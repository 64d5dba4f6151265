"""OpenAPI document of the ingest service (served at ``GET /openapi.json``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common.auth import Role
from common.openapi import (
    COMMON_TAGS,
    RETRY_AFTER_HEADER,
    Components,
    error_response,
    health_paths,
    json_response,
    openapi_blueprint,
    openapi_document,
    operation,
    ready_schema,
)
from common.schema import Mention, MentionIn
from common.settings import Settings
from services.ingest.sources_api import PushResult, SourceList

_MENTION_ID = Mention.model_json_schema()["properties"]["id"]


class IngestAccepted(BaseModel):
    """The answer to an accepted batch: every mention is on the raw topic."""

    model_config = ConfigDict(extra="forbid")

    accepted: int = Field(ge=0, description="Distinct mentions published (repeats within the batch count once).")
    duplicates_in_batch: int = Field(ge=0, description="Items that repeated an earlier item of the same batch.")
    ids: list[str] = Field(
        description="The id of each submitted mention, in the order submitted (repeats share an id).",
        json_schema_extra={"items": _MENTION_ID},
    )


def build_document(settings: Settings) -> dict[str, Any]:
    components = Components(
        [
            (MentionIn, "validation"),
            (IngestAccepted, "serialization"),
            (SourceList, "serialization"),
            (PushResult, "serialization"),
        ]
    )
    mention = components.ref(MentionIn, "validation")
    limit = settings.max_batch_items
    batch = {"type": "array", "items": mention, "minItems": 1, "maxItems": limit}
    body = {
        "required": True,
        "description": (
            f'One mention, a list of mentions, or `{{"mentions": [...]}}`, at most {limit} mentions '
            f"(`RADAR_MAX_BATCH_ITEMS`), each `text` at most {settings.max_text_chars} characters, the body at "
            f"most {settings.max_body_bytes} bytes. `tenant` may be omitted (the API key names it)."
        ),
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        mention,
                        batch,
                        {
                            "type": "object",
                            "properties": {"mentions": batch},
                            "required": ["mentions"],
                            "additionalProperties": False,
                        },
                    ]
                }
            }
        },
    }
    post = operation(
        components,
        operation_id="submitMentions",
        summary="Submit mentions",
        tags=["mentions"],
        role=Role.marketer,
        description=(
            "Validates every mention and publishes the batch to Kafka. A batch with any invalid mention is refused "
            "whole, with every problem listed by position. 202 only after Kafka acknowledged every mention. A "
            "mention's id derives from the tenant, the source and `external_id` (or, without it, from the "
            "normalised author, text and date), so resubmitting is safe."
        ),
        request_body=body,
        responses={
            202: json_response("Accepted: Kafka acknowledged every mention.", components.ref(IngestAccepted)),
            400: "Unparseable JSON, a body that is not UTF-8, or an empty body.",
            403: "The key's role is below `marketer`, or a mention names another practice's `tenant` "
            "(code `wrong_tenant`, with the positions in `details`).",
            413: f"Body larger than {settings.max_body_bytes} bytes, or more than {limit} mentions "
            "(code `batch_too_large`).",
            415: None,
            422: "Invalid mentions (code `validation_failed`, `details` per field), a body of the wrong shape "
            "(`invalid_payload`), or no mentions (`empty_batch`).",
            503: error_response(
                components,
                503,
                "Kafka did not acknowledge in time (code `bus_unavailable`): nothing was accepted; retry.",
                RETRY_AFTER_HEADER,
            ),
        },
    )
    paths: dict[str, Any] = {"/v1/mentions": {"post": post}}
    paths.update(source_paths(components))
    paths.update(
        health_paths(components, ready_schema({"kafka": {"enum": ["ok", "unreachable"]}}), "Kafka answers.", True)
    )
    return openapi_document(
        title="Radar ingest API",
        description="Accepts review, post and comment mentions, validates them and publishes them to Kafka.",
        paths=paths,
        components=components,
        tags=[
            {"name": "mentions", "description": "Submitting mentions."},
            {"name": "sources", "description": "Review and mention sources: status and push notifications."},
            *COMMON_TAGS,
        ],
    )


def source_paths(components: Components) -> dict[str, Any]:
    """``GET /v1/sources`` and the Google push endpoint."""
    listing = operation(
        components,
        operation_id="listSources",
        summary="Sources and their status",
        tags=["sources"],
        role=Role.viewer,
        description=(
            "Every source configured for the key's practice (`RADAR_SOURCES_FILE`) and any source that still has "
            "state, with its status from the scheduler's state topic: last run, last success, last error, next run, "
            "mentions fetched, circuit breaker, and the backfill's progress. Parameters and cursors are not shown."
        ),
        responses={
            200: json_response("The sources of this practice.", components.ref(SourceList)),
            503: error_response(components, 503, "The status could not be read from Kafka (code `bus_unavailable`)."),
        },
    )
    envelope = {
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {"type": "string", "description": "Base64 of the notification JSON."},
                    "attributes": {"type": "object"},
                    "messageId": {"type": "string"},
                },
            },
            "subscription": {"type": "string"},
        },
    }
    push = operation(
        components,
        operation_id="googlePush",
        summary="Google Business Profile push notification",
        tags=["sources"],
        role=None,
        description=(
            "Target of a Pub/Sub push subscription for Business Profile notifications. Authenticated by the shared "
            "token `RADAR_GOOGLE_PUSH_TOKEN` (`?token=` in the push URL, or `Authorization: Bearer`), not by an API "
            "key. `NEW_REVIEW` and `UPDATED_REVIEW` fetch the named review from the configured Google source of its "
            "location and publish it (a review that is gone is published as deleted); anything else is "
            "acknowledged and ignored."
        ),
        request_body={"required": True, "content": {"application/json": {"schema": envelope}}},
        responses={
            200: json_response("Processed (or ignored, with the reason).", components.ref(PushResult)),
            400: "Unparseable JSON, a body that is not UTF-8, or an empty body.",
            401: "Missing or wrong push token.",
            404: "Push notifications are not enabled (code `push_disabled`).",
            413: None,
            415: None,
            422: "Not a Pub/Sub envelope (`invalid_envelope`) or no review named (`invalid_notification`).",
            503: error_response(
                components,
                503,
                "The review could not be fetched or stored now (code `source_unavailable`); Pub/Sub retries.",
                RETRY_AFTER_HEADER,
            ),
        },
    )
    return {"/v1/sources": {"get": listing}, "/v1/sources/google/push": {"post": push}}


blueprint = openapi_blueprint(build_document)
