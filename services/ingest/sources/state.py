"""Cursor and status of every source, kept in a log-compacted Kafka topic.

Where and why: ``<prefix>.source-state``, keyed ``<tenant>/<source id>`` (backfills use
``<tenant>/<source id>/backfill``), value the JSON of ``SourceState``.  Compaction keeps the
latest value per key forever, so the topic is a small durable table that is replicated like the
mentions themselves and needs no second datastore.  A cursor is written only after Kafka
acknowledged the mentions of its page: a crash between the two re-fetches that page (mention
ids make the repeat harmless) and never skips one.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from common.bus import Bus, Message, Publisher

log = logging.getLogger(__name__)


def state_key(tenant: str, source_id: str, backfill: bool = False) -> str:
    return f"{tenant}/{source_id}/backfill" if backfill else f"{tenant}/{source_id}"


class SourceState(BaseModel):
    """Everything remembered about one source between runs."""

    model_config = ConfigDict(extra="ignore")

    tenant: str
    source_id: str
    type: str
    backfill: bool = False
    cursor: dict[str, Any] = Field(default_factory=dict)
    last_run_at: AwareDatetime | None = None
    last_success_at: AwareDatetime | None = None
    last_error: str | None = None
    last_error_at: AwareDatetime | None = None
    next_run_at: AwareDatetime | None = None
    items_fetched: int = Field(0, description="Mentions published from this source, all runs together.")
    last_run_items: int = 0
    consecutive_failures: int = 0
    breaker_open_until: AwareDatetime | None = None
    completed: bool = Field(False, description="Backfill only: the whole history was read.")

    @property
    def key(self) -> str:
        return state_key(self.tenant, self.source_id, self.backfill)

    def breaker_open(self, now: datetime) -> bool:
        return self.breaker_open_until is not None and now < self.breaker_open_until


class SourceStateStore:
    """Reads the whole table once, then writes through (each write acknowledged by Kafka)."""

    def __init__(self, bus: Bus, publisher: Publisher, topic: str, timeout_s: float) -> None:
        self._bus = bus
        self._publisher = publisher
        self._topic = topic
        self._timeout_s = timeout_s
        self._states: dict[str, SourceState] = {}
        self._lock = threading.Lock()

    def ensure_topic(self, partitions: int, replication: int) -> None:
        self._bus.ensure_compacted_topic(self._topic, partitions, replication)

    def load(self) -> dict[str, SourceState]:
        table = self._bus.read_table(self._topic, timeout_s=max(10.0, self._timeout_s))
        states = {}
        for key, value in table.items():
            try:
                states[key.decode("utf-8")] = SourceState.model_validate_json(value)
            except (ValidationError, UnicodeDecodeError):
                log.warning("ignoring an unreadable source-state record")
        with self._lock:
            self._states = states
        return dict(states)

    def get(self, tenant: str, source_id: str, type_: str, backfill: bool = False) -> SourceState:
        key = state_key(tenant, source_id, backfill)
        with self._lock:
            found = self._states.get(key)
        if found is not None:
            return found.model_copy(deep=True)
        return SourceState(tenant=tenant, source_id=source_id, type=type_, backfill=backfill)

    def save(self, state: SourceState) -> None:
        """Publish and wait for the acknowledgement; raises BusUnavailable otherwise."""
        message = Message(key=state.key.encode("utf-8"), value=state.model_dump_json().encode("utf-8"))
        self._publisher.publish(self._topic, [message], timeout_s=self._timeout_s)
        with self._lock:
            self._states[state.key] = state.model_copy(deep=True)


class CachedStateReader:
    """For the API: the table re-read at most every ``ttl_s`` (a read costs a broker round trip)."""

    def __init__(self, bus: Bus, topic: str, ttl_s: float = 5.0) -> None:
        self._bus = bus
        self._topic = topic
        self._ttl_s = ttl_s
        self._cached: tuple[float, dict[str, SourceState]] | None = None
        self._lock = threading.Lock()

    def states(self) -> dict[str, SourceState]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self._ttl_s:
                return self._cached[1]
        table = self._bus.read_table(self._topic, timeout_s=10.0)
        states: dict[str, SourceState] = {}
        for key, value in table.items():
            try:
                states[key.decode("utf-8")] = SourceState.model_validate_json(value)
            except (ValidationError, UnicodeDecodeError):
                continue
        with self._lock:
            self._cached = (time.monotonic(), states)
        return states
