"""The mention store as the search service sees it.

Every read takes the tenant as its first argument and the implementation applies it as a
filter itself, so confinement to the caller's practice lives in one place instead of in each
endpoint.  A second implementation (an embedded one) only has to honour this interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from common.schema import MentionKind, ScoredMention, SentimentLabel

SortKey = Literal["relevance", "date", "rating"]


class StoreUnavailable(Exception):
    """The engine cannot be reached or is overloaded; the caller may retry later."""


AspectName = Literal["staff", "punctuality", "helpfulness", "knowledge"]


class MentionFilter(BaseModel):
    """Filters shared by search, statistics and export."""

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(None, max_length=500, description="Full-text query (simple query syntax).")
    sentiment: list[SentimentLabel] = Field(default_factory=list, description="Sentiment labels to keep.")
    source: list[str] = Field(default_factory=list, max_length=50, description="Sources, e.g. google, yelp.")
    location: list[str] = Field(default_factory=list, max_length=200, description="Location ids of the practice.")
    provider: list[str] = Field(default_factory=list, max_length=200, description="Provider (physician) ids.")
    competitor: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Tracked competitor practices to look at; empty means the practice's own mentions only.",
    )
    kind: list[MentionKind] = Field(default_factory=list, description="review, post, comment or testimonial.")
    topic: list[str] = Field(default_factory=list, max_length=20, description="Radiology topics, e.g. waiting_time.")
    language: list[str] = Field(default_factory=list, max_length=50, description="ISO 639-1 language codes.")
    aspect: list[AspectName] = Field(
        default_factory=list,
        description="Model aspect scores (1-5) that must exist and lie within aspect_min..aspect_max.",
    )
    aspect_min: float | None = Field(None, ge=1, le=5, description="Lowest score of each listed aspect.")
    aspect_max: float | None = Field(None, ge=1, le=5, description="Highest score of each listed aspect.")
    rating_min: float | None = Field(None, ge=1, le=5, description="Lowest source rating (1-5).")
    rating_max: float | None = Field(None, ge=1, le=5, description="Highest source rating (1-5).")
    date_from: AwareDatetime | None = Field(None, description="Published at or after (ISO 8601 with zone).")
    date_to: AwareDatetime | None = Field(None, description="Published at or before (ISO 8601 with zone).")

    @field_validator("q")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("date_from", "date_to")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # ISO 8601 allows offsets up to ±23:59 but the engines (java.time) stop at ±18:00: the
        # same instant in UTC is what they get.
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("date is out of range") from None

    @model_validator(mode="after")
    def _ranges(self) -> MentionFilter:
        if (self.aspect_min is not None or self.aspect_max is not None) and not self.aspect:
            raise ValueError("aspect_min and aspect_max need aspect (staff, punctuality, helpfulness, knowledge)")
        if self.aspect_min is not None and self.aspect_max is not None and self.aspect_min > self.aspect_max:
            raise ValueError("aspect_min is greater than aspect_max")
        if self.rating_min is not None and self.rating_max is not None and self.rating_min > self.rating_max:
            raise ValueError("rating_min is greater than rating_max")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        return self


class SearchRequest(MentionFilter):
    sort: SortKey | None = Field(None, description="Default: relevance with a query, else date.")
    order: Literal["asc", "desc"] = "desc"
    size: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2000, description="next_cursor of the previous page.")

    @property
    def effective_sort(self) -> SortKey:
        return self.sort or ("relevance" if self.q else "date")


class ExportRequest(MentionFilter):
    sort: SortKey | None = Field(None, description="Default: relevance with a query, else date.")
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(10_000, ge=1, le=100_000, description="Most rows in the file.")


class StatsRequest(MentionFilter):
    interval: Literal["day", "week", "month"] = "day"
    time_zone: str = Field("UTC", max_length=64, description="IANA time zone for bucket boundaries.")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as America/Chicago") from None
        return value


class TopicTrendRequest(MentionFilter):
    days: int = Field(30, ge=1, le=366, description="Length of the current period, ending now (or at date_to).")


class ReputationRequest(MentionFilter):
    by: Literal["location", "provider"] = "location"
    half_life_days: float = Field(180, gt=0, le=3650, description="Age at which a review counts half.")
    prior_weight: float = Field(5, ge=0, le=1000, description="How many reviews' worth the prior mean counts.")


@dataclass(frozen=True)
class RatingCell:
    """Sum and count of effective ratings for one group, source and calendar month."""

    group: str
    source: str
    month: datetime
    rating_sum: float
    count: int


@dataclass(frozen=True)
class SearchHit:
    mention: dict[str, Any]
    highlights: list[str]
    score: float | None


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: list[SearchHit]
    next_cursor: str | None


@dataclass(frozen=True)
class Bucket:
    key: str
    count: int


@dataclass(frozen=True)
class TopicBucket:
    key: str
    count: int
    negative: int


@dataclass(frozen=True)
class TimeBucket:
    start: datetime
    count: int
    average_rating: float | None
    by_sentiment: dict[str, int]


OWN_PRACTICE_KEY = "_own"  # not a valid slug, so it cannot collide with a competitor's id


@dataclass(frozen=True)
class RatingBucket:
    start: datetime
    count: int
    average_rating: float | None


@dataclass(frozen=True)
class PracticeFigures:
    """One practice in the competitor comparison; ``competitor`` None is the practice itself."""

    competitor: str | None
    count: int
    average_rating: float | None
    negative: int
    histogram: list[RatingBucket]


@dataclass(frozen=True)
class Stats:
    total: int
    by_sentiment: list[Bucket]
    by_source: list[Bucket]
    by_location: list[Bucket]
    by_provider: list[Bucket]
    by_topic: list[TopicBucket]
    histogram: list[TimeBucket]
    average_rating: float | None


@dataclass
class WriteReport:
    """Outcome of an upsert: mentions written, stale replays ignored, and permanent failures."""

    written: int = 0
    stale: int = 0
    failed: dict[str, str] = field(default_factory=dict)


class InvalidCursor(ValueError):
    """A pagination cursor that was not produced by this store for this sort."""


class MentionStore(Protocol):
    def ensure_schema(self) -> None: ...

    def upsert(self, mentions: Sequence[ScoredMention]) -> WriteReport: ...

    def get(self, tenant: str, mention_id: str) -> dict[str, Any] | None: ...

    def search(self, tenant: str, request: SearchRequest) -> SearchPage: ...

    def stats(self, tenant: str, request: StatsRequest) -> Stats: ...

    def compare(self, tenant: str, request: StatsRequest) -> list[PracticeFigures]: ...

    def rating_cells(self, tenant: str, request: ReputationRequest) -> list[RatingCell]: ...

    def erase(self, tenant: str, mention_id: str) -> bool:
        """Remove the mention's content for good; False if there was no such mention."""

    def is_erased(self, tenant: str, mention_id: str) -> bool:
        """Whether the tenant's mention was erased (its marker exists)."""

    def refresh(self) -> None:
        """Make recent writes searchable now (tests and imports; the engine does it each second)."""

    def is_healthy(self) -> bool: ...
