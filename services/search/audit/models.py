"""An audit record: an action by a key on a tenant's data, with no review text in it.

What a record may hold is decided here, not by each endpoint: the route, the ids in the path,
the names of the query parameters and the values of the enumerated ones (sentiment, source...),
and the outcome.  Free-text parameters (``q``) and request bodies are never kept: a search box
is where someone types a patient's name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from common.schema import Slug
from services.search.store.base import MentionFilter

AuditAction = Literal[
    "mentions.search",
    "mentions.export",
    "mentions.view",
    "mentions.erase",
    "statistics.read",
    "testimonials.read",
    "testimonials.decide",
    "testimonials.publish",
    "testimonials.unpublish",
    "authorisations.read",
    "authorisations.record",
    "authorisations.revoke",
    "practice.update",
    "alert_rules.read",
    "alert_rules.change",
    "alerts.read",
    "alerts.update",
    "audit.read",
    "keys.read",
    "keys.create",
    "keys.revoke",
]


class AuditRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Unique id of the record.")
    at: AwareDatetime
    tenant: Slug
    actor: str = Field(description="Fingerprint of the acting API key (first 12 hex digits of its SHA-256).")
    role: Literal["viewer", "marketer", "admin"]
    action: AuditAction
    method: str
    route: str = Field(description="The route template, e.g. /v1/testimonials/<mention_id>/publish.")
    targets: list[str] = Field(default_factory=list, description="Ids from the path (mention, authorisation).")
    parameters: dict[str, list[str]] = Field(
        default_factory=dict, description="Query parameters; free-text ones show as '(given)', never their value."
    )
    detail: dict[str, str] = Field(default_factory=dict, description="E.g. the decision (approve/reject).")
    status: int = Field(description="The HTTP status of the answer.")
    request_id: str | None = None


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: list[AuditAction] = Field(default_factory=list, description="Only these actions.")
    actor: str | None = Field(None, max_length=64, description="Only this key fingerprint.")
    target: str | None = Field(None, max_length=64, description="Only records about this id.")
    date_from: AwareDatetime | None = None
    date_to: AwareDatetime | None = None
    size: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=500, description="next_cursor of the previous page.")


class AuditPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[AuditRecord] = Field(description="Newest first.")
    next_cursor: str | None


# Parameters whose values are enumerations or ids, safe to keep; anything else is "(given)".
ENUMERATED_PARAMETERS = {name for name in MentionFilter.model_fields if name not in {"q", "date_from", "date_to"}} | {
    "sort",
    "order",
    "size",
    "interval",
    "time_zone",
    "by",
    "status",
    "limit",
    "days",
    "action",
    "format",
}
