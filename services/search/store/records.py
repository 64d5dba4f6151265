"""Small per-tenant record indices beside the mentions alias (curation, practice profiles...).

Each is a versioned index (``<name>-v<N>``) behind an alias, with a strict mapping, created
through the ``SearchEngine`` adapter like the mentions index, so one engine (and one backup)
holds everything and both Elasticsearch and OpenSearch work.  Additive mapping changes apply
in place; anything else needs a new version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from services.search.store.engines import Refresh, SearchEngine, WriteConflict

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

# Field types the record mappings share.
KEYWORD: dict[str, Any] = {"type": "keyword"}
STORED: dict[str, Any] = {"type": "text", "index": False}  # kept in _source, never searchable
OPAQUE: dict[str, Any] = {"type": "object", "enabled": False}


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """A record with the version it was read at, for a conditional write back."""

    record: T
    seq_no: int
    primary_term: int


class Conflict(Exception):
    """The record changed since it was read (or already exists); read again and retry."""


def ensure_record_index(
    engine: SearchEngine, alias: str, mappings: dict[str, Any], *, version: int, shards: int, replicas: int
) -> None:
    """Create ``<alias>-v<version>`` behind ``alias`` unless the alias exists (then update its mapping)."""
    if engine.alias_exists(alias):
        engine.put_mapping(alias, mappings)
        return
    index = f"{alias}-v{version}"
    if engine.index_exists(index):
        engine.put_alias(index, alias)
        return
    body = {
        "settings": {"number_of_shards": shards, "number_of_replicas": replicas},
        "mappings": mappings,
        "aliases": {alias: {"is_write_index": True}},
    }
    if engine.create_index_with(index, body):
        log.info("created index %s behind alias %s", index, alias)


class RecordIndices:
    """Record indices that share one mapping version, created together on first use.

    The schema is ensured lazily (``_ensure_ready``) because a service may start while the engine
    is still down; the first request then creates what is missing.  Writes are conditional on the
    version a record was read at, so two admins editing one record cannot silently overwrite
    each other: the loser gets ``Conflict`` and reads again.
    """

    def __init__(
        self,
        engine: SearchEngine,
        mappings: dict[str, Callable[[], dict[str, Any]]],
        *,
        version: int,
        shards: int = 1,
        replicas: int = 0,
    ) -> None:
        self.engine = engine
        self._mappings = mappings
        self._version = version
        self._shards = shards
        self._replicas = replicas
        self._ready = False

    def ensure_schema(self) -> None:
        for alias, mappings in self._mappings.items():
            ensure_record_index(
                self.engine, alias, mappings(), version=self._version, shards=self._shards, replicas=self._replicas
            )
        self._ready = True

    def _ensure_ready(self) -> None:
        """Create the indices on first use if the engine was down at start-up."""
        if not self._ready:
            self.ensure_schema()

    def drop(self) -> None:
        """Delete every version of the indices (tests and resets only)."""
        for alias in self._mappings:
            self.engine.delete_indices(f"{alias}-v*")

    def _get_versioned(self, index: str, doc_id: str, tenant: str, model: type[T]) -> Versioned[T] | None:
        """The tenant's record, or None when it is missing or belongs to another tenant."""
        self._ensure_ready()
        found = self.engine.get_document(index, doc_id)
        if found is None or found["_source"].get("tenant") != tenant:
            return None
        return Versioned(model.model_validate(found["_source"]), found["_seq_no"], found["_primary_term"])

    def _write_versioned(
        self, index: str, doc_id: str, record: BaseModel, previous: Versioned[Any] | None, *, refresh: bool = True
    ) -> None:
        """Create (``previous`` None) or replace the version read; ``Conflict`` if it changed meanwhile."""
        self._ensure_ready()
        document = record.model_dump(mode="json")
        mode: Refresh = "true" if refresh else "false"
        try:
            if previous is None:
                self.engine.index_document(index, doc_id, document, refresh=mode, create=True)
            else:
                self.engine.index_document(
                    index,
                    doc_id,
                    document,
                    refresh=mode,
                    if_seq_no=previous.seq_no,
                    if_primary_term=previous.primary_term,
                )
        except WriteConflict:
            raise Conflict(doc_id) from None


class RecordIndex(RecordIndices):
    """One record index beside the mentions alias (``<alias>-<suffix>``), created on first use."""

    def __init__(
        self,
        engine: SearchEngine,
        mentions_alias: str,
        suffix: str,
        mappings: Callable[[], dict[str, Any]],
        *,
        version: int,
        shards: int = 1,
        replicas: int = 0,
    ) -> None:
        self.alias = f"{mentions_alias}-{suffix}"
        super().__init__(engine, {self.alias: mappings}, version=version, shards=shards, replicas=replicas)
