"""Practice profiles, the audit trail and testimonial curation in the embedded SQLite file (beside the mentions).

The engine versions keep them in ``<alias>-practices`` and ``<alias>-audit``; here they are two
tables of the same file as the mentions, so one file holds (and backs up) everything.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.search.audit.models import AuditQuery, AuditRecord
from services.search.audit.store import _decode, _encode
from services.search.practice.models import PracticeProfile
from services.search.store.base import MentionFilter
from services.search.store.indexed import _public
from services.search.store.records import Conflict, Versioned
from services.search.store.sqlite import _where
from services.search.store.sqlite_file import SqliteFile
from services.search.testimonials.models import AuthorisationRecord, TestimonialRecord, TestimonialStatus
from services.search.testimonials.store import CANDIDATE_POOL

_PRACTICE_SCHEMA = """
CREATE TABLE IF NOT EXISTS practices (tenant TEXT PRIMARY KEY, doc TEXT NOT NULL);
"""

# Append-only: the code has no UPDATE or DELETE for it, and triggers refuse both, so a bug or a
# stray tool cannot rewrite the trail (HIPAA keeps it six years; see services/search/audit/store.py).
_AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    targets TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (tenant, at_us, id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
"""


class SqlitePracticeStore:
    """``PracticeStore``: one row per tenant; last write wins, as in the engine version."""

    def __init__(self, file: SqliteFile) -> None:
        self.file = file

    def ensure_schema(self) -> None:
        self.file.create(_PRACTICE_SCHEMA)

    def get(self, tenant: str) -> PracticeProfile:
        with self.file.errors():
            row = self.file.connection().execute("SELECT doc FROM practices WHERE tenant = ?", (tenant,)).fetchone()
        if row is None:
            return PracticeProfile.default(tenant)
        return PracticeProfile.model_validate_json(row[0])

    def save(self, profile: PracticeProfile) -> None:
        with self.file.transaction() as connection:
            connection.execute(
                "INSERT INTO practices (tenant, doc) VALUES (?, ?) "
                "ON CONFLICT(tenant) DO UPDATE SET doc = excluded.doc",
                (profile.tenant, profile.model_dump_json()),
            )


class SqliteAuditLog:
    """``AuditLog``: append-only rows; newest first with (time, id) cursors like the engine's."""

    def __init__(self, file: SqliteFile) -> None:
        self.file = file

    def ensure_schema(self) -> None:
        self.file.create(_AUDIT_SCHEMA)

    def append(self, record: AuditRecord) -> None:
        with self.file.transaction() as connection:
            connection.execute(
                "INSERT INTO audit (id, tenant, at_us, actor, action, targets, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.tenant,
                    _micros(record),
                    record.actor,
                    record.action,
                    json.dumps(record.targets),
                    record.model_dump_json(),
                ),
            )

    def query(self, tenant: str, query: AuditQuery) -> tuple[list[AuditRecord], str | None]:
        clauses = ["tenant = ?"]
        params: list[Any] = [tenant]
        if query.action:
            clauses.append(f"action IN ({', '.join('?' * len(query.action))})")
            params.extend(query.action)
        if query.actor:
            clauses.append("actor = ?")
            params.append(query.actor)
        if query.target:
            clauses.append("EXISTS (SELECT 1 FROM json_each(audit.targets) WHERE value = ?)")
            params.append(query.target)
        if query.date_from:
            clauses.append("at_us >= ?")
            params.append(int(query.date_from.timestamp() * 1_000_000))
        if query.date_to:
            clauses.append("at_us <= ?")
            params.append(int(query.date_to.timestamp() * 1_000_000))
        if query.cursor:
            at, last_id = _decode(query.cursor)
            if not isinstance(at, int):
                at = int(at)
            clauses.append("(at_us < ? OR (at_us = ? AND id < ?))")
            params.extend([at, at, last_id])
        sql = f"SELECT at_us, id, doc FROM audit WHERE {' AND '.join(clauses)} ORDER BY at_us DESC, id DESC LIMIT ?"
        with self.file.errors():
            rows = self.file.connection().execute(sql, [*params, query.size]).fetchall()
        records = [AuditRecord.model_validate_json(doc) for _, _, doc in rows]
        next_cursor = _encode([rows[-1][0], rows[-1][1]]) if len(rows) == query.size else None
        return records, next_cursor


def _micros(record: AuditRecord) -> int:
    return int(record.at.timestamp() * 1_000_000)


_CURATION_SCHEMA = """
CREATE TABLE IF NOT EXISTS testimonials (
    tenant TEXT NOT NULL,
    mention_id TEXT NOT NULL,
    status TEXT NOT NULL,
    published_us INTEGER,
    updated_us INTEGER NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant, mention_id)
);
CREATE TABLE IF NOT EXISTS authorisations (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    mention_id TEXT NOT NULL,
    signed_us INTEGER NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS authorisations_by_mention ON authorisations (tenant, mention_id);
"""


def _us(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1_000_000)


class SqliteCurationStore:
    """``CurationStore``: testimonial decisions and authorisations, conditional on a version column.

    ``Versioned.seq_no`` carries the row's version (``primary_term`` is always 1); an update
    succeeds only if the version is still the one read, and a create only if there is no row,
    so two marketers acting at once get a ``Conflict`` instead of losing a history entry.
    Candidates are read from the embedded mentions in the same file.
    """

    def __init__(self, file: SqliteFile) -> None:
        self.file = file

    def ensure_schema(self) -> None:
        self.file.create(_CURATION_SCHEMA)

    def is_healthy(self) -> bool:
        try:
            self.file.connection().execute("SELECT 1 FROM testimonials LIMIT 1").fetchall()
            return True
        except Exception:  # noqa: BLE001 - readiness answers "no" whatever the reason
            return False

    def erase_mention(self, tenant: str, mention_id: str) -> bool:
        with self.file.transaction() as connection:
            deleted = connection.execute(
                "DELETE FROM testimonials WHERE tenant = ? AND mention_id = ?", (tenant, mention_id)
            ).rowcount
        return bool(deleted)

    def candidate_pool(self, tenant: str, *, location: str | None = None) -> list[dict[str, Any]]:
        """As ``EngineCurationStore.candidate_pool``: positive, read from the text, unflagged, rated 4+ or unrated."""
        where = _where(tenant, MentionFilter(sentiment=["positive"], location=[location] if location else []))
        positive = "json_extract(d.doc, '$.sentiment.probabilities.positive')"
        sql = (
            "SELECT d.doc FROM mentions m JOIN mention_docs d ON d.rowid = m.rowid "
            f"WHERE {where.sql} AND json_extract(d.doc, '$.sentiment.basis') = 'text' "
            "AND coalesce(json_array_length(d.doc, '$.sentiment.flags'), 0) = 0 "
            "AND (m.rating IS NULL OR m.rating >= 4) "
            "AND m.id NOT IN (SELECT mention_id FROM testimonials WHERE tenant = ?) "
            f"ORDER BY {positive} IS NULL, {positive} DESC, m.occurred_ms DESC, m.id ASC LIMIT ?"
        )
        with self.file.errors():
            rows = self.file.connection().execute(sql, [*where.params, tenant, CANDIDATE_POOL]).fetchall()
        return [_public(json.loads(doc)) for (doc,) in rows]

    # ------------------------------------------------------------------------- testimonials
    def get_testimonial(self, tenant: str, mention_id: str) -> Versioned[TestimonialRecord] | None:
        with self.file.errors():
            row = (
                self.file.connection()
                .execute(
                    "SELECT doc, version FROM testimonials WHERE tenant = ? AND mention_id = ?", (tenant, mention_id)
                )
                .fetchone()
            )
        return None if row is None else Versioned(TestimonialRecord.model_validate_json(row[0]), row[1], 1)

    def save_testimonial(self, record: TestimonialRecord, previous: Versioned[TestimonialRecord] | None) -> None:
        doc = record.model_dump_json()
        key = f"{record.tenant}.{record.mention_id}"
        with self.file.transaction() as connection:
            if previous is None:
                try:
                    connection.execute(
                        "INSERT INTO testimonials (tenant, mention_id, status, published_us, updated_us, version, doc) "
                        "VALUES (?, ?, ?, ?, ?, 1, ?)",
                        (
                            record.tenant,
                            record.mention_id,
                            record.status,
                            _us(record.published_at),
                            _us(record.updated_at),
                            doc,
                        ),
                    )
                except sqlite3.IntegrityError:
                    raise Conflict(key) from None
                return
            changed = connection.execute(
                "UPDATE testimonials SET status = ?, published_us = ?, updated_us = ?, version = version + 1, doc = ? "
                "WHERE tenant = ? AND mention_id = ? AND version = ?",
                (
                    record.status,
                    _us(record.published_at),
                    _us(record.updated_at),
                    doc,
                    record.tenant,
                    record.mention_id,
                    previous.seq_no,
                ),
            ).rowcount
            if not changed:
                raise Conflict(key)

    def list_testimonials(self, tenant: str, status: TestimonialStatus | None, limit: int) -> list[TestimonialRecord]:
        clauses, params = ["tenant = ?"], [tenant]
        if status:
            clauses.append("status = ?")
            params.append(status)
        order = "published_us IS NULL, published_us DESC, " if status == "published" else ""
        sql = (
            f"SELECT doc FROM testimonials WHERE {' AND '.join(clauses)} "
            f"ORDER BY {order}updated_us DESC, mention_id ASC LIMIT ?"
        )
        with self.file.errors():
            rows = self.file.connection().execute(sql, [*params, limit]).fetchall()
        return [TestimonialRecord.model_validate_json(doc) for (doc,) in rows]

    # ------------------------------------------------------------------------- authorisations
    def add_authorisation(self, record: AuthorisationRecord) -> None:
        with self.file.transaction() as connection:
            try:
                connection.execute(
                    "INSERT INTO authorisations (id, tenant, mention_id, signed_us, version, doc) "
                    "VALUES (?, ?, ?, ?, 1, ?)",
                    (record.id, record.tenant, record.mention_id, _us(record.signed_at), record.model_dump_json()),
                )
            except sqlite3.IntegrityError:
                raise Conflict(record.id) from None

    def get_authorisation(self, tenant: str, authorisation_id: str) -> Versioned[AuthorisationRecord] | None:
        with self.file.errors():
            row = (
                self.file.connection()
                .execute(
                    "SELECT doc, version FROM authorisations WHERE id = ? AND tenant = ?", (authorisation_id, tenant)
                )
                .fetchone()
            )
        return None if row is None else Versioned(AuthorisationRecord.model_validate_json(row[0]), row[1], 1)

    def save_authorisation(self, record: AuthorisationRecord, previous: Versioned[AuthorisationRecord]) -> None:
        with self.file.transaction() as connection:
            changed = connection.execute(
                "UPDATE authorisations SET signed_us = ?, version = version + 1, doc = ? "
                "WHERE id = ? AND tenant = ? AND version = ?",
                (_us(record.signed_at), record.model_dump_json(), record.id, record.tenant, previous.seq_no),
            ).rowcount
            if not changed:
                raise Conflict(record.id)

    def list_authorisations(
        self, tenant: str, mention_ids: Sequence[str] | None, limit: int
    ) -> list[AuthorisationRecord]:
        clauses, params = ["tenant = ?"], [tenant]
        if mention_ids is not None:
            if not mention_ids:
                return []
            clauses.append(f"mention_id IN ({', '.join('?' * len(mention_ids))})")
            params.extend(mention_ids)
        sql = f"SELECT doc FROM authorisations WHERE {' AND '.join(clauses)} ORDER BY signed_us DESC, id ASC LIMIT ?"
        with self.file.errors():
            rows = self.file.connection().execute(sql, [*params, limit]).fetchall()
        return [AuthorisationRecord.model_validate_json(doc) for (doc,) in rows]
