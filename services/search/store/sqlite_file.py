"""One SQLite database file shared by the embedded stores: connections, checks, transactions.

Every embedded store of the search service (mentions, practice profiles, audit...) keeps its
tables in the same file, as the engine stores keep their indices in one cluster: one thing to
back up.  WAL mode lets readers in other processes go on while one writer commits;
``busy_timeout`` makes a second writer wait instead of failing.  Connections are per thread.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.search.store.base import StoreUnavailable


class EmbeddedStoreError(RuntimeError):
    """The database file cannot be used (corrupt, not a database, locked): refuse to start.

    Not a ``StoreUnavailable``: starting anyway would serve an empty or partial store, or
    create a fresh one beside the damaged file, which is silent data loss.
    """


class SqliteFile:
    def __init__(self, path: Path, *, busy_timeout_ms: int = 10_000, mmap_bytes: int = 0) -> None:
        """``mmap_bytes`` 0 (the default) reads pages through the OS cache: each connection that
        maps the file counts it again in the process's RSS (five connections held 770 MB of
        mapped file for a 224 MB database), which hides the real, small heap."""
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.mmap_bytes = int(mmap_bytes)
        self._local = threading.local()
        self._checked = False

    def connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and getattr(self._local, "pid", None) != os.getpid():
            # Opened before a fork (gunicorn --preload): an SQLite connection must never be used
            # on both sides of a fork, so the child opens its own and leaves the parent's alone.
            connection = None
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            connection.execute("PRAGMA synchronous = NORMAL")  # durable across process crashes in WAL
            connection.execute("PRAGMA cache_size = -8192")  # 8 MiB per connection; the file is also mapped
            connection.execute(f"PRAGMA mmap_size = {self.mmap_bytes}")
            self._local.connection = connection
            self._local.pid = os.getpid()
        return connection

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    @contextmanager
    def errors(self) -> Iterator[None]:
        """SQLite errors at run time become ``StoreUnavailable`` (a 503, retried later)."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise  # a constraint said no (create-if-absent): the caller's answer, not an outage
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(f"embedded store {self.path}: {error}") from error
        except sqlite3.DatabaseError as error:
            raise StoreUnavailable(f"embedded store {self.path} is damaged: {error}") from error

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (``BEGIN IMMEDIATE``): all of it commits or none."""
        with self.errors():
            connection = self.connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def create(self, schema: str) -> None:
        """Check the file once (WAL, quick check), then run ``schema`` (idempotent DDL) in one transaction.

        A file that is not an SQLite database, fails the quick check, or stays locked past the
        busy timeout raises ``EmbeddedStoreError`` naming the file, so the service refuses to
        start instead of serving nothing.
        """
        try:
            connection = self.connection()
            if not self._checked:
                mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise EmbeddedStoreError(f"{self.path}: cannot switch to WAL (journal_mode is {mode})")
                problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
                if problems != ["ok"]:
                    raise EmbeddedStoreError(f"{self.path} is corrupt: {'; '.join(problems[:5])}")
            connection.executescript("BEGIN IMMEDIATE;" + schema + "COMMIT;")
            self._checked = True
        except EmbeddedStoreError:
            self.close()
            raise
        except sqlite3.OperationalError as error:
            self.close()
            if "locked" in str(error) or "busy" in str(error):
                raise EmbeddedStoreError(
                    f"{self.path} is locked by another process (waited {self.busy_timeout_ms} ms): {error}"
                ) from error
            raise EmbeddedStoreError(f"{self.path} cannot be opened: {error}") from error
        except sqlite3.DatabaseError as error:
            self.close()
            raise EmbeddedStoreError(f"{self.path} is not a usable SQLite database: {error}") from error
