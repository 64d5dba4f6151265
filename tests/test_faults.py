"""Crash safety: a sentiment worker killed with SIGKILL mid-stream loses nothing.

The worker runs as a real process (``python -m services.sentiment.worker``) on its own topics,
so the kill is as abrupt as an out-of-memory kill in production: no drain, no commit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from common.bus.kafka import KafkaBus
from common.settings import REPO_ROOT, Settings
from services.ingest.intake import publish_mentions
from services.search.indexer import build_loop as build_indexer_loop
from services.search.store.base import SearchRequest
from services.search.store.engines import connect
from services.search.store.indexed import EngineMentionStore
from tests.conftest import ENGINE_URLS

TENANT = "crash-test"


@pytest.fixture
def isolated(settings: Settings) -> Iterator[tuple[Settings, KafkaBus, EngineMentionStore]]:
    run = uuid.uuid4().hex[:8]
    own = settings.model_copy(
        update={"topic_prefix": f"crash-{run}", "index_alias": f"crash-{run}-mentions", "sentiment_batch_size": 8}
    )
    bus = KafkaBus(own.kafka_servers, client_id="crash-test")
    bus.ensure_topics(own.topics.all(), own.topic_partitions, 1)
    store = EngineMentionStore(connect("elasticsearch", [ENGINE_URLS["elasticsearch"]]), own.index_alias)
    store.ensure_schema()
    yield own, bus, store
    store.drop()


def start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RADAR_TOPIC_PREFIX": settings.topic_prefix,
        "RADAR_SENTIMENT_BATCH_SIZE": str(settings.sentiment_batch_size),
        "RADAR_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "RADAR_MODEL_THREADS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.sentiment.worker"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def indexed(store: EngineMentionStore) -> int:
    store.refresh()
    return store.search(TENANT, SearchRequest(size=1)).total


def test_sigkill_mid_stream_then_restart_scores_and_indexes_everything_once(isolated) -> None:  # type: ignore[no-untyped-def]
    from common.schema import Mention, MentionIn

    settings, bus, store = isolated
    mentions = [
        Mention.from_submission(
            MentionIn(source="google", external_id=f"crash-{i}", text=f"Review {i}: the staff were kind.", rating=5),
            tenant=TENANT,
        )
        for i in range(400)
    ]
    publish_mentions(bus.publisher(), settings.topics.raw, mentions, timeout_s=10)

    stop = threading.Event()
    indexer = threading.Thread(target=build_indexer_loop(settings, bus, store).run, args=(stop,), daemon=True)
    indexer.start()
    worker = start_worker(settings)
    try:
        deadline = time.monotonic() + 120
        while indexed(store) < 40 and time.monotonic() < deadline:
            time.sleep(0.2)
        partial = indexed(store)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert 0 < partial < len(mentions), "the kill must land mid-stream"

        worker = start_worker(settings)
        deadline = time.monotonic() + 180
        while indexed(store) < len(mentions) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # anything redelivered twice has had time to land
        assert indexed(store) == len(mentions)
        ids = set()
        page = store.search(TENANT, SearchRequest(size=100))
        while True:
            ids.update(hit.mention["id"] for hit in page.hits)
            if not page.next_cursor:
                break
            page = store.search(TENANT, SearchRequest(size=100, cursor=page.next_cursor))
        assert ids == {m.id for m in mentions}
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        stop.set()
        indexer.join(timeout=30)
