"""Entry points of the child processes that tests/test_bus_embedded.py starts (spawned, not forked,
so each child opens its own SQLite connections as a separate service process would)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from common.bus import Message, Record
from common.bus.sqlite import SqliteBus
from common.consumer import BatchLoop


def produce(path: str, topic: str, name: str, count: int, batch: int) -> None:
    """Publish ``count`` messages keyed by ``name``, values numbered so order can be checked."""
    bus = SqliteBus(Path(path), client_id=f"producer-{name}")
    publisher = bus.publisher()
    for start in range(0, count, batch):
        messages = [
            Message(key=f"{name}-{i % 5}".encode(), value=f"{name}:{i}".encode())
            for i in range(start, min(count, start + batch))
        ]
        publisher.publish(topic, messages, timeout_s=30)
    publisher.close()


class SlowForwarder:
    """Forwards every record to ``output``, slowly, so a kill lands in the middle of a batch."""

    def __init__(self, output: str, delay_s: float) -> None:
        self.output = output
        self.delay_s = delay_s

    def process(self, records: Sequence[Record]) -> Mapping[str, Sequence[Message]]:
        time.sleep(self.delay_s)
        return {self.output: [Message(key=r.key, value=r.value) for r in records]}


def forward(path: str, source: str, output: str, group: str, session_timeout_s: float, delay_s: float) -> None:
    """A worker process: the same BatchLoop the services run, until it is killed."""
    bus = SqliteBus(Path(path), client_id="forwarder", session_timeout_s=session_timeout_s)
    loop = BatchLoop(
        name="forwarder",
        subscription=bus.subscribe([source], group),
        publisher=bus.publisher(),
        processor=SlowForwarder(output, delay_s),
        batch_size=20,
        batch_wait_s=0.05,
        produce_timeout_s=30,
    )
    loop.run(threading.Event())
