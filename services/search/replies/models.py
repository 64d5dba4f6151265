"""Request and response of ``POST /v1/replies/check``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_REPLY_CHARS = 5_000  # longer than any review site lets a business reply
MAX_REVIEW_CHARS = 20_000
MAX_DISPLAY_NAME_CHARS = 200

FindingType = Literal[
    "patient_confirmation",
    "clinical_detail",
    "appointment_detail",
    "financial_detail",
    "naming",
    "public_discussion",
    "phi",
]


class ReplyCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reply: str = Field(min_length=1, max_length=MAX_REPLY_CHARS, description="The draft public reply.")
    review: str | None = Field(
        None, max_length=MAX_REVIEW_CHARS, description="The review it answers, if any: names in it are not repeated."
    )
    reviewer_display_name: str | None = Field(
        None,
        max_length=MAX_DISPLAY_NAME_CHARS,
        description="The name the reviewer chose to show; addressing them by it is allowed, by any other is not.",
    )


class ReplyFinding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: FindingType = Field(description="What kind of disclosure.")
    start: int = Field(ge=0, description="Offset of the offending text in `reply` (code points).")
    end: int = Field(ge=0, description="End offset (exclusive).")
    text: str = Field(description="`reply[start:end]`.")
    explanation: str = Field(description="Why this is a disclosure, in words.")
    source: Literal["rules", "model"] = Field(
        "rules",
        description="`rules`: a rule or the PHI detector found it (the span is the triggering words); `model`: the "
        "learned sentence classifier did (the span is the sentence).",
    )


class ReplyCheckResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    safe: bool = Field(description="True when nothing was found.")
    findings: list[ReplyFinding] = Field(description="In order of position; several may cover the same words.")
    suggestion: str = Field(
        description="A safer rewrite: the sentences that disclose nothing plus the standard privacy line and an "
        "invitation to call the office. The reply itself when it is safe."
    )
