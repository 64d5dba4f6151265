"""Fixtures: the real local Kafka and Elasticsearch, started once per run, and isolated names.

Every test session uses its own topic prefix and index alias, so a developer's running stack
and earlier runs never leak into assertions.  Disruptive tests (which stop a broker) run last.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from common.bus.base import Bus
from common.bus.kafka import KafkaBus
from common.bus.sqlite import SqliteBus
from common.consumer import BatchLoop
from common.settings import REPO_ROOT, Settings
from services.search.indexer import build_loop as build_indexer_loop
from services.search.store.engines import connect
from services.search.store.indexed import EngineMentionStore
from services.search.store.sqlite import SqliteMentionStore

STACK = REPO_ROOT / "deploy" / "local" / "stack.sh"

ADMIN_KEY = "test-admin-key-" + uuid.uuid4().hex
MARKETER_KEY = "test-marketer-key-" + uuid.uuid4().hex
VIEWER_KEY = "test-viewer-key-" + uuid.uuid4().hex
OTHER_TENANT_KEY = "test-other-key-" + uuid.uuid4().hex
TENANT = "northside-imaging"
OTHER_TENANT = "rival-radiology"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# The topics tests create: a prefix and a run id ("test-1a2b3c4d.mentions.raw", "test-bus-1a2b3c4d")
_TEST_TOPIC = re.compile(r"^[a-z][a-z-]*-[0-9a-f]{8}(?:[.-]|$)")


def _kafka_topics() -> set[str] | None:
    try:
        admin = KafkaAdminClient(bootstrap_servers=["127.0.0.1:9092"], client_id="radar-tests-cleanup")
    except KafkaError:
        return None
    try:
        return set(admin.list_topics())
    except KafkaError:
        return None
    finally:
        admin.close()


def _delete_topics(names: set[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=["127.0.0.1:9092"], client_id="radar-tests-cleanup")
    try:
        ordered = sorted(names)
        for i in range(0, len(ordered), 100):
            admin.delete_topics(ordered[i : i + 100], timeout_ms=30_000)
    finally:
        admin.close()


@pytest.fixture(scope="session")
def stack() -> Iterator[None]:
    """Make sure the local Kafka and Elasticsearch run (``bin/test`` starts them already).

    The topics the session created are deleted when it ends: a developer's long-lived stack would
    otherwise keep thousands of test partitions, and a broker restart (the outage tests restart it)
    then takes minutes to load them."""
    if not (_port_open(9092) and _port_open(9200) and _port_open(9201)):
        subprocess.run([str(STACK), "start"], check=True)
    before = _kafka_topics() or set()
    yield
    after = _kafka_topics()
    created = {t for t in (after or set()) - before if _TEST_TOPIC.match(t)}
    try:
        if created:
            _delete_topics(created)
    except KafkaError as exc:
        warnings.warn(f"could not delete the session's {len(created)} test topics: {exc}", stacklevel=1)


@pytest.fixture(scope="session")
def settings(stack: None) -> Settings:
    run_id = uuid.uuid4().hex[:8]
    return Settings(
        topic_prefix=f"test-{run_id}",
        index_alias=f"test-{run_id}-mentions",
        topic_partitions=3,
        api_keys=",".join(
            [
                f"{ADMIN_KEY}={TENANT}:admin",
                f"{MARKETER_KEY}={TENANT}:marketer",
                f"{VIEWER_KEY}={TENANT}:viewer",
                f"{OTHER_TENANT_KEY}={OTHER_TENANT}:admin",
            ]
        ),
        produce_timeout_s=5,
        sentiment_batch_wait_ms=20,
        indexer_batch_wait_ms=20,
        max_body_bytes=256 * 1024,
        max_batch_items=50,
    )


@pytest.fixture(scope="session")
def bus(settings: Settings) -> KafkaBus:
    bus = KafkaBus(settings.kafka_servers, client_id="radar-tests", produce_timeout_s=settings.produce_timeout_s)
    bus.ensure_topics(settings.topics.all(), settings.topic_partitions, settings.topic_replication)
    return bus


@pytest.fixture(params=["kafka", "embedded"])
def any_bus(request: pytest.FixtureRequest, tmp_path: Path) -> Bus:
    """Each bus in turn, for the bus-level tests, so the two implementations cannot drift.

    The embedded one is a fresh file per test with a short session timeout (3 s), so group
    tests see a dead member's partitions move on without waiting Kafka's 10 s.
    """
    if request.param == "kafka":
        return request.getfixturevalue("bus")  # type: ignore[no-any-return]
    return SqliteBus(tmp_path / "bus.sqlite3", client_id="radar-tests", session_timeout_s=3.0)


ENGINE_URLS = {"elasticsearch": "http://127.0.0.1:9200", "opensearch": "http://127.0.0.1:9201"}


def _engine_store(settings: Settings, engine: str) -> EngineMentionStore:
    store = EngineMentionStore(connect(engine, [ENGINE_URLS[engine]], request_timeout=30), settings.index_alias)  # type: ignore[arg-type]
    store.ensure_schema()
    return store


def _drop_all(store: EngineMentionStore) -> None:
    """Delete the mentions index and the record indices that the search app creates beside it."""
    from services.alerts.store import EngineAlertStore
    from services.search.audit.store import EngineAuditLog
    from services.search.practice.store import EnginePracticeStore
    from services.search.testimonials.store import EngineCurationStore

    EngineCurationStore(store.engine, store.alias).drop()
    EnginePracticeStore(store.engine, store.alias).drop()
    EngineAuditLog(store.engine, store.alias).drop()
    EngineAlertStore(store.engine, store.alias).drop()
    store.drop()


@pytest.fixture(scope="session")
def store(settings: Settings) -> Iterator[EngineMentionStore]:
    """The pipeline's store: Elasticsearch, the product's named engine."""
    store = _engine_store(settings, "elasticsearch")
    yield store
    _drop_all(store)


@pytest.fixture(scope="session", params=["elasticsearch", "opensearch", "embedded"])
def any_store(
    request: pytest.FixtureRequest, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineMentionStore | SqliteMentionStore]:
    """Each engine in turn, for the store and search API tests, so the three cannot drift.

    ``embedded`` is the SQLite store on a fresh file; the record stores beside it (curation,
    practice, audit, alerts) stay on Elasticsearch until they have embedded implementations.
    """
    if request.param == "embedded":
        embedded = SqliteMentionStore(tmp_path_factory.mktemp("embedded") / "search.sqlite3")
        embedded.ensure_schema()
        yield embedded
        embedded.close()
        return
    store = _engine_store(
        settings.model_copy(update={"index_alias": f"{settings.index_alias}-{request.param}"}), request.param
    )
    yield store
    _drop_all(store)


@pytest.fixture(scope="session")
def model(settings: Settings):  # type: ignore[no-untyped-def]
    from services.sentiment.model import SentimentModel

    return SentimentModel.load(settings.model_dir, intra_op_threads=2)


@pytest.fixture(scope="session")
def tagger(settings: Settings):  # type: ignore[no-untyped-def]
    from services.sentiment.topics import TopicTagger

    return TopicTagger.load(settings.topic_model_dir, intra_op_threads=2)


@pytest.fixture(scope="session")
def pipeline(settings: Settings, bus: KafkaBus, store: EngineMentionStore, model, tagger) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The sentiment worker and the indexer, running in this process against real Kafka and ES."""
    from services.sentiment.worker import build_loop as build_sentiment_loop

    stop = threading.Event()
    loops: list[BatchLoop] = [
        build_sentiment_loop(settings, bus, model, tagger),
        build_indexer_loop(settings, bus, store),
    ]
    threads = [threading.Thread(target=loop.run, args=(stop,), name=loop.name, daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    yield
    stop.set()
    for thread in threads:
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def ingest_client(settings: Settings, bus: KafkaBus):  # type: ignore[no-untyped-def]
    from services.ingest.app import create_app

    return create_app(settings, bus=bus).test_client()


@pytest.fixture(scope="session")
def search_client(settings: Settings, store: EngineMentionStore):  # type: ignore[no-untyped-def]
    from services.search.app import create_app

    return create_app(settings, store=store).test_client()


def auth(key: str = ADMIN_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def unique() -> str:
    """A short unique token for external ids, so tests never collide with each other."""
    return uuid.uuid4().hex[:10]


def repo_path(*parts: str) -> Path:
    return REPO_ROOT.joinpath(*parts)
