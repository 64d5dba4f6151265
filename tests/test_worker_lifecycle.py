"""Worker lifecycle against the real Kafka: SIGTERM drains and commits, groups share and rebalance.

Sentiment workers run as real processes (``python -m services.sentiment.worker``) on topics of
their own, observed through their metrics port (``RADAR_METRICS_PORT``) as Prometheus and the
orchestrator's probes would.  Nothing here stops shared infrastructure.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import zlib
from collections.abc import Iterator

import pytest

from common.bus.kafka import KafkaBus
from common.schema import Mention, MentionIn
from common.settings import REPO_ROOT, Settings
from services.ingest.intake import publish_mentions
from services.search.indexer import build_loop as build_indexer_loop
from services.search.store.base import SearchRequest
from services.search.store.engines import connect
from services.search.store.indexed import EngineMentionStore
from tests.conftest import ENGINE_URLS
from tests.metrics_support import label_values
from tests.worker_support import (
    committed_offsets,
    consumed,
    free_port,
    get,
    ids_of,
    keys_covering,
    read_topic,
    start_sentiment_worker,
    wait_ready,
)

# Mentions are keyed by tenant (a tenant's mentions stay in order), so the load spreads over
# tenants chosen to reach every one of the six partitions, or a member could own only idle ones.
TENANTS = keys_covering("lifecycle", 6)


@pytest.fixture
def own(settings: Settings) -> Iterator[tuple[Settings, KafkaBus]]:
    run = uuid.uuid4().hex[:8]
    own = settings.model_copy(
        update={
            "topic_prefix": f"life-{run}",
            "index_alias": f"life-{run}-mentions",
            "sentiment_batch_size": 8,
            "topic_partitions": 6,
        }
    )
    bus = KafkaBus(own.kafka_servers, client_id="lifecycle-test")
    bus.ensure_topics(own.topics.all(), own.topic_partitions, 1)
    yield own, bus


def mentions(count: int, tag: str) -> list[Mention]:
    return [
        Mention.from_submission(
            MentionIn(source="google", external_id=f"{tag}-{i}", text=f"Review {i}: quick scan, kind staff.", rating=5),
            tenant=TENANTS[(zlib.crc32(tag.encode()) + i) % len(TENANTS)],
        )
        for i in range(count)
    ]


def stop_all(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def test_sigterm_mid_stream_commits_the_batch_and_exits_within_the_grace_period(own) -> None:  # type: ignore[no-untyped-def]
    settings, bus = own
    sent = mentions(300, "term")
    publish_mentions(bus.publisher(), settings.topics.raw, sent, timeout_s=10)
    port, grace_s = free_port(), 15.0
    worker = start_sentiment_worker(settings, port, grace_s=grace_s)
    try:
        ready = wait_ready(worker, port)
        assert ready["kafka"] == "ok" and ready["status"] == "ready"
        deadline = time.monotonic() + 90
        while consumed(port, settings) < 24 and time.monotonic() < deadline:
            time.sleep(0.1)
        metrics = get(port, "/metrics")[1]
        assert label_values(metrics, "radar_consumer_lag", "partition", worker="sentiment")
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=grace_s + 10)
        took = time.monotonic() - started
    finally:
        stop_all([worker])
    assert code == 0, "a drain within the grace period exits cleanly"
    assert took < grace_s
    # Drained: exactly the records below the committed offsets were scored and published, so
    # nothing consumed was lost and no published batch was left uncommitted.
    committed = committed_offsets(settings, settings.sentiment_consumer_group, settings.topics.raw)
    raw = read_topic(settings, settings.topics.raw)
    below = {i for (p, o, v), i in zip(raw, ids_of([v for _, _, v in raw]), strict=True) if o < committed.get(p, 0)}
    scored = set(ids_of([v for _, _, v in read_topic(settings, settings.topics.scored)]))
    assert 0 < len(below) < len(sent), "the signal must land mid-stream"
    assert scored == below


def test_a_stuck_drain_is_cut_off_at_the_grace_period() -> None:
    """A batch that cannot finish (a dependency hangs) does not keep the process past its deadline."""
    script = textwrap.dedent(
        """
        import os, signal, threading, time
        from common.bus import Record
        from common.consumer import BatchLoop
        from common.runner import run_until_signalled

        class Sub:
            def poll(self, max_records, timeout_s):
                return [Record("t", 0, 0, None, b"x", 0)]
            def commit(self, records): raise AssertionError("never committed")
            def lag(self): return {}
            def close(self): pass

        class Stuck:
            def process(self, records):
                time.sleep(60)

        class Pub:
            def publish(self, topic, messages, timeout_s): pass
            def close(self): pass

        loop = BatchLoop(name="stuck", subscription=Sub(), publisher=Pub(), processor=Stuck(),
                         batch_size=1, batch_wait_s=0, produce_timeout_s=1)
        threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
        run_until_signalled(loop, grace_s=1.5)
        """
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, timeout=30, capture_output=True)
    took = time.monotonic() - started
    assert done.returncode == 1, done.stderr.decode()[-2000:]
    assert took < 10


def test_two_then_three_workers_share_the_partitions_and_a_rebalance_loses_nothing(own, settings) -> None:  # type: ignore[no-untyped-def]
    settings, bus = own
    store = EngineMentionStore(connect("elasticsearch", [ENGINE_URLS["elasticsearch"]]), settings.index_alias)
    store.ensure_schema()
    stop = threading.Event()
    indexer = threading.Thread(target=build_indexer_loop(settings, bus, store).run, args=(stop,), daemon=True)
    indexer.start()
    sent: list[Mention] = []
    stop_feeding = threading.Event()
    feeder_done = threading.Event()

    def feed() -> None:  # steady load (about 40 mentions/s) until the group changes are over
        publisher = bus.publisher()
        batch = 0
        while not stop_feeding.is_set() and batch < 500:
            chunk = mentions(4, f"share-{batch}")
            publish_mentions(publisher, settings.topics.raw, chunk, timeout_s=10)
            sent.extend(chunk)
            batch += 1
            time.sleep(0.1)
        feeder_done.set()

    ports = [free_port() for _ in range(3)]
    workers = [start_sentiment_worker(settings, ports[i]) for i in range(2)]
    try:
        for worker, port in zip(workers, ports, strict=False):
            wait_ready(worker, port)
        threading.Thread(target=feed, daemon=True).start()

        def wait_consumed(port: int, at_least: float, timeout_s: float = 90) -> None:
            deadline = time.monotonic() + timeout_s
            while consumed(port, settings) < at_least:
                assert time.monotonic() < deadline, f"worker on {port} consumed too little"
                time.sleep(0.2)

        wait_consumed(ports[0], 1)
        wait_consumed(ports[1], 1)  # two members share the partitions
        workers.append(start_sentiment_worker(settings, ports[2]))  # a third joins under load: rebalance
        wait_ready(workers[2], ports[2])
        wait_consumed(ports[2], 1)
        first = workers[0]
        first.send_signal(signal.SIGTERM)  # and one leaves under load: rebalance again
        assert first.wait(timeout=30) == 0
        time.sleep(2)
        stop_feeding.set()
        assert feeder_done.wait(timeout=30)
        assert len(sent) < 2000, "the feed must still run while the group changes"

        deadline = time.monotonic() + 120
        while indexed(store) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # a redelivered batch has had time to land twice
        assert indexed(store) == len(sent)
        found = indexed_ids(store)
        assert len(found) == len(set(found)) and set(found) == {m.id for m in sent}
        scored = ids_of([v for _, _, v in read_topic(settings, settings.topics.scored)])
        assert set(scored) == {m.id for m in sent}  # duplicates in the topic are allowed, losses not
    finally:
        stop_all(workers)
        stop.set()
        indexer.join(timeout=30)
        store.drop()


def indexed(store: EngineMentionStore) -> int:
    store.refresh()
    return sum(store.search(tenant, SearchRequest(size=1)).total for tenant in TENANTS)


def indexed_ids(store: EngineMentionStore) -> list[str]:
    """Every indexed mention id, a duplicate document included (a list, not a set)."""
    ids: list[str] = []
    for tenant in TENANTS:
        page = store.search(tenant, SearchRequest(size=100))
        while True:
            ids.extend(hit.mention["id"] for hit in page.hits)
            if not page.next_cursor:
                break
            page = store.search(tenant, SearchRequest(size=100, cursor=page.next_cursor))
    return ids


@pytest.mark.parametrize(
    "module",
    ["services.search.indexer", "services.alerts.evaluator", "services.alerts.dispatcher", "services.ingest.scheduler"],
)
def test_every_other_worker_is_ready_then_stops_cleanly_on_sigterm(own, module: str) -> None:  # type: ignore[no-untyped-def]
    """Each worker process serves its probes and metrics, and exits 0 within the grace period."""
    import os

    from tests.conftest import _drop_all

    settings, _bus = own
    port, grace_s = free_port(), 15.0
    env = {
        **os.environ,
        "RADAR_TOPIC_PREFIX": settings.topic_prefix,
        "RADAR_INDEX_ALIAS": settings.index_alias,
        "RADAR_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "RADAR_METRICS_PORT": str(port),
        "RADAR_METRICS_HOST": "127.0.0.1",
        "RADAR_SHUTDOWN_GRACE_S": str(grace_s),
        "RADAR_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("RADAR_SOURCES_FILE", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", module], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(worker, port)
        status, text = get(port, "/metrics")
        assert status == 200 and "process_cpu_seconds_total" in text
        assert get(port, "/healthz")[0] == 200
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=grace_s + 10) == 0
        assert time.monotonic() - started < grace_s
    finally:
        stop_all([worker])
        _drop_all(EngineMentionStore(connect("elasticsearch", [ENGINE_URLS["elasticsearch"]]), settings.index_alias))
