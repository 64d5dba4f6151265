"""Requests and records of testimonial curation and patient authorisations.

A testimonial is a patient's own review that the practice republishes.  Under HIPAA a covered
entity may use a patient's review for its marketing only with the patient's written
authorisation (45 CFR 164.508(a)(3)); the core elements and required statements of a valid
authorisation (164.508(c)) are the fields of ``AuthorisationIn``.  Records are append-only
through the API: nothing is deleted, decisions keep their history, a revocation is recorded
next to the authorisation it ends, and every authorisation carries ``retain_until`` (six years
from the later of signature and expiry, 164.530(j)).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

TestimonialStatus = Literal["approved", "rejected", "published"]
Decision = Literal["approve", "reject"]
AuthorisationState = Literal["valid", "expired", "revoked", "not_yet_signed"]

RETENTION_YEARS = 6
CLOCK_SKEW = timedelta(minutes=5)

MentionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
RecordId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


def _no_controls(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value) or "\x7f" in value:
        raise ValueError("contains control characters")
    return value


ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_controls)
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(_no_controls)
]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), AfterValidator(_no_controls)
]


def _as_instant(value: Any) -> Any:
    """A calendar date means 00:00 UTC that day (so an expiry date is never honoured late)."""
    if isinstance(value, str) and len(value) == 10:
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time.min, tzinfo=UTC)
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_as_instant)]
"""A date (``2027-10-02``, read as 00:00 UTC) or a date-time with a zone."""


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


# --- requests ---------------------------------------------------------------------------------


class DecisionIn(BaseModel):
    """A marketer's decision on a candidate; a rejection says why (kept in the audit history)."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision
    reason: Reason | None = Field(None, description="Why; required to reject, at most 500 characters.")

    @model_validator(mode="after")
    def _reason_to_reject(self) -> DecisionIn:
        if self.decision == "reject" and not self.reason:
            raise ValueError("a rejection needs a reason")
        return self


class UnpublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class AuthorisationIn(BaseModel):
    """The patient's written authorisation to republish one review (45 CFR 164.508(c)).

    ``patient_name`` is the signer: protected health information, never logged and never in any
    public output.  ``expires_at`` must be a date (the rule allows an expiry event; this product
    asks for a date so validity can be checked by machine) after ``signed_at``.
    """

    model_config = ConfigDict(extra="forbid")

    mention_id: MentionId = Field(description="The review the authorisation covers.")
    patient_name: ShortText = Field(description="Who signed (the patient or a personal representative).")
    representative_authority: ShortText | None = Field(
        None, description="If a personal representative signed: their authority to act for the patient."
    )
    description: LongText = Field(description="What is disclosed, specifically and meaningfully.")
    disclosed_by: ShortText = Field(description="Who may disclose it (the practice).")
    disclosed_to: ShortText = Field(description="To whom (e.g. the public, on the practice's website).")
    purpose: ShortText = Field(description="The purpose of the disclosure.")
    signed_at: Instant = Field(description="Date (or date-time) of the signature.")
    expires_at: Instant = Field(description="Expiry date; after signed_at.")
    signature: Literal["typed_name", "on_file"] = Field(
        description="How it was signed: a typed (electronic) name, or a wet signature on file."
    )
    document_ref: ShortText = Field(description="Where the signed form is kept.")
    show_author_name: bool = Field(False, description="Whether the public feed may show the review's author name.")
    right_to_revoke_explained: Literal[True] = Field(
        description="The form states the right to revoke in writing and how (164.508(c)(2)(i))."
    )
    no_conditioning_explained: Literal[True] = Field(
        description="The form states that treatment is not conditioned on signing (164.508(c)(2)(ii))."
    )
    redisclosure_explained: Literal[True] = Field(
        description="The form states that disclosed information may be redisclosed (164.508(c)(2)(iii))."
    )

    @model_validator(mode="after")
    def _dates(self) -> AuthorisationIn:
        if self.expires_at <= self.signed_at:
            raise ValueError("expires_at must be after signed_at")
        if self.signed_at > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("signed_at is in the future")
        return self


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revoked_at: Instant | None = Field(None, description="When the written revocation was received; default now.")
    reason: Reason | None = None

    @field_validator("revoked_at")
    @classmethod
    def _not_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("revoked_at is in the future")
        return value


class TestimonialQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TestimonialStatus | None = Field(None, description="Only records in this state.")
    limit: int = Field(100, ge=1, le=500)


class CandidateQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=100, description="Most candidates returned, best first.")
    location: str | None = Field(None, max_length=64, description="Only this location of the practice.")


class AuthorisationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mention_id: MentionId | None = None
    limit: int = Field(100, ge=1, le=500)


# --- records ----------------------------------------------------------------------------------


class HistoryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "reject", "publish", "unpublish"]
    at: AwareDatetime
    actor: str = Field(description="Fingerprint of the API key that acted (not the key).")
    reason: str | None = None
    authorisation_id: str | None = None


class MentionSnapshot(BaseModel):
    """The review as it was when decided (and, once published, as published)."""

    model_config = ConfigDict(extra="forbid")

    text: str
    rating: float | None = None
    author: str | None = None
    source: str
    location: str | None = None
    url: str | None = None
    published_at: AwareDatetime | None = None
    text_sha256: str


class TestimonialRecord(BaseModel):
    """The curation state of one mention; the history is the audit trail of every action."""

    model_config = ConfigDict(extra="forbid")

    tenant: str
    mention_id: str
    status: TestimonialStatus
    reason: str | None = None
    decided_by: str
    decided_at: AwareDatetime
    published_at: AwareDatetime | None = None
    published_by: str | None = None
    authorisation_id: str | None = None
    updated_at: AwareDatetime
    mention: MentionSnapshot
    history: list[HistoryEntry] = Field(default_factory=list)


class AuthorisationRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    tenant: str
    mention_id: str
    patient_name: str
    representative_authority: str | None = None
    description: str
    disclosed_by: str
    disclosed_to: str
    purpose: str
    signed_at: AwareDatetime
    expires_at: AwareDatetime
    signature: Literal["typed_name", "on_file"]
    document_ref: str
    show_author_name: bool
    right_to_revoke_explained: bool
    no_conditioning_explained: bool
    redisclosure_explained: bool
    created_at: AwareDatetime
    created_by: str
    revoked_at: AwareDatetime | None = None
    revocation_reason: str | None = None
    revoked_by: str | None = None
    retain_until: AwareDatetime

    def state(self, now: datetime) -> AuthorisationState:
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.signed_at > now:
            return "not_yet_signed"
        if self.expires_at <= now:
            return "expired"
        return "valid"

    def covers(self, tenant: str, mention_id: str, now: datetime) -> bool:
        return self.tenant == tenant and self.mention_id == mention_id and self.state(now) == "valid"

    def view(self, now: datetime, *, with_phi: bool) -> dict[str, Any]:
        """The API's view; the patient's name only for callers allowed to see PHI (admins)."""
        body = self.model_dump(mode="json", exclude={"tenant"})
        if not with_phi:
            body["patient_name"] = None
            body["representative_authority"] = None
        body["state"] = self.state(now)
        return AuthorisationView.model_validate(body).model_dump(mode="json")


def retain_until(signed_at: datetime, expires_at: datetime) -> datetime:
    """Six years from the later of signature and expiry (45 CFR 164.530(j)(2))."""
    return add_years(max(signed_at, expires_at), RETENTION_YEARS)


# --- responses --------------------------------------------------------------------------------


class MentionSnapshotView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    rating: float | None
    author: str | None = Field(description="The display name the reviewer chose.")
    source: str
    location: str | None
    url: str | None
    published_at: AwareDatetime | None


class TestimonialView(BaseModel):
    """A curation record as the API shows it."""

    model_config = ConfigDict(extra="forbid")

    mention_id: str
    status: TestimonialStatus
    reason: str | None = Field(description="The latest decision's reason.")
    decided_by: str = Field(description="Fingerprint of the deciding key.")
    decided_at: AwareDatetime
    published_at: AwareDatetime | None
    published_by: str | None
    authorisation_id: str | None = Field(description="The authorisation it was published under.")
    updated_at: AwareDatetime
    mention: MentionSnapshotView = Field(description="The review as decided (as published, once published).")
    history: list[HistoryEntry] = Field(description="Every action, oldest first.")
    in_feed: bool = Field(description="Published and covered by a valid authorisation now.")

    @classmethod
    def of(cls, record: TestimonialRecord, in_feed: bool = False) -> dict[str, Any]:
        body = record.model_dump(mode="json", exclude={"tenant"})
        body["mention"].pop("text_sha256", None)
        return cls.model_validate({**body, "in_feed": in_feed}).model_dump(mode="json")


class TestimonialList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[TestimonialView]


class AuthorisationView(BaseModel):
    """An authorisation as the API shows it; ``patient_name`` is null unless the caller is an admin."""

    model_config = ConfigDict(extra="forbid")

    id: str
    mention_id: str
    patient_name: str | None
    representative_authority: str | None
    description: str
    disclosed_by: str
    disclosed_to: str
    purpose: str
    signed_at: AwareDatetime
    expires_at: AwareDatetime
    signature: Literal["typed_name", "on_file"]
    document_ref: str
    show_author_name: bool
    right_to_revoke_explained: bool
    no_conditioning_explained: bool
    redisclosure_explained: bool
    created_at: AwareDatetime
    created_by: str
    revoked_at: AwareDatetime | None
    revocation_reason: str | None
    revoked_by: str | None
    retain_until: AwareDatetime
    state: AuthorisationState = Field(description="valid, expired, revoked or not_yet_signed, now.")


class AuthorisationList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[AuthorisationView]
