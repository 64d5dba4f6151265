"""Worker probes from the loop's own progress, without a broker: fakes stand in for the bus."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

from common.bus import BusUnavailable, Message, Record
from common.consumer import BatchLoop, RetryableError
from common.runner import with_dependency


class FlakySubscription:
    def __init__(self) -> None:
        self.up = True

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        if not self.up:
            raise BusUnavailable("broker down")
        time.sleep(0.01)
        return []

    def commit(self, records: Sequence[Record]) -> None:
        pass

    def lag(self) -> dict[tuple[str, int], int]:
        return {("t", 0): 0}

    def close(self) -> None:
        pass


class NullPublisher:
    def publish(self, topic: str, messages: Sequence[Message], timeout_s: float) -> None:
        pass

    def close(self) -> None:
        pass


class NoWork:
    def process(self, records: Sequence[Record]) -> Mapping[str, Sequence[Message]]:
        raise RetryableError("never called")


def loop_with(subscription: FlakySubscription) -> BatchLoop:
    return BatchLoop(
        name="probe-test",
        subscription=subscription,
        publisher=NullPublisher(),
        processor=NoWork(),
        batch_size=1,
        batch_wait_s=0,
        produce_timeout_s=1,
        ready_after_poll_s=0.5,
    )


def test_a_worker_is_ready_after_polling_and_not_ready_once_the_broker_stops_answering() -> None:
    subscription = FlakySubscription()
    loop = loop_with(subscription)
    assert loop.readiness()[0] is False  # not started
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not loop.readiness()[0]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert loop.liveness()[0] is True
        subscription.up = False
        deadline = time.monotonic() + 5
        while loop.readiness()[0]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        _ok, details = loop.readiness()
        assert details["kafka"] == "unreachable"
        assert loop.liveness()[0] is True  # alive: it keeps retrying the poll
    finally:
        stop.set()
        thread.join(timeout=5)
    assert loop.liveness()[0] is False  # stopped


def test_a_dependency_check_is_part_of_readiness() -> None:
    healthy = {"engine": True}
    probe = with_dependency(lambda: (True, {"worker": "w"}), "search_engine", lambda: healthy["engine"])
    assert probe() == (True, {"worker": "w", "search_engine": "ok"})
    healthy["engine"] = False
    assert probe() == (False, {"worker": "w", "search_engine": "unreachable"})
