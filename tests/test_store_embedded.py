"""The embedded (SQLite) mention store on its own: what only an embedded store can get wrong.

Several processes on one file, a damaged or locked file at start-up, a writer killed mid-batch,
and query strings that must never reach FTS5 as syntax.  The behaviour it shares with the
engines is covered by the ``any_store`` tests (test_search_api.py, test_competitors.py).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.schema import Mention, MentionIn, ScoredMention, SentimentResult
from services.search.store.base import InvalidCursor, SearchRequest, StatsRequest
from services.search.store.fts_query import translate
from services.search.store.sqlite import EmbeddedStoreError, SqliteMentionStore, bucket_starts

TENANT = "embedded-" + uuid.uuid4().hex[:8]
BASE = datetime(2026, 3, 1, 12, tzinfo=UTC)
WORDS = ["mri", "billing", "friendly", "parking", "waited", "report", "sonogram", "staff", "calm", "late"]


def mention(index: int, *, updated: int = 0, text: str | None = None, tenant: str = TENANT) -> ScoredMention:
    submitted = MentionIn(
        source="google",
        location=f"site-{index % 3}",
        external_id=f"m-{index}",
        text=text if text is not None else f"{WORDS[index % len(WORDS)]} visit number {index}",
        rating=1 + index % 5,
        published_at=BASE + timedelta(hours=index),
        updated_at=BASE + timedelta(hours=index, minutes=updated) if updated else None,
    )
    base = Mention.from_submission(submitted, tenant=tenant, now=BASE + timedelta(hours=index, seconds=1))
    return ScoredMention(
        **base.model_dump(),
        sentiment=SentimentResult(label="positive", stars=3.0, model="fixture", model_version="0"),
        scored_at=BASE,
    )


def open_store(path: Path, **kwargs: int) -> SqliteMentionStore:
    store = SqliteMentionStore(path, **kwargs)
    store.ensure_schema()
    return store


def count_rows(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*), count(DISTINCT id) FROM mentions").fetchone()


# ----------------------------------------------------------------------------- child processes
def _write_batches(path: str, tenant: str, batches: int, batch_size: int, pause_s: float) -> None:
    store = SqliteMentionStore(Path(path))
    for b in range(batches):
        first = b * batch_size
        store.upsert([mention(i, tenant=tenant) for i in range(first, first + batch_size)])
        time.sleep(pause_s)


def _spawn(target, *args) -> multiprocessing.process.BaseProcess:  # type: ignore[no-untyped-def]
    process = multiprocessing.get_context("spawn").Process(target=target, args=args, daemon=True)
    process.start()
    return process


# ----------------------------------------------------------------------------- tests
def test_writer_and_reader_processes_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    store = open_store(path)
    writer = _spawn(_write_batches, str(path), TENANT, 20, 50, 0.02)
    seen: list[int] = []
    while writer.is_alive():
        page = store.search(TENANT, SearchRequest(q="visit", size=5))  # type: ignore[call-arg]
        seen.append(page.total)
        assert store.stats(TENANT, StatsRequest()).total >= page.total  # type: ignore[call-arg]
    writer.join(30)
    assert writer.exitcode == 0
    assert seen == sorted(seen), "a reader never sees a count go back"
    assert all(total % 50 == 0 for total in seen), "a reader sees whole batches or nothing of them"
    assert store.search(TENANT, SearchRequest(size=1)).total == 1000  # type: ignore[call-arg]


def test_a_writer_killed_mid_batch_loses_nothing_committed_and_a_replay_duplicates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    open_store(path)
    writer = _spawn(_write_batches, str(path), TENANT, 200, 100, 0.0)
    deadline = time.monotonic() + 30
    while count_rows(path)[0] < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(writer.pid or 0, signal.SIGKILL)
    writer.join(10)
    rows, distinct = count_rows(path)
    assert rows == distinct and rows % 100 == 0 and rows >= 300, "only whole batches, each id once"

    store = open_store(path)  # the quick check passes: the kill left no damage
    replay = store.upsert([mention(i) for i in range(rows + 100)])  # the bus redelivers from the offset
    assert replay.written == rows + 100 and replay.stale == 0 and not replay.failed
    assert count_rows(path) == (rows + 100, rows + 100)


def test_versions_an_older_revision_is_stale_and_an_erasure_wins_over_replays(tmp_path: Path) -> None:
    store = open_store(tmp_path / "search.sqlite3")
    newer, older = mention(1, updated=30, text="edited: calm staff"), mention(1, updated=10, text="first words")
    assert store.upsert([newer]).written == 1
    report = store.upsert([older])
    assert (report.written, report.stale) == (0, 1)
    assert store.get(TENANT, newer.id)["text"] == "edited: calm staff"  # type: ignore[index]
    assert store.erase(TENANT, newer.id) and not store.erase(TENANT, newer.id)
    assert store.upsert([newer]).stale == 1
    assert store.get(TENANT, newer.id) is None
    assert store.search(TENANT, SearchRequest(q="calm")).total == 0  # type: ignore[call-arg]
    assert not store.erase("another-tenant", newer.id)


def test_a_corrupted_file_stops_start_up_and_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    garbage = b"this is not an SQLite database\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(EmbeddedStoreError, match=r"search\.sqlite3"):
        SqliteMentionStore(path).ensure_schema()
    assert path.read_bytes() == garbage, "never replaced by an empty store"

    damaged = tmp_path / "damaged.sqlite3"
    store = open_store(damaged)
    store.upsert([mention(i) for i in range(300)])
    store.close()
    data = bytearray(damaged.read_bytes())
    data[4096 * 2 : 4096 * 6] = b"\xff" * (4096 * 4)  # wipe pages inside the tables
    damaged.write_bytes(bytes(data))
    with pytest.raises(EmbeddedStoreError, match=r"corrupt|not a usable|malformed"):
        SqliteMentionStore(damaged).ensure_schema()


def test_a_locked_file_stops_start_up_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    open_store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(EmbeddedStoreError, match="locked by another process"):
            SqliteMentionStore(path, busy_timeout_ms=200).ensure_schema()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    open_store(path)  # fine once the lock is gone


@pytest.mark.parametrize(
    "q",
    [
        '"unbalanced',
        "(MRI AND",
        "wait~2 ^3 -",
        "*",
        "\\",
        "a:b OR c:[1 TO",
        "NEAR(a b)",
        "col:mri",
        "mri AND OR NOT",
        '""',
        "-",
        "--x",
        "((((",
        "))))",
        "🙂 x-ray",
        "'; DROP TABLE mentions; --",
        "the",
        "-billing",
        "a* | -b",
        "x" * 500,
    ],
)
def test_user_queries_never_reach_fts5_as_syntax(tmp_path_factory: pytest.TempPathFactory, q: str) -> None:
    store = open_store(tmp_path_factory.mktemp("q") / "search.sqlite3")
    store.upsert([mention(i) for i in range(20)])
    page = store.search(TENANT, SearchRequest(q=q))  # type: ignore[call-arg]
    assert page.total >= 0
    store.stats(TENANT, StatsRequest(q=q))  # type: ignore[call-arg]


def test_query_translation() -> None:
    assert translate("billing -ultrasound").positive == '("billing") NOT (("ultrasound" OR "sonogram" OR "sonography"))'
    assert translate("wait*").positive == '"wait" *'
    assert translate('"same day" | parking').positive == '("same day") OR ("parking")'
    assert translate("the").matches_nothing
    only_negative = translate("-parking")
    assert only_negative.positive is None and only_negative.negative == '("parking")'


def test_cursor_pagination_by_rating_with_missing_ratings(tmp_path: Path) -> None:
    store = open_store(tmp_path / "search.sqlite3")
    docs = [mention(i) for i in range(23)]
    docs += [m.model_copy(update={"rating": None}) for m in (mention(i) for i in range(100, 107))]
    store.upsert(docs)
    seen: list[tuple[float | None, str]] = []
    cursor = None
    while True:
        page = store.search(TENANT, SearchRequest(sort="rating", order="asc", size=4, cursor=cursor))  # type: ignore[call-arg]
        seen.extend((h.mention.get("rating"), h.mention["id"]) for h in page.hits)
        if not (cursor := page.next_cursor):
            break
    assert len(seen) == len({i for _, i in seen}) == 30
    ratings = [r for r, _ in seen]
    assert ratings[-7:] == [None] * 7, "missing ratings sort last, as in the engines"
    assert ratings[:23] == sorted(r for r in ratings if r is not None)
    with pytest.raises(InvalidCursor):
        store.search(TENANT, SearchRequest(sort="date", cursor=cursor or "eyJzIjoicmF0aW5nIn0"))  # type: ignore[call-arg]


def test_histogram_buckets_follow_the_time_zone_across_dst() -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    first = int(datetime(2026, 3, 7, 12, tzinfo=UTC).timestamp() * 1000)
    last = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp() * 1000)
    starts = bucket_starts(first, last, "day", zone)
    assert [s.isoformat() for s in starts] == [
        "2026-03-07T00:00:00-05:00",
        "2026-03-08T00:00:00-05:00",
        "2026-03-09T00:00:00-04:00",
        "2026-03-10T00:00:00-04:00",
    ]
    assert [s.day for s in bucket_starts(first, last, "week", zone)] == [2, 9]


def test_practice_profiles_and_an_append_only_audit_trail_share_the_file(tmp_path: Path) -> None:
    from services.search.audit.models import AuditQuery, AuditRecord
    from services.search.practice.models import PracticeProfile
    from services.search.store.sqlite_file import SqliteFile
    from services.search.store.sqlite_records import SqliteAuditLog, SqlitePracticeStore

    file = SqliteFile(tmp_path / "search.sqlite3")
    practices, audit = SqlitePracticeStore(file), SqliteAuditLog(file)
    practices.ensure_schema()
    audit.ensure_schema()
    assert practices.get(TENANT).display_name == TENANT  # the default of a practice never configured
    practices.save(PracticeProfile(tenant=TENANT, display_name="Northside", updated_at=BASE))
    assert practices.get(TENANT).display_name == "Northside"

    for i in range(7):
        audit.append(
            AuditRecord(
                id=f"rec-{i}",
                at=BASE + timedelta(seconds=i // 2),  # pairs share a time: the id breaks the tie
                tenant=TENANT,
                actor="abc123",
                role="admin",
                action="mentions.erase" if i % 2 else "mentions.search",
                method="GET",
                route="/v1/mentions",
                targets=[f"m-{i}"],
                status=200,
            )
        )
    seen, cursor = [], None
    while True:
        records, cursor = audit.query(TENANT, AuditQuery(size=3, cursor=cursor))  # type: ignore[call-arg]
        seen.extend(r.id for r in records)
        if not cursor:
            break
    assert seen == [f"rec-{i}" for i in (6, 5, 4, 3, 2, 1, 0)]
    erased, _ = audit.query(TENANT, AuditQuery(action=["mentions.erase"], target="m-3"))  # type: ignore[call-arg]
    assert [r.id for r in erased] == ["rec-3"]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        file.connection().execute("DELETE FROM audit")
    assert len(audit.query(TENANT, AuditQuery())[0]) == 7  # type: ignore[call-arg]


def test_the_search_app_runs_on_one_embedded_file_and_refuses_a_damaged_one(settings, bus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from services.search.app import create_app
    from tests.conftest import ADMIN_KEY
    from tests.conftest import TENANT as APP_TENANT

    embedded = settings.model_copy(update={"search_engine": "embedded", "data_dir": tmp_path / "data"})
    app = create_app(embedded, bus=bus)
    store = app.extensions["radar.store"]
    assert isinstance(store, SqliteMentionStore) and store.path == tmp_path / "data" / "search.sqlite3"
    store.upsert([mention(i, tenant=APP_TENANT) for i in range(5)])
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert client.get("/v1/mentions", query_string={"q": "visit"}, headers=headers).get_json()["total"] == 5
    assert client.get("/v1/practice", headers=headers).status_code == 200
    assert client.get("/v1/alerts", headers=headers).status_code == 200
    with sqlite3.connect(store.path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        audited = connection.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert {"mentions", "practices", "audit", "testimonials", "authorisations", "alert_rules", "alerts"} <= tables
    assert audited >= 1, "the searches were audited in the same file"

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "search.sqlite3").write_bytes(b"not a database" * 100)
    with pytest.raises(EmbeddedStoreError):
        create_app(settings.model_copy(update={"search_engine": "embedded", "data_dir": damaged}), bus=bus)


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago", "Asia/Kathmandu", "Australia/Lord_Howe"])
def test_day_buckets_match_a_brute_force_count_in_the_zone(tmp_path: Path, zone: str) -> None:
    from collections import Counter
    from zoneinfo import ZoneInfo

    store = open_store(tmp_path / "search.sqlite3")
    docs = [mention(i * 7) for i in range(60)]  # every 7 hours: rows near local midnights
    store.upsert(docs)
    expected = Counter(m.published_at.astimezone(ZoneInfo(zone)).date() for m in docs)  # type: ignore[union-attr]
    histogram = store.stats(TENANT, StatsRequest(time_zone=zone)).histogram  # type: ignore[call-arg]
    assert {b.start.date(): b.count for b in histogram if b.count} == dict(expected)
    assert all(b.start.tzinfo is not None and b.start.hour == 0 for b in histogram)


def test_the_indexer_killed_mid_stream_loses_nothing_and_indexes_nothing_twice(settings, bus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The real indexer process (Kafka in, embedded store out), SIGKILLed while it works, then restarted."""
    import subprocess
    import sys

    from common.bus.base import Message
    from common.settings import REPO_ROOT

    prefix = f"{settings.topic_prefix}-emb{uuid.uuid4().hex[:6]}"
    own = settings.model_copy(update={"topic_prefix": prefix})
    bus.ensure_topics(own.topics.all(), own.topic_partitions, own.topic_replication)
    docs = [mention(i) for i in range(4000)]
    bus.publisher().publish(own.topics.scored, [Message(m.id.encode(), m.model_dump_json().encode()) for m in docs], 30)
    env = {
        **os.environ,
        "RADAR_SEARCH_ENGINE": "embedded",
        "RADAR_DATA_DIR": str(tmp_path),
        "RADAR_TOPIC_PREFIX": prefix,
        "RADAR_TOPIC_PARTITIONS": str(own.topic_partitions),
        "RADAR_KAFKA_BOOTSTRAP": own.kafka_bootstrap,
        "RADAR_INDEXER_BATCH_SIZE": "100",
        "RADAR_INDEXER_BATCH_WAIT_MS": "0",
    }
    path = tmp_path / "search.sqlite3"

    def indexed() -> int:
        try:
            return count_rows(path)[0]
        except sqlite3.Error:
            return 0  # not created yet

    def run_until(target: int, timeout_s: float) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.search.indexer"],
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while indexed() < target and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        return process

    first = run_until(300, 60)
    first.kill()  # SIGKILL: no clean shutdown, offsets of the batch in flight not committed
    first.wait(10)
    killed_at = indexed()
    assert 0 < killed_at < len(docs), f"the kill should land mid-stream ({killed_at} indexed)"

    second = run_until(len(docs), 90)
    second.terminate()
    second.wait(20)
    assert count_rows(path) == (len(docs), len(docs)), "every mention exactly once"


def _search_total(store: SqliteMentionStore, results: multiprocessing.queues.Queue) -> None:  # type: ignore[type-arg]
    results.put((store.search(TENANT, SearchRequest(q="visit")).total, store.stats(TENANT, StatsRequest()).total))  # type: ignore[call-arg]


def test_a_store_opened_before_a_fork_works_in_the_child(tmp_path: Path) -> None:
    store = open_store(tmp_path / "search.sqlite3")  # as gunicorn --preload would: opened in the master
    store.upsert([mention(i) for i in range(10)])
    store.stats(TENANT, StatsRequest())  # type: ignore[call-arg]  # the pool exists in the parent
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_search_total, args=(store, results))
    child.start()
    child.join(30)
    assert child.exitcode == 0 and results.get(timeout=5) == (10, 10)
    assert store.search(TENANT, SearchRequest(q="visit")).total == 10  # type: ignore[call-arg]  # parent unharmed


def test_random_query_strings_never_fail(tmp_path: Path) -> None:
    import random

    store = open_store(tmp_path / "search.sqlite3")
    store.upsert([mention(i) for i in range(30)])
    rng = random.Random(8)
    alphabet = ['"', "-", "+", "|", "(", ")", "*", "\\", "~", "^", ":", "'", ";", " ", " ", "a", "mri", "NOT", "OR"]
    alphabet += ["NEAR", "AND", "visit", "x-ray", "é", "\x00", "%", "_", "{", "}", "[", "]", "ct", "cat scan"]
    for _ in range(300):
        q = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        if not q.strip():
            continue
        store.search(TENANT, SearchRequest(q=q))  # type: ignore[call-arg]  # raises on any SQLite error
