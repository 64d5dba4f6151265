"""What an admin says about the practice: display name, website, time zone, tracked competitors.

The tenant id is a slug chosen for machines; the display name is what patients know the
practice by, and it is what the public testimonial feed and its schema.org markup show.
Competitors are named here so the comparison can label them; their reviews arrive like any
mention, tagged with the competitor's slug (``Mention.competitor``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, field_validator

from common.schema import DisplayName, Slug

MAX_COMPETITORS = 20
MAX_STAFF = 500
MAX_CONTACTS = 50

ContactDetail = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]


class Competitor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Slug = Field(description="The slug that the competitor's mentions carry in `competitor`.")
    name: DisplayName = Field(description="The competitor practice's name as patients know it.")
    website: HttpUrl | None = None


class PracticeProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName = Field(description="The practice's public name (feeds, schema.org markup).")
    website: HttpUrl | None = Field(None, description="The practice's own site.")
    time_zone: str = Field("UTC", max_length=64, description="IANA time zone the dashboard reports in by default.")
    competitors: list[Competitor] = Field(
        default_factory=list, max_length=MAX_COMPETITORS, description="Tracked competitor practices."
    )
    staff: list[DisplayName] = Field(
        default_factory=list,
        max_length=MAX_STAFF,
        description='The practice\'s own people, names and aliases ("Dr. Anika Patel", "Jake"): the PHI '
        "detector never reports them as patients' names.",
    )
    phone: str | None = Field(
        None, max_length=40, description="The office phone number that the reply guard invites reviewers to call."
    )
    contacts: list[ContactDetail] = Field(
        default_factory=list,
        max_length=MAX_CONTACTS,
        description="Other phone numbers, e-mail and web addresses the practice publishes (a billing line, a "
        "patient advocate, office@...): the reply guard treats them, and any address at the website's domain, as "
        "the practice's own rather than a patient's.",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as America/Chicago") from None
        return value

    @field_validator("competitors")
    @classmethod
    def _unique_ids(cls, value: list[Competitor]) -> list[Competitor]:
        ids = [c.id for c in value]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"competitor ids must be unique; repeated: {', '.join(repeated)}")
        return value


class PracticeProfile(PracticeProfileIn):
    """The stored profile; ``updated_at`` is None for the default of a practice never configured."""

    tenant: Slug
    updated_at: AwareDatetime | None = None

    @classmethod
    def default(cls, tenant: str) -> PracticeProfile:
        return cls(tenant=tenant, display_name=tenant)

    def competitor_name(self, competitor_id: str) -> str:
        for competitor in self.competitors:
            if competitor.id == competitor_id:
                return competitor.name
        return competitor_id

    def updated(self, change: PracticeProfileIn, now: datetime) -> PracticeProfile:
        return PracticeProfile(tenant=self.tenant, updated_at=now, **change.model_dump())
