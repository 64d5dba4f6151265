"""Alert rules: what a practice wants to hear about, how urgently, and where.

A rule's conditions are all required (AND); a list condition matches when any of its values
does (OR).  Keywords match case-insensitively on word boundaries, so "HIPAA" matches "hipaa
violation" but "sue" does not match "issue".  Mentions about a tracked competitor never match
unless the rule says so, because a competitor's one-star review is not the practice's emergency.
"""

from __future__ import annotations

import re
from datetime import time
from functools import cached_property
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    field_validator,
    model_validator,
)

from common.schema import DisplayName, ScoredMention, Slug

Severity = Literal["low", "medium", "high", "critical"]
DeliveryMode = Literal["immediate", "hourly", "daily"]
ASPECTS = ("staff", "punctuality", "helpfulness", "knowledge")

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
]

_ZONES: set[str] = set()


def _check_zone(value: str) -> str:
    """Only names the zone database knows (not file paths or POSIX TZ strings)."""
    if not _ZONES:
        _ZONES.update(available_timezones())
    if value not in _ZONES:
        raise ValueError("unknown IANA time zone")
    return value


IanaZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_check_zone)]


class Conditions(BaseModel):
    """What a mention must look like to raise the rule; at least one condition is required."""

    model_config = ConfigDict(extra="forbid")

    negative_probability_min: float | None = Field(
        None, ge=0, le=1, description="The model's probability of `negative` is at least this."
    )
    stars_max: float | None = Field(None, ge=1, le=5, description="The model's estimated stars are at most this.")
    rating_max: float | None = Field(None, ge=1, le=5, description="The source's own rating is at most this.")
    topics: list[Slug] = Field(default_factory=list, max_length=20, description="Any of these topics.")
    aspects_max: dict[Literal["staff", "punctuality", "helpfulness", "knowledge"], float] = Field(
        default_factory=dict, description="Any of these aspect scores (1-5) is at most its value."
    )
    keywords: list[Keyword] = Field(
        default_factory=list,
        max_length=100,
        description="Any of these words or phrases, case-insensitive, on word boundaries.",
    )
    sources: list[Slug] = Field(default_factory=list, max_length=50, description="Only these sources.")
    locations: list[Slug] = Field(default_factory=list, max_length=200, description="Only these locations.")
    providers: list[Slug] = Field(default_factory=list, max_length=500, description="Only these providers.")
    include_competitors: bool = Field(False, description="Also raise on tracked competitors' mentions.")

    @field_validator("aspects_max")
    @classmethod
    def _aspect_range(cls, value: dict[str, float]) -> dict[str, float]:
        for name, bound in value.items():
            if not 1 <= bound <= 5:
                raise ValueError(f"aspect {name} bound must be between 1 and 5")
        return value

    @model_validator(mode="after")
    def _something(self) -> Conditions:
        if not (
            self.negative_probability_min is not None
            or self.stars_max is not None
            or self.rating_max is not None
            or self.topics
            or self.aspects_max
            or self.keywords
        ):
            raise ValueError(
                "a rule needs at least one of negative_probability_min, stars_max, rating_max, topics, "
                "aspects_max or keywords"
            )
        return self

    @cached_property
    def keyword_pattern(self) -> re.Pattern[str] | None:
        if not self.keywords:
            return None
        # \b fails next to punctuation at a phrase's edge ("c.t."), so use look-arounds on \w.
        alternatives = "|".join(re.escape(k) for k in sorted(set(self.keywords), key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


class QuietHours(BaseModel):
    """A daily window, in the practice's time zone, in which alerts wait (the end is exclusive)."""

    model_config = ConfigDict(extra="forbid")

    start: time = Field(description="Local start, HH:MM.")
    end: time = Field(description="Local end, HH:MM; before `start` means the window spans midnight.")
    time_zone: IanaZone = Field(description="IANA time zone, e.g. America/New_York.")
    bypass_severity: Severity | None = Field(
        "critical", description="Alerts of this severity or higher are sent even in quiet hours; null: none."
    )

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours start and end must differ")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: DeliveryMode = Field("immediate", description="Each alert at once, or an hourly or daily digest.")
    digest_hour: int = Field(8, ge=0, le=23, description="Local hour of the daily digest.")
    time_zone: IanaZone = Field("UTC", description="IANA time zone of the daily digest hour.")
    max_per_hour: int | None = Field(
        None, ge=1, le=1000, description="Throttle: at most this many messages an hour; the rest come as one."
    )


class SlackChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["slack"]
    url: HttpUrl = Field(description="The Slack (or compatible) incoming webhook URL; returned masked.")


class WebhookChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["webhook"]
    url: HttpUrl = Field(description="Receives a signed JSON POST; returned masked.")
    secret: str = Field(min_length=16, max_length=256, description="HMAC-SHA256 key; never returned.")


class EmailChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["email"]
    to: list[Email] = Field(min_length=1, max_length=20, description="Recipients.")


Channel = Annotated[SlackChannel | WebhookChannel | EmailChannel, Field(discriminator="type")]

Name = DisplayName  # no control characters: a name becomes an e-mail subject and a Slack title


class RuleIn(BaseModel):
    """A rule as an admin submits it (create and replace)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    enabled: bool = True
    severity: Severity = "high"
    conditions: Conditions
    quiet_hours: QuietHours | None = None
    delivery: Delivery = Field(default_factory=lambda: Delivery())  # type: ignore[call-arg]
    channels: list[Channel] = Field(min_length=1, max_length=10)

    @field_validator("channels")
    @classmethod
    def _http_urls(
        cls, value: list[SlackChannel | WebhookChannel | EmailChannel]
    ) -> list[SlackChannel | WebhookChannel | EmailChannel]:
        for channel in value:
            if isinstance(channel, SlackChannel | WebhookChannel) and channel.url.scheme not in ("http", "https"):
                raise ValueError("webhook URLs must be http or https")
        return value


SEVERITY_ORDER: dict[str, int] = {"low": 1, "medium": 2, "high": 3, "critical": 4}


def match(conditions: Conditions, mention: ScoredMention) -> list[str] | None:
    """Why ``mention`` raises a rule with ``conditions`` (one reason per condition), or None.

    The reasons are part of the alert so the recipient sees what fired, not just that it did.
    """
    s = mention.sentiment
    if mention.competitor and not conditions.include_competitors:
        return None
    if conditions.sources and mention.source not in conditions.sources:
        return None
    if conditions.locations and mention.location not in conditions.locations:
        return None
    if conditions.providers and mention.provider not in conditions.providers:
        return None
    reasons: list[str] = []
    if conditions.negative_probability_min is not None:
        p = s.probabilities.get("negative")
        if p is None or s.basis != "text" or p < conditions.negative_probability_min:
            return None
        reasons.append(f"negative probability {p:.2f} >= {conditions.negative_probability_min:g}")
    if conditions.stars_max is not None:
        if s.stars is None or s.stars > conditions.stars_max:
            return None
        reasons.append(f"estimated stars {s.stars:.1f} <= {conditions.stars_max:g}")
    if conditions.rating_max is not None:
        if mention.rating is None or mention.rating > conditions.rating_max:
            return None
        reasons.append(f"rating {mention.rating:g} <= {conditions.rating_max:g}")
    if conditions.topics:
        hit = [t for t in conditions.topics if t in s.topics]
        if not hit:
            return None
        reasons.append("topics: " + ", ".join(hit))
    if conditions.aspects_max:
        low = [a for a, bound in conditions.aspects_max.items() if a in s.aspects and s.aspects[a] <= bound]
        if not low:
            return None
        reasons.append("aspects: " + ", ".join(f"{a} {s.aspects[a]:.1f}" for a in low))
    pattern = conditions.keyword_pattern
    if pattern is not None:
        found = sorted({m.group(0).lower() for m in pattern.finditer(mention.text)})
        if not found:
            return None
        reasons.append("keywords: " + ", ".join(found))
    return reasons
