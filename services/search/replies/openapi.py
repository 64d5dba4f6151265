"""OpenAPI description of ``POST /v1/replies/check``, for ``services/search/openapi.py``."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import JsonSchemaMode

from common.auth import Role
from common.openapi import BODY_ERRORS, Components, json_body, json_response, operation
from services.search.replies.models import MAX_REPLY_CHARS, ReplyCheckIn, ReplyCheckResult

REPLY_TAGS = [{"name": "replies", "description": "Checking draft replies to reviews for disclosures of PHI."}]


def reply_models() -> list[tuple[Any, JsonSchemaMode]]:
    return [(ReplyCheckIn, "validation"), (ReplyCheckResult, "serialization")]


def reply_paths(components: Components) -> dict[str, Any]:
    return {
        "/v1/replies/check": {
            "post": operation(
                components,
                operation_id="checkReply",
                summary="Check a draft reply to a review for PHI",
                tags=["replies"],
                role=Role.marketer,
                description=(
                    "Finds what HIPAA forbids in a public reply: confirming that the reviewer is or was a patient, "
                    "any detail of condition, procedure, results, appointment dates, insurance, billing or cost, "
                    "naming the reviewer beyond their display name or naming another patient, offers to discuss "
                    "the case publicly, and any Safe Harbor identifier (phone, email, address, record number...). "
                    "Each finding has the offending span and an explanation; a rule finds the words, the learned "
                    "sentence classifier (`source: model`) the sentence no rule caught. `suggestion` is a safer "
                    "rewrite. 503 `reply_model_unavailable` when the classifier's files fail their checksum; 422 "
                    "`reply_too_long_to_check` when a reply has more distinct sentences than one check reads (300). "
                    f"The reply may be up to {MAX_REPLY_CHARS} characters. Nothing is stored or logged."
                ),
                request_body=json_body(components, ReplyCheckIn),
                responses={
                    200: json_response(
                        "The verdict, findings and a suggested rewrite.", components.ref(ReplyCheckResult)
                    ),
                    **BODY_ERRORS,
                },
            )
        }
    }
