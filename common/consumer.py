"""The consume-process-produce-commit loop shared by the sentiment worker and the indexer.

Modelled on Sentry's arroyo: a processing strategy turns a batch of records into output
messages (and side effects such as index writes); the loop owns the commit discipline.  Offsets
are committed only after every output of the batch was acknowledged, so a crash at any point
means the batch is processed again, never skipped.  Transient failures (broker or engine down)
are retried with capped exponential backoff on the same batch, so the consumer keeps its place.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from common.bus import BusError, BusUnavailable, Message, Publisher, Record, Subscription

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

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; then leave the group so partitions move on at once."""
        log.info("%s loop started", self.name)
        try:
            while not stop.is_set():
                self._step(stop)
        finally:
            self._subscription.close()
            log.info("%s loop stopped", self.name)

    def _step(self, stop: threading.Event) -> None:
        try:
            records = collect_batch(self._subscription, self._batch_size, self._batch_wait_s)
        except BusUnavailable as exc:
            log.warning("%s: poll failed (%s); retrying", self.name, exc)
            stop.wait(1.0)
            return
        if not records:
            return
        if not self._process_until_done(records, stop):
            return  # stopping mid-retry: leave the batch uncommitted so it is redelivered
        try:
            self._subscription.commit(records)
        except BusError as exc:
            log.warning("%s: commit failed (%s); the batch may be redelivered", self.name, exc)
        self.batches_done += 1
        self.records_done += len(records)

    def _process_until_done(self, records: Sequence[Record], stop: threading.Event) -> bool:
        attempt = 0
        while True:
            try:
                outputs = self._processor.process(records)
                for topic, messages in outputs.items():
                    self._publisher.publish(topic, messages, timeout_s=self._produce_timeout_s)
                return True
            except (RetryableError, BusUnavailable) as exc:
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
