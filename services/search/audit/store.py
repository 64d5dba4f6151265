"""Audit records in ``<alias>-audit`` on the mentions' engine: written once, never changed.

Each record is created with ``op_type=create`` under a random id, and nothing in the product
updates or deletes one; retention is at least six years (HIPAA's documentation rule, 45 CFR
164.316(b)(2)), so the index is never part of a reindex or an erasure.  Writes do not wait for a
refresh (an audit write should not slow the request it records); reads see them within a second.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Protocol

from services.search.audit.models import AuditQuery, AuditRecord
from services.search.store.base import InvalidCursor
from services.search.store.engines import SearchEngine
from services.search.store.records import KEYWORD, RecordIndex

AUDIT_MAPPING_VERSION = 1


def audit_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "id": KEYWORD,
            "at": {"type": "date"},
            "tenant": KEYWORD,
            "actor": KEYWORD,
            "role": KEYWORD,
            "action": KEYWORD,
            "method": KEYWORD,
            "route": KEYWORD,
            "targets": KEYWORD,
            "parameters": {"type": "object", "enabled": False},
            "detail": {"type": "object", "enabled": False},
            "status": {"type": "integer"},
            "request_id": KEYWORD,
        },
    }


class AuditLog(Protocol):
    def ensure_schema(self) -> None: ...

    def append(self, record: AuditRecord) -> None: ...

    def query(self, tenant: str, query: AuditQuery) -> tuple[list[AuditRecord], str | None]: ...


class EngineAuditLog(RecordIndex):
    def __init__(self, engine: SearchEngine, mentions_alias: str, *, shards: int = 1, replicas: int = 0) -> None:
        super().__init__(
            engine,
            mentions_alias,
            "audit",
            audit_mappings,
            version=AUDIT_MAPPING_VERSION,
            shards=shards,
            replicas=replicas,
        )

    def append(self, record: AuditRecord) -> None:
        self._ensure_ready()
        self.engine.index_document(self.alias, record.id, record.model_dump(mode="json"), refresh="false", create=True)

    def query(self, tenant: str, query: AuditQuery) -> tuple[list[AuditRecord], str | None]:
        self._ensure_ready()
        filters: list[dict[str, Any]] = [{"term": {"tenant": tenant}}]
        if query.action:
            filters.append({"terms": {"action": list(query.action)}})
        if query.actor:
            filters.append({"term": {"actor": query.actor}})
        if query.target:
            filters.append({"term": {"targets": query.target}})
        dates = {op: value.isoformat() for op, value in (("gte", query.date_from), ("lte", query.date_to)) if value}
        if dates:
            filters.append({"range": {"at": dates}})
        body: dict[str, Any] = {
            "query": {"bool": {"filter": filters}},
            "size": query.size,
            "sort": [{"at": "desc"}, {"id": "desc"}],
        }
        if query.cursor:
            body["search_after"] = _decode(query.cursor)
        hits = self.engine.search(self.alias, body)["hits"]["hits"]
        records = [AuditRecord.model_validate(h["_source"]) for h in hits]
        next_cursor = _encode(hits[-1]["sort"]) if len(hits) == query.size else None
        return records, next_cursor


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise InvalidCursor("not a cursor from this endpoint") from None
    # [epoch milliseconds of ``at``, the record id]: anything else would reach the engine as a 400.
    if not (
        isinstance(values, list)
        and len(values) == 2
        and isinstance(values[0], int)
        and not isinstance(values[0], bool)
        and 0 <= values[0] < 2**53
        and isinstance(values[1], str)
        and 0 < len(values[1]) <= 64
    ):
        raise InvalidCursor("not a cursor from this endpoint")
    return values
