"""Dead letters: what cannot be processed is parked with its reason, never dropped."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from common.bus import Message, Record
from common.metrics.catalog import DEAD_LETTERS
from common.schema import DeadLetter


def dead_letter(record: Record, *, reason: str, stage: str) -> Message:
    """The dead-letter message for ``record``; counted by ``stage`` (the free-text reason is not a label)."""
    DEAD_LETTERS.labels(stage).inc()
    try:
        value, encoding = record.value.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        value, encoding = base64.b64encode(record.value).decode("ascii"), "base64"
    letter = DeadLetter(
        reason=reason[:2000],
        stage=stage,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode("utf-8", "replace") if record.key is not None else None,
        value=value,
        value_encoding=encoding,  # type: ignore[arg-type]
        failed_at=datetime.now(UTC),
    )
    return Message(key=record.key, value=letter.model_dump_json().encode("utf-8"))
