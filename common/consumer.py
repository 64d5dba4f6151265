"""The consume-process-produce-commit loop shared by the sentiment worker and the indexer.

Modelled on Sentry's arroyo: a processing strategy turns a batch of records into output
messages (and side effects such as index writes); the loop owns the commit discipline.  Offsets
are committed only after every output of the batch was acknowledged, so a crash at any point
means the batch is processed again, never skipped.  Transient failures (broker or engine down)
are retried with capped exponential backoff on the same batch, so the consumer keeps its place.

The loop also reports what operators watch (``common.metrics.catalog``): records consumed and
produced, batch size and duration, commits, retries and the lag of every assigned partition, and
answers the worker's liveness and readiness probes from its own progress.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from common.bus import BusError, BusUnavailable, Message, Publisher, Record, Subscription
from common.metrics.catalog import (
    BATCH_LATENCY,
    BATCH_RETRIES,
    BATCH_SIZE,
    COMMITS,
    CONSUMER_LAG,
    RECORDS_CONSUMED,
    RECORDS_PRODUCED,
)

log = logging.getLogger(__name__)


class RetryableError(Exception):
    """A failure of a dependency that is expected to recover; the batch will be retried."""


class BatchProcessor(Protocol):
    def process(self, records: Sequence[Record]) -> Mapping[str, Sequence[Message]]:
        """Handle a batch; return the messages to publish per topic (dead letters included).

        Raise RetryableError when a dependency is down: the same batch comes back.
        """


def collect_batch(
    subscription: Subscription, max_records: int, max_wait_s: float, first_wait_s: float = 1.0
) -> list[Record]:
    """A dynamic micro-batch: wait for the first record, then fill for at most ``max_wait_s``."""
    records = subscription.poll(max_records, timeout_s=first_wait_s)
    deadline = time.monotonic() + max_wait_s
    while records and len(records) < max_records:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        more = subscription.poll(max_records - len(records), timeout_s=remaining)
        if not more:
            break
        records.extend(more)
    return records


def backoff_delay(attempt: int, base_s: float = 0.2, cap_s: float = 10.0) -> float:
    """Full-jitter exponential backoff (AWS architecture blog), so workers do not retry in step."""
    return random.uniform(0, min(cap_s, base_s * 2**attempt))


class BatchLoop:
    def __init__(
        self,
        *,
        name: str,
        subscription: Subscription,
        publisher: Publisher,
        processor: BatchProcessor,
        batch_size: int,
        batch_wait_s: float,
        produce_timeout_s: float,
        lag_interval_s: float = 5.0,
        ready_after_poll_s: float = 30.0,
        stall_s: float = 300.0,
    ) -> None:
        self.name = name
        self._subscription = subscription
        self._publisher = publisher
        self._processor = processor
        self._batch_size = batch_size
        self._batch_wait_s = batch_wait_s
        self._produce_timeout_s = produce_timeout_s
        self.batches_done = 0
        self.records_done = 0
        self._lag_interval_s = lag_interval_s
        self._ready_after_poll_s = ready_after_poll_s
        self._stall_s = stall_s
        self._lag_due = 0.0
        self._lag_labels: set[tuple[str, int]] = set()
        self._running = False
        self._retrying = False
        self._last_poll_ok: float | None = None
        self._step_started = time.monotonic()

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; then leave the group so partitions move on at once."""
        log.info("%s loop started", self.name)
        self._running = True
        try:
            while not stop.is_set():
                self._step_started = time.monotonic()
                self._step(stop)
                self._report_lag()
        finally:
            self._running = False
            self._clear_lag()
            self._subscription.close()
            log.info("%s loop stopped", self.name)

    # --- probes (called from the metrics server's thread) ---------------------------------------

    def liveness(self) -> tuple[bool, dict[str, object]]:
        """Alive while the loop runs and no single step (poll, batch, retries) takes ``stall_s``."""
        stalled_s = time.monotonic() - self._step_started
        return self._running and stalled_s < self._stall_s, {"worker": self.name, "step_s": round(stalled_s, 1)}

    def readiness(self) -> tuple[bool, dict[str, object]]:
        """Ready when the broker answered a poll lately and no dependency failure is being retried."""
        polled = self._last_poll_ok is not None and time.monotonic() - self._last_poll_ok < self._ready_after_poll_s
        ok = self._running and polled and not self._retrying
        return ok, {"worker": self.name, "kafka": "ok" if polled else "unreachable", "retrying": self._retrying}

    # --- the loop ---------------------------------------------------------------------------------

    def _step(self, stop: threading.Event) -> None:
        try:
            records = collect_batch(self._subscription, self._batch_size, self._batch_wait_s)
        except BusUnavailable as exc:
            log.warning("%s: poll failed (%s); retrying", self.name, exc)
            stop.wait(1.0)
            return
        self._last_poll_ok = time.monotonic()
        if not records:
            return
        started = time.perf_counter()
        if not self._process_until_done(records, stop):
            return  # stopping mid-retry: leave the batch uncommitted so it is redelivered
        try:
            self._subscription.commit(records)
            COMMITS.labels(self.name, "ok").inc()
        except BusError as exc:
            COMMITS.labels(self.name, "failed").inc()
            log.warning("%s: commit failed (%s); the batch may be redelivered", self.name, exc)
        self.batches_done += 1
        self.records_done += len(records)
        BATCH_SIZE.labels(self.name).observe(len(records))
        BATCH_LATENCY.labels(self.name).observe(time.perf_counter() - started)
        per_topic: dict[str, int] = {}
        for record in records:
            per_topic[record.topic] = per_topic.get(record.topic, 0) + 1
        for topic, count in per_topic.items():
            RECORDS_CONSUMED.labels(self.name, topic).inc(count)

    def _report_lag(self) -> None:
        """Refresh the lag gauges at most every ``lag_interval_s``; drop partitions no longer owned."""
        now = time.monotonic()
        if now < self._lag_due:
            return
        self._lag_due = now + self._lag_interval_s
        try:
            lag = self._subscription.lag()
        except BusError as exc:
            log.debug("%s: lag not available (%s)", self.name, exc)
            return
        for topic, partition in self._lag_labels - set(lag):
            CONSUMER_LAG.remove(self.name, topic, str(partition))
        for (topic, partition), behind in lag.items():
            CONSUMER_LAG.labels(self.name, topic, str(partition)).set(behind)
        self._lag_labels = set(lag)

    def _clear_lag(self) -> None:
        for topic, partition in self._lag_labels:
            CONSUMER_LAG.remove(self.name, topic, str(partition))
        self._lag_labels = set()

    def _process_until_done(self, records: Sequence[Record], stop: threading.Event) -> bool:
        attempt = 0
        while True:
            try:
                outputs = self._processor.process(records)
                for topic, messages in outputs.items():
                    self._publisher.publish(topic, messages, timeout_s=self._produce_timeout_s)
                    if messages:
                        RECORDS_PRODUCED.labels(self.name, topic).inc(len(messages))
                self._retrying = False
                return True
            except (RetryableError, BusUnavailable) as exc:
                self._retrying = True
                BATCH_RETRIES.labels(self.name).inc()
                delay = backoff_delay(attempt)
                attempt += 1
                log.warning(
                    "%s: batch of %d failed (%s); retry %d in %.1fs",
                    self.name,
                    len(records),
                    type(exc).__name__,
                    attempt,
                    delay,
                )
                if stop.wait(delay):
                    return False
