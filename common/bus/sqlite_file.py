"""The embedded bus's SQLite file: schema, connection settings and the start-up check.

Kept apart from the bus logic because it holds the one promise that matters most on a single
machine: a file that is corrupted, is not a database, or stays locked by another process must
stop the service at start-up with an error naming the file, never be silently replaced by an
empty bus (which would look like "no new mentions" while data sits unread on disk).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from common.bus.base import BusUnavailable

SCHEMA_VERSION = 1

Synchronous = Literal["FULL", "NORMAL"]

# ``records`` keeps the rowid (values are ~1 kB, too large for a WITHOUT ROWID b-tree) with a
# unique index on the log position; ``partitions.next_offset`` is the log end offset, kept apart
# because retention deletes records and offsets must never be reused.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    partitions INTEGER NOT NULL,
    compacted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS partitions (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    "offset" INTEGER NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    timestamp_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_position ON records (topic, partition, "offset");
CREATE INDEX IF NOT EXISTS records_age ON records (timestamp_ms);
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (grp, topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_members (
    grp TEXT NOT NULL,
    member TEXT NOT NULL,
    topics TEXT NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    PRIMARY KEY (grp, member)
) WITHOUT ROWID;
"""


class BusFileError(BusUnavailable):
    """The bus file cannot be used (corrupted, not a database, locked, unwritable); it names the file."""


def connect(path: Path, lock_timeout_s: float, synchronous: Synchronous, create: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit ``BEGIN IMMEDIATE``).

    Only the start-up check may create the file (``create``): a file deleted under running
    services must make them fail, not let them carry on with a fresh, empty bus.
    ``check_same_thread=False`` because a publisher is shared by request threads; every user
    holds its own lock around the connection.
    """
    uri = f"file:{quote(str(path))}?mode={'rwc' if create else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, timeout=lock_timeout_s, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(lock_timeout_s * 1000)}")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


def open_checked(path: Path, lock_timeout_s: float, synchronous: Synchronous) -> sqlite3.Connection:
    """Open (creating if missing) and verify the bus file; raise BusFileError naming it otherwise."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BusFileError(f"cannot create the bus directory {path.parent}: {exc}") from exc
    existed = path.exists() and path.stat().st_size > 0
    conn: sqlite3.Connection | None = None
    try:
        conn = connect(path, lock_timeout_s, synchronous, create=True)
        if existed:
            result = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
            if result != ["ok"]:
                lines = "\n".join(result).splitlines()
                summary = "; ".join(lines[:3]) + (f"; ... ({len(lines) - 3} more)" if len(lines) > 3 else "")
                raise BusFileError(
                    f"the bus file {path} is corrupted (PRAGMA quick_check: {summary}); "
                    "restore it from a backup or move it aside to start with an empty bus"
                )
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise BusFileError(f"the bus file {path} cannot use WAL mode (journal_mode is {mode})")
        # Holding the write lock proves no other process keeps the file locked beyond the timeout.
        conn.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        conn.execute("COMMIT")
    except BusFileError:
        if conn is not None:
            conn.close()
        raise
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        reason = str(exc)
        if "locked" in reason or "busy" in reason:
            raise BusFileError(
                f"the bus file {path} stayed locked by another process for {lock_timeout_s:g}s ({reason})"
            ) from exc
        raise BusFileError(
            f"the bus file {path} is not a usable SQLite database ({reason}); "
            "restore it from a backup or move it aside to start with an empty bus"
        ) from exc
    if int(version) != SCHEMA_VERSION:
        conn.close()
        raise BusFileError(f"the bus file {path} has schema version {version}; this release reads {SCHEMA_VERSION}")
    return conn
