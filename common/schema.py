"""The mention schema: one shape for every review, post and comment, whatever its source.

Versioned (``schema_version``) because records outlive the code that wrote them: a consumer
reads the version first and refuses what it does not understand, instead of guessing.
``docs/mention-schema.json`` is generated from these models (``python -m common.schema``).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    model_serializer,
    model_validator,
)

SCHEMA_VERSION: Literal[1] = 1

MentionKind = Literal["review", "post", "comment", "testimonial"]
SentimentLabel = Literal["negative", "neutral", "positive"]

Slug = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$"),
]
"""Identifiers of tenants, locations, providers and sources: lower-case, URL- and key-safe."""

LanguageTag = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]


def _no_control_chars(value: str) -> str:
    # NUL and other C0 controls break Elasticsearch highlighting and CSV exports downstream;
    # reject them at the door rather than store something the dashboard cannot show.
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in value):
        raise ValueError("contains control characters")
    return value


ExternalId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=256),
    AfterValidator(_no_control_chars),
]
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_chars),
]
ReviewText = Annotated[str, AfterValidator(_no_control_chars)]


class MentionIn(BaseModel):
    """What a client, connector or import file submits.

    ``tenant`` may be omitted: the API key names the tenant.  The text limit is enforced by the
    API from settings (it is a deployment choice, not part of the format).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tenant: Slug | None = None
    location: Slug | None = Field(None, description="The practice's site the mention is about.")
    provider: Slug | None = Field(None, description="The physician or radiologist, if named.")
    competitor: Slug | None = Field(
        None, description="The tracked competitor practice it is about; empty for the practice's own mentions."
    )
    source: Slug = Field(description="Where it was published: google, yelp, healthgrades, ...")
    kind: MentionKind = "review"
    external_id: ExternalId | None = Field(
        None, description="The source's own id; without it the id is derived from the content."
    )
    url: HttpUrl | None = None
    author: DisplayName | None = Field(None, description="The display name the author chose.")
    text: ReviewText = ""
    rating: float | None = Field(None, ge=1, le=5, description="Source rating normalised to 1-5.")
    language: LanguageTag | None = None
    published_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    fetched_at: AwareDatetime | None = None
    deleted_at: AwareDatetime | None = Field(
        None,
        description=(
            "When the source was seen to have deleted it. A deletion carries the same id and no text needs to be "
            "sent; the stored mention is kept but left out of default search and analytics."
        ),
    )

    @model_validator(mode="after")
    def _has_content(self) -> MentionIn:
        if not self.text.strip() and self.rating is None and self.deleted_at is None:
            raise ValueError("a mention needs text, a rating, or both")
        if self.published_at and self.updated_at and self.updated_at < self.published_at:
            raise ValueError("updated_at is before published_at")
        return self


class Mention(BaseModel):
    """A normalised mention as it travels on the raw topic."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    tenant: Slug
    location: Slug | None = None
    provider: Slug | None = None
    competitor: Slug | None = None
    source: Slug
    kind: MentionKind = "review"
    external_id: str | None = None
    url: str | None = None
    author: str | None = None
    text: str = ""
    rating: float | None = Field(None, ge=1, le=5)
    language: str | None = None
    published_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    fetched_at: AwareDatetime
    ingested_at: AwareDatetime
    deleted_at: AwareDatetime | None = None

    @model_serializer(mode="wrap")
    def _omit_absent_deletion(self, handler):  # type: ignore[no-untyped-def]
        # Written only when set: records of mentions that were never deleted stay exactly as
        # before, so consumers not yet upgraded (which forbid unknown fields) keep reading them.
        data = handler(self)
        if isinstance(data, dict) and data.get("deleted_at") is None:
            data.pop("deleted_at", None)
        return data

    @property
    def revision_time(self) -> datetime:
        """When this version of the mention was written at its source.

        Used as the external version in the index so a late replay of an old edit can never
        overwrite a newer one; a deletion is the last version of all.
        """
        return self.deleted_at or self.updated_at or self.published_at or self.fetched_at

    @classmethod
    def from_submission(cls, item: MentionIn, tenant: str, now: datetime | None = None) -> Mention:
        now = now or datetime.now(UTC)
        return cls(
            id=mention_id(
                tenant=tenant,
                source=item.source,
                external_id=item.external_id,
                author=item.author,
                text=item.text,
                published_at=item.published_at,
            ),
            tenant=tenant,
            location=item.location,
            provider=item.provider,
            competitor=item.competitor,
            source=item.source,
            kind=item.kind,
            external_id=item.external_id,
            url=str(item.url) if item.url else None,
            author=item.author,
            text=item.text,
            rating=item.rating,
            language=item.language,
            published_at=item.published_at,
            updated_at=item.updated_at,
            fetched_at=item.fetched_at or now,
            ingested_at=now,
            deleted_at=item.deleted_at,
        )


class SentimentResult(BaseModel):
    """The model's reading of one mention.

    ``basis`` says where the label comes from: ``text`` (the model read it), ``rating`` (there
    was nothing the model could read, so the source's own rating decides) or ``none`` (neither:
    the label is null and the mention needs a human).  ``flags`` say why, e.g.
    ``unsupported_language``, or note a partial result: ``topics_unavailable`` (the topic model
    could not read this text, so it has no topics).
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    label: SentimentLabel | None
    probabilities: dict[SentimentLabel, float] = Field(default_factory=dict)
    stars: float | None = Field(None, ge=1, le=5)
    aspects: dict[str, float] = Field(default_factory=dict)
    truncated: bool = False
    topics: list[str] = Field(default_factory=list, description="Radiology topics the text is about.")
    topic_scores: dict[str, float] = Field(default_factory=dict)
    basis: Literal["text", "rating", "none"] = "text"
    flags: list[str] = Field(default_factory=list)
    model: str
    model_version: str


class ScoredMention(Mention):
    """A mention with the model's output, as it travels on the scored topic and is indexed."""

    sentiment: SentimentResult
    scored_at: AwareDatetime


class DeadLetter(BaseModel):
    """A record that could not be processed, with enough context to replay or discard it.

    The original bytes are kept verbatim (as UTF-8 text, or base64 when they are not valid
    UTF-8) so nothing is lost; the record lives only in Kafka, never in logs.
    """

    model_config = ConfigDict(extra="forbid")

    reason: str
    stage: str
    topic: str
    partition: int
    offset: int
    key: str | None
    value: str
    value_encoding: Literal["utf-8", "base64"]
    failed_at: AwareDatetime


_WHITESPACE = re.compile(r"\s+")


def _normalise_text(text: str) -> str:
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def mention_id(
    *,
    tenant: str,
    source: str,
    external_id: str | None,
    author: str | None = None,
    text: str = "",
    published_at: datetime | None = None,
) -> str:
    """A stable 128-bit id, so the same review is never counted twice.

    With the source's own id, edits keep their id (an edit is an update).  Without one the id
    is derived from the content, normalised so whitespace and case changes do not create a new
    mention.  The tenant is part of the key because two practices may track the same public
    review (for example a competitor's) and each must own its copy.
    """
    if external_id:
        basis = ["ext", tenant, source, external_id]
    else:
        basis = [
            "content",
            tenant,
            source,
            _normalise_text(author or ""),
            _normalise_text(text),
            published_at.date().isoformat() if published_at else "",
        ]
    digest = hashlib.sha256("\x1f".join(basis).encode("utf-8")).hexdigest()
    return digest[:32]


def json_schema_document() -> dict[str, object]:
    """JSON Schema of the three record types, for consumers in other languages."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Radar mention records",
        "schema_version": SCHEMA_VERSION,
        "submission": MentionIn.model_json_schema(),
        "mention": Mention.model_json_schema(),
        "scored_mention": ScoredMention.model_json_schema(),
        "dead_letter": DeadLetter.model_json_schema(),
    }


if __name__ == "__main__":
    print(json.dumps(json_schema_document(), indent=2, sort_keys=True))
