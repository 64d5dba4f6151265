"""The message an alert (or a digest of alerts) becomes, and its rendering per channel.

A message names the source, rating, a redacted excerpt, the link and the model's reasons; it
never carries the author's name or contact details (the alert record does not have them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from services.alerts.models import AlertRecord

MAX_ITEMS_SHOWN = 20  # Slack allows 50 blocks; a digest lists the first ones and counts the rest


@dataclass(frozen=True)
class AlertMessage:
    """One delivery: a single alert, a digest, or a throttling roll-up of one rule's alerts."""

    key: str  # the idempotency key: the same message always carries the same key
    kind: str  # "single", "digest" or "rollup"
    tenant: str
    rule_id: str
    rule_name: str
    severity: str
    alerts: list[AlertRecord] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.kind == "single":
            alert = self.alerts[0]
            rating = f" ({alert.mention.rating:g}★)" if alert.mention.rating is not None else ""
            return f"[{self.severity}] {self.rule_name}: {alert.mention.source} {alert.mention.kind}{rating}"
        what = "digest" if self.kind == "digest" else "more alerts (throttled)"
        return f"[{self.severity}] {self.rule_name}: {len(self.alerts)} {what}"

    def payload(self) -> dict[str, Any]:
        """The generic webhook's JSON body."""
        return {
            "type": self.kind,
            "idempotency_key": self.key,
            "tenant": self.tenant,
            "rule": {"id": self.rule_id, "name": self.rule_name},
            "severity": self.severity,
            "alerts": [
                {
                    "id": a.id,
                    "mention_id": a.mention_id,
                    "created_at": a.created_at.isoformat(),
                    "reasons": a.reasons,
                    **a.mention.model_dump(mode="json"),
                }
                for a in self.alerts
            ],
        }

    def body_bytes(self) -> bytes:
        return json.dumps(self.payload(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _line(alert: AlertRecord) -> str:
    m = alert.mention
    parts = [m.source]
    if m.rating is not None:
        parts.append(f"rating {m.rating:g}/5")
    if m.label:
        probability = f" p={m.negative_probability:.2f}" if m.negative_probability is not None else ""
        parts.append(f"model: {m.label}{probability}")
    if m.topics:
        parts.append("topics: " + ", ".join(m.topics))
    if m.location:
        parts.append(f"location: {m.location}")
    return " · ".join(parts)


def slack_blocks(message: AlertMessage) -> dict[str, Any]:
    """A Block Kit message (``text`` is the notification fallback)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
    ]
    for alert in message.alerts[:MAX_ITEMS_SHOWN]:
        link = f"\n<{alert.mention.url}|Open the review>" if alert.mention.url else ""
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_line(alert)}*\n>{alert.mention.excerpt}{link}"}}
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "; ".join(alert.reasons)[:300]}]})
    if len(message.alerts) > MAX_ITEMS_SHOWN:
        rest = len(message.alerts) - MAX_ITEMS_SHOWN
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {rest} more"}]})
    return {"text": message.title, "blocks": blocks}


def email_text(message: AlertMessage) -> str:
    lines = [message.title, ""]
    for alert in message.alerts:
        lines += [_line(alert), f"  {alert.mention.excerpt}"]
        if alert.mention.url:
            lines.append(f"  {alert.mention.url}")
        lines += [f"  why: {'; '.join(alert.reasons)}", ""]
    return "\n".join(lines)
