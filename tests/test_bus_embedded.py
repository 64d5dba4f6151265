"""What only the embedded bus has to prove: several processes on one file, group membership by
heartbeats, a SIGKILLed worker, retention and compaction, and a refusal to start on a bad file."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from common.bus import BusError, BusUnavailable, Message, Record
from common.bus.assignment import deal_partitions
from common.bus.factory import connect_bus
from common.bus.kafka import KafkaBus
from common.bus.sqlite import SqliteBus, SqliteSubscription
from common.bus.sqlite_file import BusFileError
from common.settings import Settings
from tests import bus_children

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "bus.sqlite3"


def poll_until(subscription: SqliteSubscription, expected: int, timeout_s: float = 30) -> list[Record]:
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while len(records) < expected and time.monotonic() < deadline:
        batch = subscription.poll(500, timeout_s=0.5)
        subscription.commit(batch)
        records.extend(batch)
    return records


def committed(path: Path, group: str) -> dict[tuple[str, int], int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT topic, partition, next_offset FROM group_offsets WHERE grp = ?", (group,))
        return {(t, p): o for t, p, o in rows}


def test_deal_partitions_is_deterministic_and_covers_every_partition() -> None:
    members = {"b": ["t", "u"], "a": ["t", "u"], "c": ["u"]}
    owned = deal_partitions(members, {"t": 3, "u": 1})
    assert owned == deal_partitions(dict(reversed(members.items())), {"t": 3, "u": 1})
    pairs = [tp for tps in owned.values() for tp in tps]
    assert sorted(pairs) == [("t", 0), ("t", 1), ("t", 2), ("u", 0)] and len(set(pairs)) == 4
    spread = deal_partitions({"a": ["t", "u"], "b": ["t", "u"]}, {"t": 1, "u": 1})
    assert spread == {"a": {("t", 0)}, "b": {("u", 0)}}, "one-partition topics do not all land on one member"


def test_connect_bus_follows_the_setting(tmp_path: Path) -> None:
    assert isinstance(connect_bus(Settings(bus="embedded", data_dir=tmp_path), "t"), SqliteBus)
    assert (tmp_path / "bus.sqlite3").exists()
    assert isinstance(connect_bus(Settings(bus="kafka"), "t"), KafkaBus)


def test_two_producer_processes_and_a_consumer_at_the_same_time(path: Path) -> None:
    bus = SqliteBus(path)
    bus.ensure_topics(["mentions"], partitions=4, replication=1)
    subscription = bus.subscribe(["mentions"], "g")
    producers = [
        SPAWN.Process(target=bus_children.produce, args=(str(path), "mentions", name, 3000, 100)) for name in "ab"
    ]
    for process in producers:
        process.start()
    records = poll_until(subscription, 6000, timeout_s=60)
    for process in producers:
        process.join(timeout=30)
        assert process.exitcode == 0
    subscription.close()
    values = [r.value.decode() for r in records]
    assert len(values) == len(set(values)) == 6000
    by_key: dict[bytes | None, list[int]] = defaultdict(list)
    for record in records:
        by_key[record.key].append(int(record.value.split(b":")[1]))
    assert all(numbers == sorted(numbers) for numbers in by_key.values()), "each key keeps its order"


def test_two_members_share_the_partitions_and_one_takes_over_when_the_other_stops(path: Path) -> None:
    bus = SqliteBus(path, session_timeout_s=1.0, heartbeat_interval_s=0.2)
    bus.ensure_topics(["t"], partitions=4, replication=1)
    first, second = bus.subscribe(["t"], "g"), bus.subscribe(["t"], "g")
    bus.publisher().publish("t", [Message(key=f"k{i}".encode(), value=b"v") for i in range(40)], timeout_s=5)
    a, b = first.poll(100, 1), second.poll(100, 1)
    parts_a, parts_b = {r.partition for r in a}, {r.partition for r in b}
    assert parts_a and parts_b and not parts_a & parts_b, "both work, on different partitions"
    assert len(a) + len(b) == 40

    # The first member hangs (no heartbeat, as a stuck or killed process): after the session
    # timeout the second owns every partition, and the first can no longer commit.
    first._heartbeat.stopped.set()
    first._heartbeat.join()
    stopped_at = time.monotonic()
    taken_over: list[Record] = []
    while len(second._positions) < 4 and time.monotonic() - stopped_at < 15:
        taken_over.extend(second.poll(100, 0.2))
    assert second._positions.keys() == {("t", p) for p in range(4)}
    # The session (1 s) counts from the last heartbeat, at most one interval (0.2 s) before the stop.
    assert time.monotonic() - stopped_at >= 0.8, "not before the session timeout"
    taken_over.extend(second.poll(100, 0.2))
    with pytest.raises(BusError, match="reassigned"):
        first.commit(a)
    second.commit(b)
    assert sorted((r.partition, r.offset) for r in taken_over) == sorted((r.partition, r.offset) for r in a), (
        "the uncommitted records of the stopped member are delivered to the survivor"
    )
    second.close()


def test_a_worker_killed_mid_batch_loses_nothing_and_redelivers_nothing_committed(path: Path) -> None:
    bus = SqliteBus(path, session_timeout_s=1.0)
    bus.ensure_topics(["source", "output"], partitions=3, replication=1)
    count = 300
    bus.publisher().publish(
        "source", [Message(key=f"k{i % 7}".encode(), value=f"m{i}".encode()) for i in range(count)], 5
    )
    worker = SPAWN.Process(target=bus_children.forward, args=(str(path), "source", "output", "fw", 1.0, 0.1))
    worker.start()
    deadline = time.monotonic() + 60
    while sum(committed(path, "fw").values()) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(timeout=10)
    at_kill = committed(path, "fw")
    assert 0 < sum(at_kill.values()) < count, "killed part-way through"

    # A restarted worker (here: a member of the same group in this process) finishes the job
    # once the dead member's heartbeat expired.
    restarted = bus.subscribe(["source"], "fw")
    publisher = bus.publisher()
    redelivered: list[Record] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        batch = restarted.poll(100, 0.5)
        if batch:
            publisher.publish("output", [Message(r.key, r.value) for r in batch], 5)
            restarted.commit(batch)
            redelivered.extend(batch)
        if sum(committed(path, "fw").values()) == count:
            break
    restarted.close()
    for record in redelivered:
        assert record.offset >= at_kill.get((record.topic, record.partition), 0), "a committed record came back"
    check = bus.subscribe(["output"], "check")
    outputs = poll_until(check, count + 100, timeout_s=3)
    check.close()
    assert {r.value for r in outputs} == {f"m{i}".encode() for i in range(count)}, "nothing acknowledged was lost"


def test_retention_deletes_old_records_and_consumers_skip_the_gap(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("common.bus.sqlite.RETENTION_CHUNK", 2)  # several short transactions
    bus = SqliteBus(path, retention_s=3600)
    bus.ensure_topics(["t"], partitions=1, replication=1)
    publisher = bus.publisher()
    publisher.publish("t", [Message(None, f"old{i}".encode()) for i in range(5)], 5)
    assert bus.clean() == 0, "nothing is old yet"
    assert bus.clean(now_ms=int(time.time() * 1000) + 3_601_000) == 5
    publisher.publish("t", [Message(None, b"new")], 5)
    subscription = bus.subscribe(["t"], "g")
    records = subscription.poll(10, 1)
    subscription.close()
    assert [(r.offset, r.value) for r in records] == [(5, b"new")], "offsets are never reused"


def test_compaction_keeps_the_latest_value_per_key_and_read_table_sees_the_same(path: Path) -> None:
    bus = SqliteBus(path, retention_s=3600)
    bus.ensure_compacted_topic("state", partitions=2, replication=1)
    bus.ensure_topics(["plain"], partitions=1, replication=1)
    publisher = bus.publisher()
    publisher.publish("state", [Message(b"a", b"1"), Message(b"b", b"1"), Message(b"c", b"1")], 5)
    publisher.publish("state", [Message(b"a", b"2"), Message(b"b", b""), Message(b"a", b"3")], 5)
    publisher.publish("plain", [Message(b"a", b"1"), Message(b"a", b"2")], 5)
    assert bus.read_table("state") == {b"a": b"3", b"c": b"1"}
    assert bus.read_table("missing") == {}
    assert bus.clean() == 3, "a=1, a=2 and b=1 were superseded; the young tombstone stays"
    assert bus.read_table("state") == {b"a": b"3", b"c": b"1"}
    assert bus.clean(now_ms=int(time.time() * 1000) + 3_601_000) == 3, "old tombstone and both plain records"
    assert bus.read_table("state") == {b"a": b"3", b"c": b"1"}, "a compacted topic keeps its latest values forever"


def test_a_file_that_is_not_a_database_is_refused_at_start_up(path: Path) -> None:
    path.write_bytes(b"these are not the bytes of a SQLite file\n" * 200)
    with pytest.raises(BusFileError, match=str(path)):
        SqliteBus(path)
    assert path.read_bytes().startswith(b"these are not"), "the file is left as it was for inspection"


def test_a_corrupted_database_is_refused_at_start_up(path: Path) -> None:
    bus = SqliteBus(path)
    bus.ensure_topics(["t"], partitions=1, replication=1)
    bus.publisher().publish("t", [Message(None, os.urandom(800)) for _ in range(200)], 5)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    with path.open("r+b") as handle:  # scribble over the middle pages, keep the header intact
        handle.seek(size // 3)
        handle.write(b"\xff" * (size // 3))
    with pytest.raises(BusFileError, match=r"corrupted|not a usable") as raised:
        SqliteBus(path)
    assert str(path) in str(raised.value)


def test_a_file_locked_by_another_process_is_refused_at_start_up(path: Path) -> None:
    SqliteBus(path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(BusFileError, match="locked") as raised:
            SqliteBus(path, lock_timeout_s=0.5)
        assert str(path) in str(raised.value) and time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()
    SqliteBus(path, lock_timeout_s=0.5)  # usable again once the other process let go


def test_the_ingest_api_runs_on_the_embedded_bus(tmp_path: Path) -> None:
    """The service wiring end to end: 202 means the mention is in the file, readiness asks the file."""
    from services.ingest.app import create_app
    from tests.conftest import ADMIN_KEY, TENANT, auth

    settings = Settings(
        bus="embedded",
        data_dir=tmp_path,
        topic_prefix="emb",
        topic_partitions=2,
        api_keys=f"{ADMIN_KEY}={TENANT}:admin",
    )
    bus = connect_bus(settings, client_id="radar-ingest")
    client = create_app(settings, bus=bus).test_client()
    assert client.get("/readyz").status_code == 200
    body = {"source": "google", "external_id": "g-embedded", "text": "Kind staff, quick scan.", "rating": 5}
    response = client.post("/v1/mentions", json=body, headers=auth())
    assert response.status_code == 202, response.get_json()
    subscription = bus.subscribe([settings.topics.raw], "check")
    records = subscription.poll(10, timeout_s=2)
    subscription.close()
    assert len(records) == 1 and b"g-embedded" in records[0].value


def test_a_bus_file_deleted_under_a_running_service_is_not_silently_recreated(path: Path) -> None:
    bus = SqliteBus(path)
    bus.ensure_topics(["t"], partitions=1, replication=1)
    path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    assert not bus.is_healthy()
    with pytest.raises(BusUnavailable):
        bus.publisher().publish("t", [Message(None, b"v")], timeout_s=1)
    assert not path.exists()


def test_lag_counts_what_the_member_has_not_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from common.bus import Message
    from common.bus.sqlite import SqliteBus

    bus = SqliteBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics(["lagging"], partitions=1, replication=1)
    bus.publisher().publish("lagging", [Message(key=b"k", value=b"%d" % i) for i in range(10)], timeout_s=5)
    subscription = bus.subscribe(["lagging"], "lag-group")
    try:
        records = subscription.poll(4, timeout_s=5)
        assert len(records) == 4
        assert subscription.lag() == {("lagging", 0): 6}
    finally:
        subscription.close()
