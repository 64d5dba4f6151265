"""The search engine stops for 30 s while mentions flow: the indexer waits and loses nothing.

The indexer runs on its own topics against the real Elasticsearch, which ``deploy/local/stack.sh``
stops and starts again; mentions keep arriving on the scored topic the whole time.  Afterwards
every mention is indexed exactly once and the indexer has not skipped or dead-lettered any.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from common.bus import Message
from common.bus.kafka import KafkaBus
from common.schema import Mention, MentionIn, ScoredMention, SentimentResult
from common.settings import Settings
from services.search.indexer import build_loop as build_indexer_loop
from services.search.store.base import SearchRequest, StoreUnavailable
from services.search.store.engines import connect
from services.search.store.indexed import EngineMentionStore
from tests.conftest import ENGINE_URLS, STACK

pytestmark = pytest.mark.disruptive

TENANT = "engine-outage"
OUTAGE_S = 30


def scored(i: int) -> ScoredMention:
    mention = Mention.from_submission(
        MentionIn(source="google", external_id=f"outage-{i}", text=f"Review {i}: quick and kind.", rating=5),
        tenant=TENANT,
    )
    return ScoredMention(
        **mention.model_dump(),
        sentiment=SentimentResult(
            label="positive",
            probabilities={"positive": 0.9, "neutral": 0.05, "negative": 0.05},
            model="fixture",
            model_version="0",
        ),
        scored_at=datetime.now(UTC),
    )


@pytest.fixture
def isolated(settings: Settings) -> Iterator[tuple[Settings, KafkaBus, EngineMentionStore]]:
    run = uuid.uuid4().hex[:8]
    own = settings.model_copy(update={"topic_prefix": f"es-outage-{run}", "index_alias": f"es-outage-{run}-mentions"})
    bus = KafkaBus(own.kafka_servers, client_id="engine-outage-test")
    bus.ensure_topics(own.topics.all(), own.topic_partitions, 1)
    store = EngineMentionStore(connect("elasticsearch", [ENGINE_URLS["elasticsearch"]]), own.index_alias)
    store.ensure_schema()
    yield own, bus, store
    store.drop()


def count(store: EngineMentionStore) -> int:
    try:
        store.refresh()
        return store.search(TENANT, SearchRequest(size=1)).total
    except StoreUnavailable:
        return -1


def all_ids(store: EngineMentionStore) -> list[str]:
    ids: list[str] = []
    page = store.search(TENANT, SearchRequest(size=100))
    while True:
        ids.extend(hit.mention["id"] for hit in page.hits)
        if not page.next_cursor:
            return ids
        page = store.search(TENANT, SearchRequest(size=100, cursor=page.next_cursor))


def test_indexer_waits_out_an_engine_outage_and_catches_up(isolated) -> None:  # type: ignore[no-untyped-def]
    settings, bus, store = isolated
    mentions = [scored(i) for i in range(300)]
    publisher = bus.publisher()

    def publish(batch: list[ScoredMention]) -> None:
        messages = [Message(key=TENANT.encode(), value=m.model_dump_json().encode()) for m in batch]
        publisher.publish(settings.topics.scored, messages, timeout_s=10)

    stop = threading.Event()
    loop = build_indexer_loop(settings, bus, store)
    indexer = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    indexer.start()
    try:
        publish(mentions[:100])
        deadline = time.monotonic() + 60
        while count(store) < 100 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert count(store) == 100

        subprocess.run([str(STACK), "stop", "elasticsearch"], check=True)
        try:
            # Mentions keep flowing while the engine is away.
            for start in range(100, 300, 20):
                publish(mentions[start : start + 20])
                time.sleep(OUTAGE_S / 10)
            assert count(store) == -1, "the engine is really down"
        finally:
            subprocess.run([str(STACK), "start", "elasticsearch"], check=True)

        deadline = time.monotonic() + 120
        while count(store) < len(mentions) and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(2)  # anything retried twice has had time to land
        ids = all_ids(store)
        assert len(ids) == len(set(ids)) == len(mentions), "every mention indexed exactly once"
        assert set(ids) == {m.id for m in mentions}
    finally:
        stop.set()
        indexer.join(timeout=30)

    # Nothing was dead-lettered: an outage is retried, never treated as bad input.
    dead = bus.subscribe([settings.topics.dead_letter], f"es-outage-check-{uuid.uuid4().hex[:6]}")
    try:
        assert dead.poll(100, timeout_s=3) == []
    finally:
        dead.close()
