"""The message bus as the services see it.

Two operations matter and both are explicit about durability: ``Publisher.publish`` returns only
after the broker acknowledged every message (or raises), and ``Subscription.commit`` is called
by the consumer only after its own output was acknowledged.  That pair is what makes the
pipeline at-least-once; idempotent writes downstream (stable ids) make it effectively-once.
A second implementation (an embedded bus) only has to honour these two promises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class BusError(Exception):
    """Base of every bus failure the services handle."""


class BusUnavailable(BusError):
    """The broker could not be reached or did not acknowledge in time; nothing was accepted."""


@dataclass(frozen=True, slots=True)
class Message:
    """Something to publish: the key decides the partition and so the ordering domain."""

    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Record:
    """Something consumed, with its position so it can be committed or dead-lettered."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int


class Publisher(Protocol):
    def publish(self, topic: str, messages: Sequence[Message], timeout_s: float) -> None:
        """Send and wait until every message is acknowledged; raise BusUnavailable otherwise."""

    def close(self) -> None: ...


class Subscription(Protocol):
    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Return up to ``max_records`` records, waiting at most ``timeout_s`` for the first."""

    def commit(self, records: Sequence[Record]) -> None:
        """Mark these records (and everything before them per partition) as processed."""

    def lag(self) -> dict[tuple[str, int], int]:
        """Records not yet consumed per assigned (topic, partition): the end offset minus the position.

        Called from the consuming thread only (a Kafka consumer is not thread-safe), for the
        ``radar_consumer_lag`` gauge; a partition whose end is unknown right now may be left out.
        Raises BusUnavailable when the broker cannot say.
        """

    def close(self) -> None: ...


class Bus(Protocol):
    def ensure_topics(self, names: Sequence[str], partitions: int, replication: int) -> None:
        """Create missing topics; existing ones are left as they are."""

    def publisher(self) -> Publisher: ...

    def subscribe(self, topics: Sequence[str], group: str) -> Subscription: ...

    def is_healthy(self, timeout_s: float = 2.0) -> bool:
        """Whether the broker answers a metadata request now (for readiness probes)."""

    def ensure_compacted_topic(self, name: str, partitions: int, replication: int) -> None:
        """Create a log-compacted topic if missing: the broker keeps at least the latest value per key.

        Used for small durable tables (source cursors and status) that must live as long and as
        replicated as the data itself, without a second datastore.
        """

    def read_table(self, topic: str, timeout_s: float = 10.0) -> dict[bytes, bytes]:
        """Read ``topic`` from the beginning to its current end: the latest value per key.

        A record with an empty value is a tombstone and removes its key.  Raises BusUnavailable
        when the end cannot be reached in ``timeout_s`` (a partial table would roll cursors back).
        """
