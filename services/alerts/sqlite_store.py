"""Alert rules and alerts in the embedded SQLite file, with the engine store's semantics.

Each record is its JSON document plus the columns the queries filter and sort on (times as
UTC microseconds, so comparisons never depend on how an offset was written).  Conditional
writes use a ``version`` column (``Versioned.seq_no``; ``primary_term`` is always 1): an update
succeeds only if the row is still at the version that was read, a create only if the id is
absent, so a replayed mention never raises the same rule twice.  Writes are visible at once:
``refresh`` is accepted and has nothing to do.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from services.alerts.models import AlertQuery, AlertRecord, RuleRecord
from services.alerts.store import ERASED_EXCERPT, Conflict, Versioned
from services.search.store.sqlite_file import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_rules (
    key TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_rules_by_tenant ON alert_rules (tenant, created_us, id);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    mention_id TEXT NOT NULL,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    label TEXT,
    created_us INTEGER NOT NULL,
    delivery_state TEXT NOT NULL,
    due_us INTEGER,
    claimed_us INTEGER,
    delivered_us INTEGER,
    delivered_as TEXT,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_tenant ON alerts (tenant, created_us, id);
CREATE INDEX IF NOT EXISTS alerts_by_mention ON alerts (tenant, mention_id);
CREATE INDEX IF NOT EXISTS alerts_by_delivery ON alerts (delivery_state, due_us);
"""

_ALERT_COLUMNS = (
    "tenant, rule_id, mention_id, state, severity, label, created_us, delivery_state, due_us, claimed_us, "
    "delivered_us, delivered_as, doc"
)


def _us(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1_000_000)


def _alert_values(alert: AlertRecord) -> tuple[Any, ...]:
    return (
        alert.tenant,
        alert.rule_id,
        alert.mention_id,
        alert.state,
        alert.severity,
        alert.mention.label,
        _us(alert.created_at),
        alert.delivery_state,
        _us(alert.due_at),
        _us(alert.claimed_until),
        _us(alert.delivered_at),
        alert.delivered_as,
        alert.model_dump_json(),
    )


class SqliteAlertStore:
    """``AlertStore`` on SQLite; see the module docstring."""

    def __init__(self, file: SqliteFile) -> None:
        self.file = file

    def ensure_schema(self) -> None:
        self.file.create(_SCHEMA)

    def _rows(self, sql: str, params: list[Any]) -> list[Any]:
        with self.file.errors():
            return self.file.connection().execute(sql, params).fetchall()

    # ------------------------------------------------------------------------- rules
    def list_rules(self, tenant: str, enabled_only: bool = False) -> list[RuleRecord]:
        extra = " AND enabled = 1" if enabled_only else ""
        rows = self._rows(
            f"SELECT doc FROM alert_rules WHERE tenant = ?{extra} ORDER BY created_us, id LIMIT 1000", [tenant]
        )
        return [RuleRecord.model_validate_json(doc) for (doc,) in rows]

    def get_rule(self, tenant: str, rule_id: str) -> Versioned[RuleRecord] | None:
        rows = self._rows(
            "SELECT doc, version FROM alert_rules WHERE key = ? AND tenant = ?", [f"{tenant}.{rule_id}", tenant]
        )
        return Versioned(RuleRecord.model_validate_json(rows[0][0]), rows[0][1], 1) if rows else None

    def save_rule(self, rule: RuleRecord, previous: Versioned[RuleRecord] | None) -> None:
        key = f"{rule.tenant}.{rule.id}"
        values = (rule.tenant, rule.id, int(rule.enabled), _us(rule.created_at), rule.model_dump_json())
        with self.file.transaction() as connection:
            if previous is None:
                try:
                    connection.execute(
                        "INSERT INTO alert_rules (key, tenant, id, enabled, created_us, version, doc) "
                        "VALUES (?, ?, ?, ?, ?, 1, ?)",
                        (key, *values),
                    )
                except sqlite3.IntegrityError:
                    raise Conflict(key) from None
                return
            changed = connection.execute(
                "UPDATE alert_rules SET tenant = ?, id = ?, enabled = ?, created_us = ?, doc = ?, "
                "version = version + 1 WHERE key = ? AND version = ?",
                (*values, key, previous.seq_no),
            ).rowcount
            if not changed:
                raise Conflict(key)

    def delete_rule(self, tenant: str, rule_id: str) -> bool:
        """Delete a rule; the alerts it raised stay in the history."""
        with self.file.transaction() as connection:
            deleted = connection.execute(
                "DELETE FROM alert_rules WHERE key = ? AND tenant = ?", (f"{tenant}.{rule_id}", tenant)
            ).rowcount
        return bool(deleted)

    # ------------------------------------------------------------------------- alerts
    def erase_mention(self, tenant: str, mention_id: str) -> int:
        """Blank the excerpt and link of every alert the mention raised; the alerts stay."""
        with self.file.transaction() as connection:
            rows = connection.execute(
                "SELECT id, doc FROM alerts WHERE tenant = ? AND mention_id = ? LIMIT 1000", (tenant, mention_id)
            ).fetchall()
            for alert_id, doc in rows:
                alert = AlertRecord.model_validate_json(doc)
                alert.mention = alert.mention.model_copy(update={"excerpt": ERASED_EXCERPT, "url": None})
                connection.execute(
                    "UPDATE alerts SET doc = ?, version = version + 1 WHERE id = ?", (alert.model_dump_json(), alert_id)
                )
        return len(rows)

    def create_alert(self, alert: AlertRecord, *, refresh: bool = True) -> bool:
        try:
            with self.file.transaction() as connection:
                connection.execute(
                    f"INSERT INTO alerts (id, {_ALERT_COLUMNS}, version) VALUES (?, {', '.join('?' * 13)}, 1)",
                    (alert.id, *_alert_values(alert)),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def get_alert(self, tenant: str, alert_id: str) -> Versioned[AlertRecord] | None:
        rows = self._rows("SELECT doc, version FROM alerts WHERE id = ? AND tenant = ?", [alert_id, tenant])
        return Versioned(AlertRecord.model_validate_json(rows[0][0]), rows[0][1], 1) if rows else None

    def save_alert(self, alert: AlertRecord, previous: Versioned[AlertRecord], *, refresh: bool = True) -> None:
        assignments = ", ".join(f"{c.strip()} = ?" for c in _ALERT_COLUMNS.split(","))
        with self.file.transaction() as connection:
            changed = connection.execute(
                f"UPDATE alerts SET {assignments}, version = version + 1 WHERE id = ? AND version = ?",
                (*_alert_values(alert), alert.id, previous.seq_no),
            ).rowcount
            if not changed:
                raise Conflict(alert.id)

    def list_alerts(self, tenant: str, query: AlertQuery) -> list[AlertRecord]:
        clauses, params = ["tenant = ?"], [tenant]
        for column, value in (("state", query.state), ("severity", query.severity), ("rule_id", query.rule)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.date_from:
            clauses.append("created_us >= ?")
            params.append(_us(query.date_from))  # type: ignore[arg-type]
        if query.date_to:
            clauses.append("created_us <= ?")
            params.append(_us(query.date_to))  # type: ignore[arg-type]
        rows = self._rows(
            f"SELECT doc FROM alerts WHERE {' AND '.join(clauses)} ORDER BY created_us DESC, id ASC LIMIT ?",
            [*params, query.size],
        )
        return [AlertRecord.model_validate_json(doc) for (doc,) in rows]

    def count_delivered(
        self, tenant: str, rule_id: str, since: datetime, delivered_as: str
    ) -> tuple[int, datetime | None]:
        rows = self._rows(
            "SELECT count(*), min(delivered_us) FROM alerts WHERE tenant = ? AND rule_id = ? AND delivered_as = ? "
            "AND delivered_us >= ?",
            [tenant, rule_id, delivered_as, _us(since)],
        )
        total, first = rows[0]
        return int(total), _from_us(first) if first is not None else None

    def due(self, now: datetime, limit: int) -> list[Versioned[AlertRecord]]:
        stamp = _us(now)
        rows = self._rows(
            "SELECT doc, version FROM alerts WHERE (delivery_state = 'held' AND due_us <= ?) "
            "OR (delivery_state = 'sending' AND claimed_us <= ?) ORDER BY due_us IS NULL, due_us, id LIMIT ?",
            [stamp, stamp, limit],
        )
        return [Versioned(AlertRecord.model_validate_json(doc), version, 1) for doc, version in rows]

    def period_alerts(self, tenant: str, since: datetime, limit: int) -> list[AlertRecord]:
        rows = self._rows(
            "SELECT doc FROM alerts WHERE tenant = ? AND created_us >= ? ORDER BY created_us DESC, id ASC LIMIT ?",
            [tenant, _us(since), limit],
        )
        return [AlertRecord.model_validate_json(doc) for (doc,) in rows]

    def open_counts(self, tenant: str) -> dict[str, Any]:
        rows = self._rows(
            "SELECT severity, count(*), sum(label = 'negative'), sum(state = 'open') FROM alerts "
            "WHERE tenant = ? AND state != 'resolved' GROUP BY severity ORDER BY count(*) DESC, severity",
            [tenant],
        )
        return {
            "open": sum(r[1] for r in rows),
            "open_negative": sum(r[2] or 0 for r in rows),
            "unacknowledged": sum(r[3] or 0 for r in rows),
            "by_severity": {r[0]: int(r[1]) for r in rows},
        }


def _from_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)
