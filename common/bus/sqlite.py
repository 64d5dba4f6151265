"""Embedded implementation of the bus: one SQLite file in WAL mode, shared by the processes of
one machine.  Same promises as ``common/bus/kafka.py`` (see ``docs/embedded.md``):

* ``publish`` is one ``BEGIN IMMEDIATE`` transaction; with ``synchronous=FULL`` (the default)
  the WAL is fsynced before it returns, so a published batch survives a process crash and a
  power cut.  ``NORMAL`` survives process crashes only and is faster.
* a message's partition is ``crc32(key) % partitions`` (stable across processes, unlike
  ``hash()``), so one key keeps its order; ``None`` keys are dealt round-robin.
* consumer groups: each subscription is a member row with a heartbeat (a background thread, so
  a long batch does not cost the membership); every member computes the same assignment from
  the member table (``common/bus/assignment.py``) and reads only its partitions.  A commit is
  refused (BusError, like Kafka's CommitFailedError) for partitions the member no longer owns,
  so a member that lost a partition in a rebalance cannot move the group's offset.
* retention deletes records older than the configured age; compacted topics instead drop values
  superseded by a later one for the same key (and tombstones older than the retention).
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from common.bus.assignment import TopicPartition, deal_partitions
from common.bus.base import BusError, BusUnavailable, Message, Record
from common.bus.sqlite_file import Synchronous, connect, open_checked

log = logging.getLogger(__name__)

BUS_FILE = "bus.sqlite3"
RETENTION_CHUNK = 5_000  # records deleted per retention transaction


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def partition_for(key: bytes, partitions: int) -> int:
    """Stable across processes and releases: the ordering domain of a key must never move."""
    return zlib.crc32(key) % partitions


class SqlitePublisher:
    """Appends batches in one transaction; returns once the transaction is committed."""

    def __init__(self, bus: SqliteBus) -> None:
        self._bus = bus
        self._conn = bus._connect()
        self._lock = threading.Lock()
        self._round_robin = 0

    def publish(self, topic: str, messages: Sequence[Message], timeout_s: float) -> None:
        if not messages:
            return
        with self._lock:
            conn = self._conn
            try:
                conn.execute(f"PRAGMA busy_timeout = {max(1, int(timeout_s * 1000))}")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._append(conn, topic, messages)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise BusUnavailable(f"the embedded bus did not store {len(messages)} message(s): {exc}") from exc
        self._bus._maybe_clean()

    def _append(self, conn: sqlite3.Connection, topic: str, messages: Sequence[Message]) -> None:
        row = conn.execute("SELECT partitions FROM topics WHERE name = ?", (topic,)).fetchone()
        if row is None:
            # Kafka's producer (allow_auto_create_topics=False) fails the same way.
            raise BusUnavailable(f"topic {topic!r} does not exist on the embedded bus")
        count = int(row[0])
        ends = dict(conn.execute("SELECT partition, next_offset FROM partitions WHERE topic = ?", (topic,)))
        now = _now_ms()
        rows = []
        for message in messages:
            if message.key is None:
                partition = self._round_robin % count
                self._round_robin += 1
            else:
                partition = partition_for(message.key, count)
            offset = ends[partition]
            ends[partition] = offset + 1
            rows.append((topic, partition, offset, message.key, message.value, now))
        conn.executemany(
            'INSERT INTO records (topic, partition, "offset", key, value, timestamp_ms) VALUES (?, ?, ?, ?, ?, ?)',
            rows,
        )
        touched = {r[1] for r in rows}
        conn.executemany(
            "UPDATE partitions SET next_offset = ? WHERE topic = ? AND partition = ?",
            [(ends[p], topic, p) for p in touched],
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _Heartbeat(threading.Thread):
    """Keeps the member alive while the owner processes a long batch, and expires dead members."""

    def __init__(self, subscription: SqliteSubscription, interval_s: float) -> None:
        super().__init__(name=f"bus-heartbeat-{subscription.member[:8]}", daemon=True)
        self._subscription = subscription
        self._interval_s = interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        conn = self._subscription._bus._connect()
        try:
            while not self.stopped.wait(self._interval_s):
                try:
                    self._subscription._beat(conn)
                except sqlite3.Error as exc:
                    log.warning("embedded bus heartbeat failed (%s); retrying", exc)
        finally:
            conn.close()


class SqliteSubscription:
    """A consumer-group member that commits explicitly, never automatically."""

    def __init__(self, bus: SqliteBus, topics: Sequence[str], group: str) -> None:
        self._bus = bus
        self._topics = sorted(set(topics))
        self._group = group
        self.member = f"{bus.client_id}-{uuid.uuid4().hex}"
        self._lock = threading.Lock()
        self._positions: dict[TopicPartition, int] = {}
        self._rotation = 0
        self._closed = False
        self._conn = bus._connect()
        try:
            self._write(self._join)
        except sqlite3.Error as exc:
            self._conn.close()
            raise BusUnavailable(f"cannot join consumer group {group!r}: {exc}") from exc
        self._heartbeat = _Heartbeat(self, bus.heartbeat_interval_s)
        self._heartbeat.start()

    # --- membership --------------------------------------------------------------------------
    def _write(self, action: Callable[[sqlite3.Connection], None], conn: sqlite3.Connection | None = None) -> None:
        conn = conn or self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            action(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _join(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO group_members (grp, member, topics, heartbeat_ms) VALUES (?, ?, ?, ?)",
            (self._group, self.member, json.dumps(self._topics), _now_ms()),
        )

    def _beat(self, conn: sqlite3.Connection) -> None:
        def beat(c: sqlite3.Connection) -> None:
            now = _now_ms()
            updated = c.execute(
                "UPDATE group_members SET heartbeat_ms = ? WHERE grp = ? AND member = ?",
                (now, self._group, self.member),
            ).rowcount
            if not updated and not self._closed:
                log.warning("embedded bus: member of %r had expired; joining again", self._group)
                self._join(c)
            expired = c.execute(
                "DELETE FROM group_members WHERE grp = ? AND heartbeat_ms < ?",
                (self._group, now - int(self._bus.session_timeout_s * 1000)),
            ).rowcount
            if expired:
                log.info("embedded bus: %d member(s) of %r expired; partitions move on", expired, self._group)

        if not self._closed:
            self._write(beat, conn)

    def _assignment(self, conn: sqlite3.Connection) -> set[TopicPartition]:
        members = {
            member: json.loads(topics)
            for member, topics in conn.execute("SELECT member, topics FROM group_members WHERE grp = ?", (self._group,))
        }
        marks = ",".join("?" * len(self._topics))
        partitions = dict(conn.execute(f"SELECT name, partitions FROM topics WHERE name IN ({marks})", self._topics))
        return deal_partitions(members, partitions).get(self.member, set())

    # --- consuming ---------------------------------------------------------------------------
    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        # While idle, re-read only when another connection committed something (PRAGMA
        # data_version, a counter read without touching a table): new records, a member joining,
        # a heartbeat expiring someone.  That keeps an idle worker near 0% CPU at a 10 ms latency.
        deadline = time.monotonic() + timeout_s
        seen_version: int | None = None
        while True:
            try:
                with self._lock:
                    version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
                    records = self._fetch(max_records) if version != seen_version else []
            except sqlite3.Error as exc:
                raise BusUnavailable(f"poll failed: {exc}") from exc
            if records:
                return records
            seen_version = version
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            time.sleep(min(self._bus.poll_interval_s, left))

    def _fetch(self, max_records: int) -> list[Record]:
        conn = self._conn
        conn.execute("BEGIN")  # one snapshot for assignment, log ends and records
        try:
            owned = self._assignment(conn)
            for lost in set(self._positions) - owned:
                del self._positions[lost]
            for gained in owned - set(self._positions):
                row = conn.execute(
                    "SELECT next_offset FROM group_offsets WHERE grp = ? AND topic = ? AND partition = ?",
                    (self._group, *gained),
                ).fetchone()
                self._positions[gained] = int(row[0]) if row else 0
            if not owned:
                return []
            marks = ",".join("?" * len(self._topics))
            ends = {
                (topic, partition): end
                for topic, partition, end in conn.execute(
                    f"SELECT topic, partition, next_offset FROM partitions WHERE topic IN ({marks})", self._topics
                )
            }
            ready = sorted(tp for tp in owned if ends.get(tp, 0) > self._positions[tp])
            if not ready:
                return []
            # Start at a different partition each time so one busy partition cannot starve the rest.
            self._rotation = (self._rotation + 1) % len(ready)
            ready = ready[self._rotation :] + ready[: self._rotation]
            records: list[Record] = []
            for topic, partition in ready:
                left = max_records - len(records)
                if left <= 0:
                    break
                position = self._positions[(topic, partition)]
                rows = conn.execute(
                    'SELECT "offset", key, value, timestamp_ms FROM records '
                    'WHERE topic = ? AND partition = ? AND "offset" >= ? ORDER BY "offset" LIMIT ?',
                    (topic, partition, position, left),
                ).fetchall()
                if not rows:
                    # Everything between the position and the end was removed by retention.
                    self._positions[(topic, partition)] = ends[(topic, partition)]
                    continue
                for offset, key, value, ts in rows:
                    records.append(Record(topic, partition, offset, key, bytes(value), ts))
                self._positions[(topic, partition)] = rows[-1][0] + 1
        finally:
            conn.execute("COMMIT")
        records.sort(key=lambda r: (r.topic, r.partition, r.offset))
        return records

    def lag(self) -> dict[tuple[str, int], int]:
        """Records not yet consumed on the partitions this member holds (log end minus position)."""
        try:
            with self._lock:
                owned = set(self._positions)
                if not owned:
                    return {}
                marks = ",".join("?" * len(self._topics))
                ends = {
                    (topic, partition): end
                    for topic, partition, end in self._conn.execute(
                        f"SELECT topic, partition, next_offset FROM partitions WHERE topic IN ({marks})", self._topics
                    )
                }
                return {tp: max(0, ends.get(tp, 0) - self._positions[tp]) for tp in owned}
        except sqlite3.Error as exc:
            raise BusUnavailable(f"cannot read the consumer's lag: {exc}") from exc

    def commit(self, records: Sequence[Record]) -> None:
        highest: dict[TopicPartition, int] = {}
        for record in records:
            tp = (record.topic, record.partition)
            highest[tp] = max(highest.get(tp, -1), record.offset)
        if not highest:
            return

        def store(conn: sqlite3.Connection) -> None:
            lost = set(highest) - self._assignment(conn)
            if lost:
                raise BusError(f"commit failed: partitions {sorted(lost)} were reassigned (rebalance)")
            conn.executemany(
                "INSERT INTO group_offsets (grp, topic, partition, next_offset) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (grp, topic, partition) DO UPDATE SET next_offset = excluded.next_offset",
                [(self._group, topic, partition, offset + 1) for (topic, partition), offset in highest.items()],
            )

        with self._lock:
            try:
                self._write(store)
            except sqlite3.Error as exc:
                raise BusError(f"commit failed: {exc}") from exc

    def close(self) -> None:
        """Leave the group at once so the partitions move on without waiting for the expiry."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._heartbeat.stopped.set()

            def leave(conn: sqlite3.Connection) -> None:
                conn.execute("DELETE FROM group_members WHERE grp = ? AND member = ?", (self._group, self.member))

            try:
                self._write(leave)
            except sqlite3.Error as exc:
                log.warning("embedded bus: leaving %r failed (%s); the member expires instead", self._group, exc)
            finally:
                self._conn.close()
        self._heartbeat.join(timeout=5)


class SqliteBus:
    """Factory for publishers and subscriptions on one SQLite file (several processes may share it)."""

    def __init__(
        self,
        path: Path,
        client_id: str = "radar",
        *,
        synchronous: Synchronous = "FULL",
        lock_timeout_s: float = 10.0,
        session_timeout_s: float = 10.0,
        heartbeat_interval_s: float | None = None,
        retention_s: float = 7 * 24 * 3600.0,
        cleanup_interval_s: float = 60.0,
        poll_interval_s: float = 0.01,
    ) -> None:
        self.path = Path(path)
        self.client_id = client_id
        self.synchronous: Synchronous = synchronous
        self.lock_timeout_s = lock_timeout_s
        self.session_timeout_s = session_timeout_s
        self.heartbeat_interval_s = heartbeat_interval_s or max(0.1, session_timeout_s / 4)
        self.retention_s = retention_s
        self.cleanup_interval_s = cleanup_interval_s
        self.poll_interval_s = poll_interval_s
        self._last_cleanup = time.monotonic()
        self._cleanup_lock = threading.Lock()
        # Fails here, at start-up, on a corrupted, foreign or locked file (BusFileError).
        open_checked(self.path, lock_timeout_s, synchronous).close()

    def _connect(self) -> sqlite3.Connection:
        try:
            return connect(self.path, self.lock_timeout_s, self.synchronous)
        except sqlite3.Error as exc:
            raise BusUnavailable(f"cannot open the embedded bus file {self.path}: {exc}") from exc

    def _create(self, names: Sequence[str], partitions: int, compacted: bool) -> None:
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise BusUnavailable(f"cannot open the embedded bus {self.path}: {exc}") from exc
        try:
            conn.execute("BEGIN IMMEDIATE")
            created = []
            for name in names:
                if conn.execute(
                    "INSERT OR IGNORE INTO topics (name, partitions, compacted) VALUES (?, ?, ?)",
                    (name, partitions, int(compacted)),
                ).rowcount:
                    created.append(name)
                    conn.executemany(
                        "INSERT OR IGNORE INTO partitions (topic, partition) VALUES (?, ?)",
                        [(name, p) for p in range(partitions)],
                    )
            conn.execute("COMMIT")
            if created:
                log.info("created %stopics %s", "compacted " if compacted else "", created)
        except sqlite3.Error as exc:
            raise BusUnavailable(f"cannot create topics {list(names)}: {exc}") from exc
        finally:
            conn.close()

    def ensure_topics(self, names: Sequence[str], partitions: int, replication: int) -> None:
        self._create(names, partitions, compacted=False)

    def ensure_compacted_topic(self, name: str, partitions: int, replication: int) -> None:
        self._create([name], partitions, compacted=True)

    def read_table(self, topic: str, timeout_s: float = 10.0) -> dict[bytes, bytes]:
        # One read transaction: a consistent snapshot up to the log end at that moment.
        table: dict[bytes, bytes] = {}
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise BusUnavailable(f"cannot read {topic!r}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {max(1, int(timeout_s * 1000))}")
            rows = conn.execute(
                'SELECT key, value FROM records WHERE topic = ? AND key IS NOT NULL ORDER BY partition, "offset"',
                (topic,),
            )
            for key, value in rows:
                if value:
                    table[bytes(key)] = bytes(value)
                else:
                    table.pop(bytes(key), None)
        except sqlite3.Error as exc:
            raise BusUnavailable(f"cannot read {topic!r}: {exc}") from exc
        finally:
            conn.close()
        return table

    def publisher(self) -> SqlitePublisher:
        return SqlitePublisher(self)

    def subscribe(self, topics: Sequence[str], group: str) -> SqliteSubscription:
        return SqliteSubscription(self, topics, group)

    def is_healthy(self, timeout_s: float = 2.0) -> bool:
        try:
            conn = connect(self.path, timeout_s, self.synchronous)
            try:
                conn.execute("SELECT count(*) FROM topics").fetchone()
            finally:
                conn.close()
            return True
        except sqlite3.Error:
            return False

    # --- retention ---------------------------------------------------------------------------
    def _maybe_clean(self) -> None:
        if time.monotonic() - self._last_cleanup < self.cleanup_interval_s:
            return
        if not self._cleanup_lock.acquire(blocking=False):
            return
        try:
            self._last_cleanup = time.monotonic()
            self.clean()
        except BusError as exc:
            log.warning("embedded bus retention skipped: %s", exc)
        finally:
            self._cleanup_lock.release()

    def clean(self, now_ms: int | None = None) -> int:
        """Apply retention now; return how many records were deleted.

        Runs by itself every ``cleanup_interval_s`` from whichever process publishes; public for
        tests and for an operator who wants the space back at once.
        """
        cutoff = (now_ms if now_ms is not None else _now_ms()) - int(self.retention_s * 1000)
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise BusError(f"cannot open the embedded bus {self.path}: {exc}") from exc
        deleted = 0
        try:
            # Expired records go in chunks, one short transaction each, so a week's backlog never
            # holds the write lock long enough to time out a publish in another process.
            while True:
                chunk = self._in_transaction(
                    conn,
                    lambda c: (
                        c.execute(
                            "DELETE FROM records WHERE id IN (SELECT id FROM records WHERE timestamp_ms < ? "
                            "AND topic IN (SELECT name FROM topics WHERE compacted = 0) LIMIT ?)",
                            (cutoff, RETENTION_CHUNK),
                        ).rowcount
                    ),
                )
                deleted += chunk
                if chunk < RETENTION_CHUNK:
                    break
            compacted = [row[0] for row in conn.execute("SELECT name FROM topics WHERE compacted = 1")]
            for topic in compacted:
                deleted += self._in_transaction(conn, functools.partial(self._compact, topic=topic, cutoff_ms=cutoff))
        except sqlite3.Error as exc:
            raise BusError(f"retention failed: {exc}") from exc
        finally:
            conn.close()
        if deleted:
            log.info("embedded bus retention removed %d record(s)", deleted)
        return deleted

    @staticmethod
    def _in_transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], int]) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
            return result
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _compact(conn: sqlite3.Connection, topic: str, cutoff_ms: int) -> int:
        """Keep the latest value per key; drop a latest tombstone only once older than the retention."""
        latest: dict[tuple[int, bytes], tuple[int, bool, int]] = {}
        doomed: list[int] = []
        rows = conn.execute(
            "SELECT id, partition, key, length(value), timestamp_ms FROM records "
            'WHERE topic = ? AND key IS NOT NULL ORDER BY partition, "offset"',
            (topic,),
        )
        for row_id, partition, key, length, ts in rows:
            slot = (partition, bytes(key))
            if slot in latest:
                doomed.append(latest[slot][0])
            latest[slot] = (row_id, length == 0, ts)
        doomed.extend(row_id for row_id, tombstone, ts in latest.values() if tombstone and ts < cutoff_ms)
        conn.executemany("DELETE FROM records WHERE id = ?", [(i,) for i in doomed])
        return len(doomed)
