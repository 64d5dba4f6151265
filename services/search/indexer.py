"""The indexer's processing strategy: scored mentions in, documents in the store.

Writes are idempotent, so the at-least-once loop can replay a batch freely.  A record that the
store rejects for its content (a mapping conflict) is dead-lettered; an engine that is down or
overloaded makes the whole batch retry, keeping the consumer's place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from common.bus import Bus, Message, Record
from common.bus.factory import connect_bus
from common.bus.provisioning import TopicProvisioner
from common.consumer import BatchLoop, RetryableError
from common.deadletter import dead_letter
from common.logging import configure_logging
from common.metrics.catalog import INDEX_BULK_LATENCY, INDEX_ERRORS
from common.records import DecodeError, decode_record, describe_error
from common.runner import run_worker, with_dependency
from common.schema import ScoredMention
from common.settings import Settings, Topics
from services.search.store.base import MentionStore, StoreUnavailable

log = logging.getLogger(__name__)


class IndexingProcessor:
    def __init__(self, store: MentionStore, topics: Topics) -> None:
        self._store = store
        self._topics = topics

    def process(self, records: Sequence[Record]) -> Mapping[str, Sequence[Message]]:
        dead: list[Message] = []
        latest: dict[str, tuple[Record, ScoredMention]] = {}
        for record in records:
            try:
                mention = decode_record(record, ScoredMention)
            except DecodeError as exc:
                dead.append(dead_letter(record, reason=describe_error(exc), stage="indexer.decode"))
                continue
            latest[mention.id] = (record, mention)  # a batch may carry several edits of one id
        try:
            with INDEX_BULK_LATENCY.time():
                report = self._store.upsert([m for _, m in latest.values()])
        except StoreUnavailable as exc:
            INDEX_ERRORS.labels("unavailable").inc()
            raise RetryableError(str(exc)) from exc
        if report.failed:
            INDEX_ERRORS.labels("rejected").inc(len(report.failed))
        for mention_id, reason in report.failed.items():
            record = latest[mention_id][0]
            dead.append(dead_letter(record, reason=f"rejected by the store: {reason}", stage="indexer.write"))
        if dead:
            log.warning("dead-lettered %d record(s)", len(dead))
        log.debug("indexed batch", extra={"written": report.written, "stale": report.stale})
        return {self._topics.dead_letter: dead}


def build_loop(settings: Settings, bus: Bus, store: MentionStore) -> BatchLoop:
    TopicProvisioner(bus, settings).ensure()
    return BatchLoop(
        name="indexer",
        subscription=bus.subscribe([settings.topics.scored], settings.indexer_consumer_group),
        publisher=bus.publisher(),
        processor=IndexingProcessor(store, settings.topics),
        batch_size=settings.indexer_batch_size,
        batch_wait_s=settings.indexer_batch_wait_ms / 1000,
        produce_timeout_s=settings.produce_timeout_s,
    )


def main() -> None:
    """``python -m services.search.indexer``: a member of the ``RADAR_INDEXER_GROUP`` group."""
    from services.search.app import build_store

    settings = Settings()
    configure_logging("indexer", settings.log_level)
    store = build_store(settings)
    while True:
        try:
            store.ensure_schema()
            break
        except StoreUnavailable:
            log.warning("search engine not reachable yet; retrying in 5 s")
            time.sleep(5)
    bus = connect_bus(settings, client_id="radar-indexer")
    loop = build_loop(settings, bus, store)
    run_worker(loop, settings, ready=with_dependency(loop.readiness, "search_engine", store.is_healthy))


if __name__ == "__main__":
    main()
