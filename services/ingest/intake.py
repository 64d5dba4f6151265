"""Turning a submitted payload into mentions on the raw topic.

Kept apart from Flask so the same rules apply to every way a mention arrives (the HTTP API,
imports, and later the connectors): validate everything first, publish only a fully valid
batch, and report each bad field by position so a client can fix its payload in one go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from common.bus import Message, Publisher
from common.schema import Mention, MentionIn


@dataclass
class IntakeProblem:
    field: str
    problem: str
    type: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem, "type": self.type}


@dataclass
class ParsedBatch:
    mentions: list[Mention] = field(default_factory=list)
    problems: list[IntakeProblem] = field(default_factory=list)
    foreign_tenant_items: list[int] = field(default_factory=list)


def split_payload(payload: Any) -> tuple[list[Any], str]:
    """Accept one mention object, ``{"mentions": [...]}``, or a bare list.

    Returns the items and the field-path prefix used in error messages.
    """
    if isinstance(payload, list):
        return payload, "mentions"
    if isinstance(payload, dict) and set(payload) == {"mentions"}:
        items = payload["mentions"]
        if not isinstance(items, list):
            raise TypeError("'mentions' must be a list of mention objects")
        return items, "mentions"
    if isinstance(payload, dict):
        return [payload], ""
    raise TypeError('the body must be a mention object, a list of them, or {"mentions": [...]}')


def parse_mentions(
    items: Sequence[Any], *, tenant: str, prefix: str, max_text_chars: int, now: datetime | None = None
) -> ParsedBatch:
    now = now or datetime.now(UTC)
    batch = ParsedBatch()
    for position, item in enumerate(items):
        where = f"{prefix}[{position}]" if prefix else ""
        try:
            submitted = MentionIn.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors(include_input=False, include_url=False):
                path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
                batch.problems.append(IntakeProblem(f"{where}{path}".lstrip(".") or "(body)", err["msg"], err["type"]))
            continue
        if len(submitted.text) > max_text_chars:
            batch.problems.append(
                IntakeProblem(f"{where}.text".lstrip("."), f"longer than {max_text_chars} characters", "too_long")
            )
            continue
        if submitted.tenant is not None and submitted.tenant != tenant:
            batch.foreign_tenant_items.append(position)
            continue
        batch.mentions.append(Mention.from_submission(submitted, tenant=tenant, now=now))
    return batch


def deduplicate(mentions: Sequence[Mention]) -> tuple[list[Mention], int]:
    """Collapse repeats of one id inside a batch, keeping the last (the freshest edit)."""
    latest: dict[str, Mention] = {}
    for mention in mentions:
        latest.pop(mention.id, None)
        latest[mention.id] = mention
    return list(latest.values()), len(mentions) - len(latest)


def publish_mentions(publisher: Publisher, topic: str, mentions: Sequence[Mention], timeout_s: float) -> None:
    """Publish keyed by tenant, so one practice's mentions stay in order on one partition."""
    messages = [Message(key=m.tenant.encode("utf-8"), value=m.model_dump_json().encode("utf-8")) for m in mentions]
    publisher.publish(topic, messages, timeout_s=timeout_s)
