"""Stored records (rules, alerts), the delivery job on the bus, and the API's views of them.

An alert keeps a redacted excerpt and the model's reasons, never the author's name or contact
details, so the history can be shown and delivered without handling more health information
than the alert needs.  Delivery state lives in the alert record itself (``delivery_state``,
``due_at``...) so a dispatcher restart neither loses a held-back alert nor sends one twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.alerts.rules import RuleIn, Severity, SlackChannel, WebhookChannel

AlertState = Literal["open", "acknowledged", "resolved"]
Outcome = Literal["replied_online", "contacted_offline", "no_follow_up"]
DeliveryState = Literal["pending", "held", "sending", "delivered", "failed", "cancelled"]
DeliveredAs = Literal["single", "digest", "rollup"]


class RuleRecord(RuleIn):
    """A rule as stored: the submission plus its identity and audit fields."""

    id: str
    tenant: str
    created_at: AwareDatetime
    created_by: str
    updated_at: AwareDatetime
    updated_by: str


def mask_url(url: str) -> str:
    """Scheme and host only, plus the path's last four characters: enough to recognise a target."""
    parts = urlsplit(url)
    tail = parts.path[-4:] if len(parts.path) > 8 else ""
    return f"{parts.scheme}://{parts.hostname or ''}/…{tail}"


class MaskedChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["slack", "webhook", "email"]
    url: str | None = Field(None, description="Masked: scheme, host and the last characters of the path.")
    has_secret: bool | None = Field(None, description="Webhooks: whether a signing secret is stored (never shown).")
    to: list[str] | None = Field(None, description="E-mail recipients.")


class RuleView(BaseModel):
    """A rule as the API shows it: webhook URLs masked, secrets omitted."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    enabled: bool
    severity: Severity
    conditions: dict[str, Any]
    quiet_hours: dict[str, Any] | None
    delivery: dict[str, Any]
    channels: list[MaskedChannel]
    created_at: AwareDatetime
    created_by: str
    updated_at: AwareDatetime
    updated_by: str

    @classmethod
    def of(cls, rule: RuleRecord) -> dict[str, Any]:
        channels = []
        for channel in rule.channels:
            if isinstance(channel, SlackChannel):
                channels.append(MaskedChannel(type="slack", url=mask_url(str(channel.url))))
            elif isinstance(channel, WebhookChannel):
                channels.append(MaskedChannel(type="webhook", url=mask_url(str(channel.url)), has_secret=True))
            else:
                channels.append(MaskedChannel(type="email", to=list(channel.to)))
        view = cls(
            id=rule.id,
            name=rule.name,
            enabled=rule.enabled,
            severity=rule.severity,
            conditions=rule.conditions.model_dump(mode="json"),
            quiet_hours=rule.quiet_hours.model_dump(mode="json") if rule.quiet_hours else None,
            delivery=rule.delivery.model_dump(mode="json"),
            channels=channels,
            created_at=rule.created_at,
            created_by=rule.created_by,
            updated_at=rule.updated_at,
            updated_by=rule.updated_by,
        )
        return view.model_dump(mode="json", exclude_none=False)


class RuleList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[RuleView]


class AlertMention(BaseModel):
    """What an alert says about its mention: no author, a redacted and shortened excerpt."""

    model_config = ConfigDict(extra="forbid")

    source: str
    kind: str
    rating: float | None
    url: str | None
    location: str | None
    provider: str | None
    published_at: AwareDatetime | None
    excerpt: str
    label: str | None
    negative_probability: float | None
    stars: float | None
    topics: list[str]


class AlertRecord(BaseModel):
    """One rule raised by one mention (id ``<tenant>.<rule id>.<mention id>``)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    tenant: str
    rule_id: str
    rule_name: str
    mention_id: str
    severity: Severity
    created_at: AwareDatetime
    reasons: list[str]
    mention: AlertMention
    state: AlertState = "open"
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    resolved_at: AwareDatetime | None = None
    resolved_by: str | None = None
    outcome: Outcome | None = None
    outcome_note: str | None = None
    outcome_at: AwareDatetime | None = None
    outcome_by: str | None = None
    responded_at: AwareDatetime | None = Field(None, description="The first acknowledgement, outcome or resolution.")
    response_s: float | None = Field(None, description="Seconds from the alert to its first response.")
    delivery_state: DeliveryState = "pending"
    due_at: AwareDatetime | None = None
    claimed_until: AwareDatetime | None = None
    delivered_at: AwareDatetime | None = None
    delivered_as: DeliveredAs | None = None
    message_key: str | None = None
    delivery_error: str | None = None

    def respond(self, now: datetime) -> None:
        if self.responded_at is None:
            self.responded_at = now
            self.response_s = max(0.0, (now - self.created_at).total_seconds())


class AlertView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    rule_id: str
    rule_name: str
    mention_id: str
    severity: Severity
    created_at: AwareDatetime
    reasons: list[str]
    mention: AlertMention
    state: AlertState
    acknowledged_at: AwareDatetime | None
    acknowledged_by: str | None
    resolved_at: AwareDatetime | None
    resolved_by: str | None
    outcome: Outcome | None
    outcome_note: str | None
    outcome_at: AwareDatetime | None
    outcome_by: str | None
    response_s: float | None
    delivery_state: DeliveryState
    delivered_at: AwareDatetime | None
    delivered_as: DeliveredAs | None

    @classmethod
    def of(cls, record: AlertRecord) -> dict[str, Any]:
        fields = record.model_dump()
        return cls.model_validate({k: fields[k] for k in cls.model_fields}).model_dump(mode="json")


class AlertList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[AlertView]


class AlertJob(BaseModel):
    """The message on ``<prefix>.alerts``: which alert to deliver (its content is in the store)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    alert_id: str
    tenant: str
    rule_id: str


class AlertQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: AlertState | None = None
    severity: Severity | None = None
    rule: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] | None = Field(None, description="A rule id.")
    date_from: AwareDatetime | None = Field(None, description="Raised at or after.")
    date_to: AwareDatetime | None = Field(None, description="Raised at or before.")
    size: int = Field(50, ge=1, le=500)

    @field_validator("date_from", "date_to")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        # The engines take offsets up to +-18:00 only; Python allows +-23:59.  Send UTC.
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("date out of range") from None


class SummaryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(30, ge=1, le=365, description="Period of the response-time figures, ending now.")


class OutcomeIn(BaseModel):
    """How the practice closed the loop with the reviewer."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: str | None = Field(None, max_length=2000, description="Free text for the team; keep health details out.")
    resolve: bool = Field(True, description="Also resolve the alert.")


class Summary(BaseModel):
    """Figures for the dashboard."""

    model_config = ConfigDict(extra="forbid")

    open: int = Field(ge=0, description="Alerts not yet resolved.")
    open_negative: int = Field(ge=0, description="Unresolved alerts whose mention the model read as negative.")
    unacknowledged: int = Field(ge=0, description="Open alerts nobody has acknowledged.")
    by_severity: dict[str, int] = Field(description="Unresolved alerts per severity.")
    period_days: int
    raised: int = Field(ge=0, description="Alerts raised in the period.")
    responded: int = Field(ge=0, description="Alerts of the period with a response.")
    response_median_s: float | None = Field(description="Median seconds to the first response in the period.")
    response_p90_s: float | None = Field(description="90th percentile of the seconds to the first response.")
    outcomes: dict[str, int] = Field(description="Closing-the-loop outcomes recorded in the period.")
