"""Small per-tenant record indices beside the mentions alias (curation, practice profiles...).

Each is a versioned index (``<name>-v<N>``) behind an alias, with a strict mapping, created
through the ``SearchEngine`` adapter like the mentions index, so one engine (and one backup)
holds everything and both Elasticsearch and OpenSearch work.  Additive mapping changes apply
in place; anything else needs a new version.
"""

from __future__ import annotations

import logging
from typing import Any

from services.search.store.engines import SearchEngine

log = logging.getLogger(__name__)


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
