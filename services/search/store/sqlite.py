"""The mention store on SQLite with FTS5: the embedded default, no search engine to run.

One database file (WAL mode) is shared by the indexer (the only writer) and every search
worker process (readers); WAL lets readers go on while a batch is written, and ``busy_timeout``
makes a second writer wait instead of failing.  Each thread gets its own connection.

Semantics follow ``EngineMentionStore``: the mention id is the primary key and the revision
time (ms) is an external version compared with ``>=``, so replays change nothing and an older
revision never overwrites a newer one; an erasure marker carries ``ERASED_VERSION`` and wins
over every replay.  Differences that cannot be removed (BM25 statistics differ from Lucene's, so
relevance order may differ) are documented in docs/embedded.md.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import sqlite3
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from common.schema import ScoredMention
from services.search.store.base import (
    OWN_PRACTICE_KEY,
    Bucket,
    InvalidCursor,
    MentionFilter,
    PracticeFigures,
    RatingBucket,
    RatingCell,
    ReputationRequest,
    SearchHit,
    SearchPage,
    SearchRequest,
    Stats,
    StatsRequest,
    TimeBucket,
    TopicBucket,
    WriteReport,
)
from services.search.store.fts_query import FtsQuery, translate
from services.search.store.indexed import ERASED_VERSION, _public, document_from_mention
from services.search.store.sqlite_file import EmbeddedStoreError, SqliteFile

__all__ = ["EmbeddedStoreError", "SqliteMentionStore", "bucket_starts"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ASPECTS = ("staff", "punctuality", "helpfulness", "knowledge")
_HIGHLIGHT_OPEN, _HIGHLIGHT_CLOSE = "\x02", "\x03"  # sentinels, replaced after HTML escaping
_HIGHLIGHT_WHOLE_TEXT_UP_TO = 160  # Elasticsearch's fragment_size in EngineMentionStore

# ``mentions`` holds only what filters, sorts and aggregates read, so scans over a practice's
# 100,000 rows touch a few MB; the wide columns (text, the JSON document) live in
# ``mention_docs`` under the same rowid, which is also FTS5's external content table.
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mentions (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    version INTEGER NOT NULL,
    erased INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    competitor TEXT,
    location TEXT,
    provider TEXT,
    source TEXT,
    kind TEXT,
    language TEXT,
    label TEXT,
    rating REAL,
    rating_effective REAL,
    occurred_ms INTEGER,
    ingested_ms INTEGER,
    month_utc INTEGER,
    topics TEXT,
    {", ".join(f"aspect_{a} REAL" for a in ASPECTS)}
);
-- Covering index: the tenant's rows in date order with every column that filters, facets and
-- histograms read, so analytics scan it sequentially and never visit the table.
CREATE INDEX IF NOT EXISTS mentions_scan ON mentions (
    tenant, occurred_ms, erased, deleted, competitor, label, rating, rating_effective, source, location,
    provider, kind, language, month_utc, topics, id
);
CREATE TABLE IF NOT EXISTS mention_docs (rowid INTEGER PRIMARY KEY, text TEXT NOT NULL, doc TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS mentions_fts USING fts5(
    text, content='mention_docs', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS mention_docs_ai AFTER INSERT ON mention_docs BEGIN
    INSERT INTO mentions_fts(rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS mention_docs_ad AFTER DELETE ON mention_docs BEGIN
    INSERT INTO mentions_fts(mentions_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER IF NOT EXISTS mention_docs_au AFTER UPDATE OF text ON mention_docs BEGIN
    INSERT INTO mentions_fts(mentions_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO mentions_fts(rowid, text) VALUES (new.rowid, new.text);
END;
"""

_COLUMNS = (
    "id, tenant, version, erased, deleted, competitor, location, provider, source, kind, language, label, "
    "rating, rating_effective, occurred_ms, ingested_ms, month_utc, topics, "
    + ", ".join(f"aspect_{a}" for a in ASPECTS)
)
_UPSERT = f"""
INSERT INTO mentions ({_COLUMNS}) VALUES ({", ".join("?" * len(_COLUMNS.split(",")))})
ON CONFLICT(id) DO UPDATE SET {", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in _COLUMNS.split(",")[1:])}
WHERE excluded.version >= mentions.version
RETURNING rowid
"""
_UPSERT_DOC = """
INSERT INTO mention_docs (rowid, text, doc) VALUES (?, ?, ?)
ON CONFLICT(rowid) DO UPDATE SET text = excluded.text, doc = excluded.doc
"""

# (column, direction source, nulls last); "order" takes the request's asc/desc.
_SORTS: dict[str, list[tuple[str, str]]] = {
    "relevance": [("score", "desc"), ("m.occurred_ms", "order"), ("m.id", "asc")],
    "date": [("m.occurred_ms", "order"), ("m.id", "asc")],
    "rating": [("m.rating", "order"), ("m.occurred_ms", "order"), ("m.id", "asc")],
}


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


@dataclass(frozen=True)
class _Where:
    sql: str
    params: list[Any]
    fts: FtsQuery | None


class SqliteMentionStore:
    """``MentionStore`` on one SQLite file; see the module docstring."""

    full_text_analysis = True  # English stemming (porter) and synonyms (query expansion)

    def __init__(self, path: Path | SqliteFile, *, busy_timeout_ms: int = 10_000) -> None:
        self.file = path if isinstance(path, SqliteFile) else SqliteFile(path, busy_timeout_ms=busy_timeout_ms)
        self.path = self.file.path
        self._connection = self.file.connection
        self._errors = self.file.errors
        self._executor: ThreadPoolExecutor | None = None
        self._executor_pid = 0

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.file.close()

    # ------------------------------------------------------------------------- schema
    def ensure_schema(self) -> None:
        """Open (or create) the file, check it, create the tables (see ``SqliteFile.create``)."""
        self.file.create(_SCHEMA)
        with self.file.transaction() as connection:
            row = connection.execute("SELECT value FROM meta WHERE key = 'mentions_schema'").fetchone()
            if row is None:
                connection.execute("INSERT INTO meta VALUES ('mentions_schema', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise EmbeddedStoreError(f"{self.path} has mentions schema {row[0]}; this code reads {SCHEMA_VERSION}")

    # ------------------------------------------------------------------------- writes
    def upsert(self, mentions: Sequence[ScoredMention]) -> WriteReport:
        """Write a batch in one transaction: all of it or none (a killed indexer replays it)."""
        report = WriteReport()
        if not mentions:
            return report
        with self.file.transaction() as connection:
            for mention in mentions:
                try:
                    row, text, doc = _row(mention)
                except (ValueError, TypeError) as error:
                    report.failed[mention.id] = f"{type(error).__name__}: {error}"[:500]
                    continue
                written = connection.execute(_UPSERT, row).fetchone()
                if written is None:
                    report.stale += 1
                    continue
                connection.execute(_UPSERT_DOC, (written[0], text, doc))
                report.written += 1
        return report

    def erase(self, tenant: str, mention_id: str) -> bool:
        """Replace the mention by a marker with the highest version (see EngineMentionStore.erase)."""
        if self.get(tenant, mention_id) is None:
            return False
        now = datetime.now(UTC)
        marker = {"id": mention_id, "tenant": tenant, "erased_at": now.isoformat(), "ingested_at": now.isoformat()}
        with self.file.transaction() as connection:
            row = connection.execute(
                "UPDATE mentions SET version = ?, erased = 1, deleted = 0, competitor = NULL, location = NULL, "
                "provider = NULL, source = NULL, kind = NULL, language = NULL, label = NULL, rating = NULL, "
                "rating_effective = NULL, occurred_ms = NULL, ingested_ms = ?, month_utc = NULL, topics = NULL, "
                + ", ".join(f"aspect_{a} = NULL" for a in ASPECTS)
                + " WHERE id = ? AND tenant = ? RETURNING rowid",
                (ERASED_VERSION, _ms(now), mention_id, tenant),
            ).fetchone()
            if row is not None:
                connection.execute(_UPSERT_DOC, (row[0], "", json.dumps(marker)))
        return True

    def is_erased(self, tenant: str, mention_id: str) -> bool:
        with self._errors():
            row = (
                self._connection()
                .execute("SELECT 1 FROM mentions WHERE id = ? AND tenant = ? AND erased = 1", (mention_id, tenant))
                .fetchone()
            )
        return row is not None

    def refresh(self) -> None:
        """Nothing to do: a committed write is visible to every reader at once."""

    def is_healthy(self) -> bool:
        try:
            self._connection().execute("SELECT 1 FROM mentions LIMIT 1").fetchall()
            return True
        except Exception:  # noqa: BLE001 - readiness answers "no" whatever the reason
            return False

    # ------------------------------------------------------------------------- reads
    def get(self, tenant: str, mention_id: str) -> dict[str, Any] | None:
        with self._errors():
            row = (
                self._connection()
                .execute(
                    "SELECT d.doc FROM mentions m JOIN mention_docs d ON d.rowid = m.rowid "
                    "WHERE m.id = ? AND m.tenant = ? AND m.erased = 0",
                    (mention_id, tenant),
                )
                .fetchone()
            )
        return _public(json.loads(row[0])) if row else None

    def search(self, tenant: str, request: SearchRequest) -> SearchPage:
        sort_key = request.effective_sort
        where = _where(tenant, request)
        if where.fts is not None and where.fts.matches_nothing:
            return SearchPage(total=0, hits=[], next_cursor=None)
        ranked = where.fts is not None and where.fts.positive is not None
        if sort_key == "relevance" and not ranked:
            sort_key_columns = [("0.0", "desc"), *_SORTS["relevance"][1:]]
        else:
            sort_key_columns = _SORTS[sort_key]
        keys = [
            (column, request.order if direction == "order" else direction) for column, direction in sort_key_columns
        ]
        score = "-bm25(mentions_fts)" if ranked else "NULL"
        source = "mentions_fts JOIN mentions m ON m.rowid = mentions_fts.rowid" if ranked else "mentions m"
        match_sql, match_params = (
            ("mentions_fts MATCH ? AND ", [where.fts.positive]) if ranked and where.fts else ("", [])
        )
        keys = [(score if c == "score" else c, d) for c, d in keys]
        after_sql, after_params = "", list[Any]()
        if request.cursor:
            values = decode_cursor(request.cursor, sort_key, len(keys))
            after_sql, after_params = _after(keys, values)
        order = ", ".join(f"{c} IS NULL, {c} {d.upper()}" if c == "m.rating" else f"{c} {d.upper()}" for c, d in keys)
        sql = (
            f"SELECT m.rowid, {score}, {', '.join(c for c, _ in keys)} FROM {source} "
            f"WHERE {match_sql}{where.sql}{after_sql} ORDER BY {order} LIMIT ?"
        )
        with self._errors():
            connection = self._connection()
            rows = connection.execute(sql, [*match_params, *where.params, *after_params, request.size]).fetchall()
            docs = self._docs(connection, [r[0] for r in rows])
            total = self._count(connection, where)
            highlights = self._highlights(connection, where.fts, [r[0] for r in rows]) if ranked else {}
        hits = [
            SearchHit(mention=_public(json.loads(docs[r[0]])), highlights=highlights.get(r[0], []), score=r[1])
            for r in rows
        ]
        next_cursor = encode_cursor(sort_key, list(rows[-1][2:])) if len(rows) == request.size else None
        return SearchPage(total=total, hits=hits, next_cursor=next_cursor)

    @staticmethod
    def _docs(connection: sqlite3.Connection, rowids: list[int]) -> dict[int, str]:
        if not rowids:
            return {}
        placeholders = ", ".join("?" * len(rowids))
        sql = f"SELECT rowid, doc FROM mention_docs WHERE rowid IN ({placeholders})"
        return dict(connection.execute(sql, rowids).fetchall())

    def _count(self, connection: sqlite3.Connection, where: _Where) -> int:
        return int(
            connection.execute(
                f"SELECT count(*) FROM mentions m WHERE {_with_fts(where)}", _fts_params(where)
            ).fetchone()[0]
        )

    def _highlights(
        self, connection: sqlite3.Connection, fts: FtsQuery | None, rowids: list[int]
    ) -> dict[int, list[str]]:
        if not rowids or fts is None or fts.positive is None:
            return {}
        marks = f"'{_HIGHLIGHT_OPEN}', '{_HIGHLIGHT_CLOSE}'"
        rows = connection.execute(
            f"SELECT rowid, highlight(mentions_fts, 0, {marks}), snippet(mentions_fts, 0, {marks}, '…', 30) "
            f"FROM mentions_fts WHERE mentions_fts MATCH ? AND rowid IN ({', '.join('?' * len(rowids))})",
            [fts.positive, *rowids],
        ).fetchall()
        result: dict[int, list[str]] = {}
        for rowid, whole, fragment in rows:
            marked = whole if len(whole) <= _HIGHLIGHT_WHOLE_TEXT_UP_TO else fragment
            if _HIGHLIGHT_OPEN in marked:
                escaped = html.escape(marked, quote=True)
                result[rowid] = [escaped.replace(_HIGHLIGHT_OPEN, "<mark>").replace(_HIGHLIGHT_CLOSE, "</mark>")]
        return result

    def stats(self, tenant: str, request: StatsRequest) -> Stats:
        """Facets and the time histogram; the independent passes run side by side.

        Each pass is one scan of the covering index; SQLite releases the GIL while it scans,
        so on a machine with free cores the wall time is that of the slowest pass.
        """
        where = _where(tenant, request)
        empty = Stats(0, [], [], [], [], [], [], None)
        if where.fts is not None and where.fts.matches_nothing:
            return empty
        condition, params = _with_fts(where), _fts_params(where)
        with self._errors():
            # The tenant's whole date range (two index probes): every filtered row lies inside.
            first, last = (
                self._connection()
                .execute(
                    "SELECT (SELECT min(occurred_ms) FROM mentions WHERE tenant = ?), "
                    "(SELECT max(occurred_ms) FROM mentions WHERE tenant = ?)",
                    (tenant, tenant),
                )
                .fetchone()
            )
            if first is None or last is None:
                return empty
            pool = self._pool()
            facets = {
                name: pool.submit(self._facet, column, size, condition, params)
                for name, column, size in (
                    ("source", "source", 50),
                    ("location", "location", 200),
                    ("provider", "provider", 200),
                )
            }
            topics = pool.submit(self._topics, condition, params)
            histogram, by_label, total, average = self._histogram(condition, params, request, first, last)
            return Stats(
                total=total,
                by_sentiment=by_label,
                by_source=facets["source"].result(),
                by_location=facets["location"].result(),
                by_provider=facets["provider"].result(),
                by_topic=topics.result(),
                histogram=histogram,
                average_rating=average,
            )

    def _pool(self) -> ThreadPoolExecutor:
        # A pool made before a fork has no threads in the child: make a new one there.
        if self._executor is None or self._executor_pid != os.getpid():
            self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sqlite-stats")
            self._executor_pid = os.getpid()
        return self._executor

    def _facet(self, column: str, size: int, condition: str, params: list[Any]) -> list[Bucket]:
        with self._errors():
            rows = self._connection().execute(
                f"SELECT {column}, count(*) c FROM mentions m WHERE {condition} AND {column} IS NOT NULL "
                f"GROUP BY {column} ORDER BY c DESC, {column} LIMIT {size}",
                params,
            )
            return [Bucket(key, count) for key, count in rows]

    def _topics(self, condition: str, params: list[Any]) -> list[TopicBucket]:
        topic_counts: dict[str, list[int]] = {}
        with self._errors():
            for key, count, negative in self._connection().execute(
                "SELECT m.topics, count(*), sum(m.label = 'negative') FROM mentions m "
                f"WHERE {condition} AND m.topics IS NOT NULL GROUP BY m.topics",
                params,
            ):
                for topic in key.strip("|").split("|"):
                    cell = topic_counts.setdefault(topic, [0, 0])
                    cell[0] += count
                    cell[1] += negative
        ranked = sorted(topic_counts.items(), key=lambda kv: (-kv[1][0], kv[0]))[:50]
        return [TopicBucket(key, count, negative) for key, (count, negative) in ranked]

    def _bucketed(
        self, condition: str, params: list[Any], bounds: list[int]
    ) -> Iterator[tuple[int, Any, int, Any, int]]:
        """(bucket index, label, count, rating sum, rating count) rows, one or more per bucket and label.

        When every bucket boundary falls on a UTC hour (or quarter hour: every zone in use today),
        SQLite groups by that slot with no Python call per row and the slots are mapped to buckets
        here, exactly; otherwise (historic odd offsets) a Python function places each row.
        """
        connection = self._connection()
        aligned = [size for size in (3_600_000, 900_000) if all(b % size == 0 for b in bounds)]
        slot = aligned[0] if aligned and bounds[0] >= 0 else None  # SQLite's "/" truncates toward zero
        if slot is None:
            connection.create_function("radar_bucket", 1, lambda ms: bisect_right(bounds, ms) - 1, deterministic=True)
            yield from connection.execute(
                f"SELECT radar_bucket(occurred_ms) b, label, count(*), sum(rating), count(rating) FROM mentions m "
                f"WHERE {condition} GROUP BY b, label",
                params,
            )
            return
        for slot_index, label, count, rating_sum, rating_count in connection.execute(
            f"SELECT occurred_ms / {slot} s, label, count(*), sum(rating), count(rating) FROM mentions m "
            f"WHERE {condition} GROUP BY s, label",
            params,
        ):
            yield bisect_right(bounds, slot_index * slot) - 1, label, count, rating_sum, rating_count

    def _histogram(
        self, condition: str, params: list[Any], request: StatsRequest, first: int, last: int
    ) -> tuple[list[TimeBucket], list[Bucket], int, float | None]:
        """Buckets from the first to the last non-empty one, the sentiment facet, the total and mean rating."""
        starts = bucket_starts(first, last, request.interval, ZoneInfo(request.time_zone))
        bounds = [_ms(s) or 0 for s in starts]
        counts = [0] * len(starts)
        sums = [0.0] * len(starts)
        rated = [0] * len(starts)
        labels: list[dict[str, int]] = [{} for _ in starts]
        for index, label, count, rating_sum, rating_count in self._bucketed(condition, params, bounds):
            counts[index] += count
            sums[index] += rating_sum or 0.0
            rated[index] += rating_count
            if label is not None:
                labels[index][label] = labels[index].get(label, 0) + count
        by_label: dict[str, int] = {}
        for cell in labels:
            for label, count in cell.items():
                by_label[label] = by_label.get(label, 0) + count
        total, all_rated = sum(counts), sum(rated)
        average = sum(sums) / all_rated if all_rated else None
        filled = [i for i, n in enumerate(counts) if n]
        histogram = [
            TimeBucket(
                start=starts[i],
                count=counts[i],
                average_rating=sums[i] / rated[i] if rated[i] else None,
                by_sentiment=dict(sorted(labels[i].items(), key=lambda kv: (-kv[1], kv[0]))),
            )
            for i in (range(filled[0], filled[-1] + 1) if filled else [])
        ]
        sentiment = [Bucket(k, n) for k, n in sorted(by_label.items(), key=lambda kv: (-kv[1], kv[0]))]
        return histogram, sentiment, total, average

    def compare(self, tenant: str, request: StatsRequest) -> list[PracticeFigures]:
        """The practice and its competitors side by side (see EngineMentionStore.compare)."""
        where = _where(tenant, request, side_by_side=True)
        if where.fts is not None and where.fts.matches_nothing:
            return []
        condition, params = _with_fts(where), _fts_params(where)
        practice = f"coalesce(m.competitor, '{OWN_PRACTICE_KEY}')"
        with self._errors():
            connection = self._connection()
            practices = connection.execute(
                f"SELECT {practice} p, count(*) c, avg(rating), sum(label = 'negative'), min(occurred_ms), "
                f"max(occurred_ms) FROM mentions m WHERE {condition} GROUP BY p ORDER BY c DESC, p LIMIT 100",
                params,
            ).fetchall()
            if not practices:
                return []
            zone = ZoneInfo(request.time_zone)
            starts = bucket_starts(min(p[4] for p in practices), max(p[5] for p in practices), request.interval, zone)
            bounds = [_ms(s) or 0 for s in starts]
            connection.create_function("radar_bucket", 1, lambda ms: bisect_right(bounds, ms) - 1, deterministic=True)
            cells: dict[tuple[str, int], tuple[int, float, int]] = {}
            for key, index, count, rating_sum, rating_count in connection.execute(
                f"SELECT {practice} p, radar_bucket(occurred_ms) b, count(*), sum(rating), count(rating) "
                f"FROM mentions m WHERE {condition} GROUP BY p, b",
                params,
            ):
                cells[(key, index)] = (count, rating_sum or 0.0, rating_count)
        figures = []
        for key, count, average, negative, first, last in practices:
            lo, hi = bisect_right(bounds, first) - 1, bisect_right(bounds, last) - 1
            histogram = []
            for index in range(lo, hi + 1):
                n, total, rated = cells.get((key, index), (0, 0.0, 0))
                histogram.append(
                    RatingBucket(start=starts[index], count=n, average_rating=total / rated if rated else None)
                )
            figures.append(
                PracticeFigures(
                    competitor=None if key == OWN_PRACTICE_KEY else key,
                    count=count,
                    average_rating=average,
                    negative=negative or 0,
                    histogram=histogram,
                )
            )
        return figures

    def rating_cells(self, tenant: str, request: ReputationRequest) -> list[RatingCell]:
        """Monthly (UTC) sums of effective ratings per group and source, as the engine's cells."""
        where = _where(tenant, request)
        if where.fts is not None and where.fts.matches_nothing:
            return []
        group = "m.location" if request.by == "location" else "m.provider"
        sql = (
            f"SELECT {group} g, m.source s, m.month_utc mo, "
            f"sum(m.rating_effective), count(m.rating_effective) FROM mentions m "
            f"WHERE {_with_fts(where)} AND {group} IS NOT NULL AND m.source IS NOT NULL "
            f"GROUP BY g, s, mo HAVING count(m.rating_effective) > 0 ORDER BY g, s, mo"
        )
        with self._errors():
            rows = self._connection().execute(sql, _fts_params(where)).fetchall()
        return [
            RatingCell(
                group=g,
                source=s,
                month=datetime(month // 100, month % 100, 1, tzinfo=UTC),
                rating_sum=total,
                count=n,
            )
            for g, s, month, total, n in rows
        ]


# ----------------------------------------------------------------------------- helpers
def _topics_key(topics: Sequence[str]) -> str | None:
    """Topics as one indexed string, ``|a|b|`` (sorted): few distinct values, matched by ``instr``."""
    clean = sorted({t for t in topics if "|" not in t})
    return "|" + "|".join(clean) + "|" if clean else None


def _row(mention: ScoredMention) -> tuple[tuple[Any, ...], str, str]:
    """The narrow row, the text and the stored document of a mention."""
    doc = document_from_mention(mention)
    occurred = mention.published_at or mention.fetched_at
    aspects = mention.sentiment.aspects
    row = (
        mention.id,
        mention.tenant,
        _ms(mention.revision_time),
        0,
        1 if mention.deleted_at is not None else 0,
        mention.competitor,
        mention.location,
        mention.provider,
        mention.source,
        mention.kind,
        mention.language,
        mention.sentiment.label,
        mention.rating,
        doc["rating_effective"],
        _ms(occurred),
        _ms(mention.ingested_at),
        int(occurred.astimezone(UTC).strftime("%Y%m")),
        _topics_key(mention.sentiment.topics),
        *(aspects.get(a) for a in ASPECTS),
    )
    return row, mention.text, json.dumps(_public(doc), separators=(",", ":"))


def _where(tenant: str, f: MentionFilter, *, side_by_side: bool = False) -> _Where:
    """SQL conditions on ``mentions m`` equivalent to ``indexed.build_query``."""
    clauses = ["m.tenant = ?", "m.erased = 0", "m.deleted = 0"]
    params: list[Any] = [tenant]
    for column, values in (
        ("m.label", f.sentiment),
        ("m.source", f.source),
        ("m.location", f.location),
        ("m.provider", f.provider),
        ("m.kind", f.kind),
        ("m.language", f.language),
    ):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    if f.topic:
        clauses.append("(" + " OR ".join("instr(m.topics, ?) > 0" for _ in f.topic) + ")")
        params.extend(f"|{t}|" for t in f.topic)
    if side_by_side and f.competitor:
        clauses.append(f"(m.competitor IS NULL OR m.competitor IN ({', '.join('?' * len(f.competitor))}))")
        params.extend(f.competitor)
    elif side_by_side:
        pass
    elif f.competitor:
        clauses.append(f"m.competitor IN ({', '.join('?' * len(f.competitor))})")
        params.extend(f.competitor)
    else:
        clauses.append("m.competitor IS NULL")
    for aspect in f.aspect:
        column = f"m.aspect_{aspect}"
        clauses.append(f"{column} IS NOT NULL")
        if f.aspect_min is not None:
            clauses.append(f"{column} >= ?")
            params.append(f.aspect_min)
        if f.aspect_max is not None:
            clauses.append(f"{column} <= ?")
            params.append(f.aspect_max)
    if f.rating_min is not None:
        clauses.append("m.rating >= ?")
        params.append(f.rating_min)
    if f.rating_max is not None:
        clauses.append("m.rating <= ?")
        params.append(f.rating_max)
    if f.date_from:
        clauses.append("m.occurred_ms >= ?")
        params.append(_ms(f.date_from))
    if f.date_to:
        clauses.append("m.occurred_ms <= ?")
        params.append(_ms(f.date_to))
    fts = translate(f.q) if f.q else None
    if fts is not None and fts.negative is not None:
        clauses.append("m.rowid NOT IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?)")
        params.append(fts.negative)
    return _Where(" AND ".join(clauses), params, fts)


def _with_fts(where: _Where) -> str:
    """The conditions plus the positive full-text match as a rowid filter (no ranking needed)."""
    if where.fts is not None and where.fts.positive is not None:
        return f"m.rowid IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?) AND {where.sql}"
    return where.sql


def _fts_params(where: _Where) -> list[Any]:
    if where.fts is not None and where.fts.positive is not None:
        return [where.fts.positive, *where.params]
    return where.params


def _after(keys: list[tuple[str, str]], values: list[Any]) -> tuple[str, list[Any]]:
    """Keyset condition: rows strictly after ``values`` in the sort order (NULLs sort last)."""
    alternatives: list[str] = []
    params: list[Any] = []
    for i, (column, direction) in enumerate(keys):
        parts: list[str] = []
        part_params: list[Any] = []
        for (prev, _), value in zip(keys[:i], values[:i], strict=True):
            if value is None:
                parts.append(f"{prev} IS NULL")
            else:
                parts.append(f"{prev} = ?")
                part_params.append(value)
        value = values[i]
        if value is None:
            continue  # nothing sorts after NULL except equal NULLs, handled by later keys
        operator = ">" if direction == "asc" else "<"
        parts.append(f"({column} {operator} ? OR {column} IS NULL)")
        part_params.append(value)
        alternatives.append("(" + " AND ".join(parts) + ")")
        params.extend(part_params)
    if not alternatives:
        return " AND 0", []
    return " AND (" + " OR ".join(alternatives) + ")", params


def bucket_starts(first_ms: int, last_ms: int, interval: str, zone: ZoneInfo) -> list[datetime]:
    """Calendar bucket starts in ``zone`` from the one holding ``first_ms`` to the one holding ``last_ms``.

    Days start at local midnight, weeks on Monday (as Elasticsearch's calendar_interval), months
    on the 1st; each start is an aware datetime in ``zone`` so DST shifts are honoured.
    """
    local = _from_ms(first_ms).astimezone(zone)
    day = local.date()
    if interval == "week":
        day -= timedelta(days=day.weekday())
    elif interval == "month":
        day = day.replace(day=1)
    starts: list[datetime] = []
    end = _from_ms(last_ms)
    while True:
        start = _local_midnight(day, zone)
        if start > end:
            break
        starts.append(start)
        if interval == "day":
            day += timedelta(days=1)
        elif interval == "week":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts


def _local_midnight(day: Any, zone: ZoneInfo) -> datetime:
    naive = datetime(day.year, day.month, day.day)
    aware = naive.replace(tzinfo=zone)
    # A midnight skipped by a DST jump: the day starts at the first instant that exists.
    return aware.astimezone(UTC).astimezone(zone)


def encode_cursor(sort_key: str, values: list[Any]) -> str:
    raw = json.dumps({"s": sort_key, "e": "sqlite", "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort_key: str, width: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = payload["v"]
        if payload["s"] != sort_key or payload.get("e") != "sqlite" or not isinstance(values, list):
            raise ValueError
        if len(values) != width or not all(v is None or isinstance(v, int | float | str) for v in values):
            raise ValueError
        if not isinstance(values[-1], str):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidCursor("the cursor does not belong to this query's sort; start again without it") from None
    return values
