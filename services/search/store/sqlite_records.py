"""Practice profiles and the audit trail in the embedded SQLite file (beside the mentions).

The engine versions keep them in ``<alias>-practices`` and ``<alias>-audit``; here they are two
tables of the same file as the mentions, so one file holds (and backs up) everything.
"""

from __future__ import annotations

import json
from typing import Any

from services.search.audit.models import AuditQuery, AuditRecord
from services.search.audit.store import _decode, _encode
from services.search.practice.models import PracticeProfile
from services.search.store.sqlite_file import SqliteFile

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
