"""Practice profiles: one document per tenant in ``<alias>-practices`` on the mentions' engine."""

from __future__ import annotations

from typing import Any, Protocol

from services.search.practice.models import PracticeProfile
from services.search.store.engines import SearchEngine
from services.search.store.records import KEYWORD, RecordIndex

PRACTICE_MAPPING_VERSION = 1


def practice_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "tenant": KEYWORD,
            "display_name": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
            "website": {"type": "keyword", "index": False},
            "time_zone": KEYWORD,
            "competitors": {
                "properties": {
                    "id": KEYWORD,
                    "name": {"type": "keyword", "ignore_above": 256},
                    "website": {"type": "keyword", "index": False},
                }
            },
            "staff": {"type": "keyword", "index": False},
            "phone": {"type": "keyword", "index": False},
            "contacts": {"type": "keyword", "index": False},
            "updated_at": {"type": "date"},
        },
    }


class PracticeStore(Protocol):
    def ensure_schema(self) -> None: ...

    def get(self, tenant: str) -> PracticeProfile:
        """The tenant's profile, or the default one (display name = tenant id) if never saved."""

    def save(self, profile: PracticeProfile) -> None: ...


class EnginePracticeStore(RecordIndex):
    def __init__(self, engine: SearchEngine, mentions_alias: str, *, shards: int = 1, replicas: int = 0) -> None:
        super().__init__(
            engine,
            mentions_alias,
            "practices",
            practice_mappings,
            version=PRACTICE_MAPPING_VERSION,
            shards=shards,
            replicas=replicas,
        )

    def get(self, tenant: str) -> PracticeProfile:
        self._ensure_ready()
        found = self.engine.get_document(self.alias, tenant)
        if found is None:
            return PracticeProfile.default(tenant)
        return PracticeProfile.model_validate(found["_source"])

    def save(self, profile: PracticeProfile) -> None:
        self._ensure_ready()
        # Last write wins: a profile is edited by one admin at a time and carries no history.
        self.engine.index_document(self.alias, profile.tenant, profile.model_dump(mode="json"), refresh="true")
