"""Commit discipline of the bus and the batch loop, against both buses (real Kafka and embedded)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping, Sequence

from common.bus import Bus, Message, Record
from common.bus.kafka import KafkaBus
from common.consumer import BatchLoop, RetryableError


def fresh_topic(bus: Bus, partitions: int = 3) -> str:
    name = f"test-bus-{uuid.uuid4().hex[:8]}"
    bus.ensure_topics([name], partitions=partitions, replication=1)
    return name


def quiet_s(bus: Bus) -> float:
    """How long to wait before concluding nothing more comes: Kafka's group join takes ~3 s."""
    return 8.0 if isinstance(bus, KafkaBus) else 1.5


def drain(bus: Bus, topic: str, group: str, expected: int, commit: bool, timeout_s: float = 30) -> list[Record]:
    """Read until ``expected`` records arrived or ``timeout_s`` passed (joining a group takes ~3 s)."""
    subscription = bus.subscribe([topic], group)
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < expected and time.monotonic() < deadline:
            records.extend(subscription.poll(100, timeout_s=min(1.0, max(0.01, deadline - time.monotonic()))))
        if commit:
            subscription.commit(records)
    finally:
        subscription.close()
    return records


def test_uncommitted_records_are_redelivered_committed_ones_are_not(any_bus: Bus) -> None:
    bus = any_bus
    topic = fresh_topic(bus)
    bus.publisher().publish(topic, [Message(key=b"k", value=f"m{i}".encode()) for i in range(10)], timeout_s=10)
    group = f"g-{uuid.uuid4().hex[:6]}"
    first = drain(bus, topic, group, expected=10, commit=False)
    again = drain(bus, topic, group, expected=10, commit=True)
    after_commit = drain(bus, topic, group, expected=1, commit=False, timeout_s=quiet_s(bus))
    assert len(first) == len(again) == 10
    assert after_commit == []


def test_one_key_keeps_its_order(any_bus: Bus) -> None:
    bus = any_bus
    topic = fresh_topic(bus)
    bus.publisher().publish(topic, [Message(key=b"practice-a", value=str(i).encode()) for i in range(50)], timeout_s=10)
    records = drain(bus, topic, f"g-{uuid.uuid4().hex[:6]}", expected=50, commit=False)
    assert {r.partition for r in records} == {records[0].partition}
    assert [int(r.value) for r in records] == list(range(50))


def test_keyless_messages_spread_and_all_arrive(any_bus: Bus) -> None:
    bus = any_bus
    topic = fresh_topic(bus)
    bus.publisher().publish(topic, [Message(key=None, value=f"n{i}".encode()) for i in range(30)], timeout_s=10)
    records = drain(bus, topic, f"g-{uuid.uuid4().hex[:6]}", expected=30, commit=False)
    assert sorted(r.value for r in records) == sorted(f"n{i}".encode() for i in range(30))
    assert all(r.key is None and r.timestamp_ms > 0 for r in records)


class FlakyProcessor:
    """Fails twice the way a dead dependency does, then forwards records to an output topic."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.failures_left = 2
        self.calls = 0

    def process(self, records: Sequence[Record]) -> Mapping[str, Sequence[Message]]:
        self.calls += 1
        if self.failures_left:
            self.failures_left -= 1
            raise RetryableError("dependency down")
        return {self.output: [Message(key=r.key, value=r.value) for r in records]}


def run_loop(
    bus: Bus, source: str, group: str, processor: object
) -> tuple[BatchLoop, threading.Event, threading.Thread]:
    loop = BatchLoop(
        name="test",
        subscription=bus.subscribe([source], group),
        publisher=bus.publisher(),
        processor=processor,  # type: ignore[arg-type]
        batch_size=100,
        batch_wait_s=0.5,
        produce_timeout_s=10,
    )
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    return loop, stop, thread


def test_loop_retries_the_same_batch_and_commits_only_after_output(any_bus: Bus) -> None:
    bus = any_bus
    source, output = fresh_topic(bus), fresh_topic(bus)
    bus.publisher().publish(source, [Message(key=b"k", value=f"v{i}".encode()) for i in range(5)], timeout_s=10)
    group = f"loop-{uuid.uuid4().hex[:6]}"
    processor = FlakyProcessor(output)
    loop, stop, thread = run_loop(bus, source, group, processor)
    forwarded = drain(bus, output, f"check-{uuid.uuid4().hex[:6]}", expected=5, commit=False)
    stop.set()
    thread.join(timeout=30)
    assert sorted(r.value for r in forwarded) == [f"v{i}".encode() for i in range(5)]
    assert processor.calls >= 3 and loop.records_done == 5
    assert drain(bus, source, group, expected=1, commit=False, timeout_s=quiet_s(bus)) == [], (
        "the batch was committed once processed"
    )


class DeadLetteringProcessor:
    """Forwards good records and dead-letters the ones it cannot parse, as the workers do."""

    def __init__(self, output: str, dead_letter: str) -> None:
        self.output = output
        self.dead_letter = dead_letter

    def process(self, records: Sequence[Record]) -> Mapping[str, Sequence[Message]]:
        good = [Message(key=r.key, value=r.value) for r in records if not r.value.startswith(b"bad")]
        bad = [Message(key=r.key, value=r.value) for r in records if r.value.startswith(b"bad")]
        return {self.output: good, self.dead_letter: bad}


def test_loop_sends_unprocessable_records_to_the_dead_letter_topic(any_bus: Bus) -> None:
    bus = any_bus
    source, output, dead = fresh_topic(bus), fresh_topic(bus), fresh_topic(bus)
    values = [b"ok-1", b"bad-1", b"ok-2", b"bad-2", b"ok-3"]
    bus.publisher().publish(source, [Message(key=b"k", value=v) for v in values], timeout_s=10)
    group = f"dl-{uuid.uuid4().hex[:6]}"
    loop, stop, thread = run_loop(bus, source, group, DeadLetteringProcessor(output, dead))
    forwarded = drain(bus, output, f"check-{uuid.uuid4().hex[:6]}", expected=3, commit=False)
    dead_letters = drain(bus, dead, f"check-{uuid.uuid4().hex[:6]}", expected=2, commit=False)
    stop.set()
    thread.join(timeout=30)
    assert [r.value for r in forwarded] == [b"ok-1", b"ok-2", b"ok-3"]
    assert [r.value for r in dead_letters] == [b"bad-1", b"bad-2"]
    assert loop.records_done == 5


def test_read_table_gives_the_latest_value_per_key_and_tombstones_remove_keys(any_bus: Bus) -> None:
    bus = any_bus
    topic = f"test-table-{uuid.uuid4().hex[:8]}"
    bus.ensure_compacted_topic(topic, partitions=1, replication=1)
    bus.ensure_compacted_topic(topic, partitions=1, replication=1)  # idempotent
    publisher = bus.publisher()
    publisher.publish(topic, [Message(b"a", b"1"), Message(b"b", b"1"), Message(b"c", b"1")], timeout_s=10)
    publisher.publish(topic, [Message(b"a", b"2"), Message(b"b", b"")], timeout_s=10)
    assert bus.read_table(topic) == {b"a": b"2", b"c": b"1"}
    assert bus.read_table(f"{topic}-missing") == {}
    assert bus.is_healthy()
