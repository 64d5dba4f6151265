"""Where curation decisions and authorisations live: two small indices on the search engine.

``<alias>-testimonials`` holds one record per decided mention (document id ``<tenant>.<mention
id>``) and ``<alias>-authorisations`` one per signed authorisation.  Each is a versioned index
(``...-v1``) behind an alias of that name, with a strict mapping, created at start-up through the
``SearchEngine`` adapter, like the mentions index.  Each write refreshes its shard before it
returns (``refresh=true``: these are a few human-paced writes to tiny indices, where waiting a
whole refresh interval with ``wait_for`` would only slow every click), so the next list or feed
sees it; updates are conditional on the version that was read (``if_seq_no``), so two
marketers acting at once cannot lose a history entry.

Every read takes the tenant and filters on it here, as the mention store does.  Fields that
hold health information (the patient's name, the review snapshot) are stored but not indexed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from services.search.store.base import MentionFilter
from services.search.store.engines import SearchEngine
from services.search.store.indexed import build_query
from services.search.store.records import KEYWORD, OPAQUE, STORED, RecordIndices, Versioned
from services.search.testimonials.models import AuthorisationRecord, TestimonialRecord, TestimonialStatus

log = logging.getLogger(__name__)

CURATION_MAPPING_VERSION = 1
CANDIDATE_POOL = 1000  # positive mentions read per candidates request, before ranking
MAX_EXCLUDED = 10_000  # decided mentions excluded in the engine (the rest are filtered here)


def testimonial_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "tenant": KEYWORD,
            "mention_id": KEYWORD,
            "status": KEYWORD,
            "reason": STORED,
            "decided_by": KEYWORD,
            "decided_at": {"type": "date"},
            "published_at": {"type": "date"},
            "published_by": KEYWORD,
            "authorisation_id": KEYWORD,
            "updated_at": {"type": "date"},
            "mention": OPAQUE,
            "history": OPAQUE,
        },
    }


def authorisation_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "id": KEYWORD,
            "tenant": KEYWORD,
            "mention_id": KEYWORD,
            "patient_name": STORED,
            "representative_authority": STORED,
            "description": STORED,
            "disclosed_by": STORED,
            "disclosed_to": STORED,
            "purpose": STORED,
            "signed_at": {"type": "date"},
            "expires_at": {"type": "date"},
            "signature": KEYWORD,
            "document_ref": STORED,
            "show_author_name": {"type": "boolean"},
            "right_to_revoke_explained": {"type": "boolean"},
            "no_conditioning_explained": {"type": "boolean"},
            "redisclosure_explained": {"type": "boolean"},
            "created_at": {"type": "date"},
            "created_by": KEYWORD,
            "revoked_at": {"type": "date"},
            "revocation_reason": STORED,
            "revoked_by": KEYWORD,
            "retain_until": {"type": "date"},
        },
    }


class CurationStore(Protocol):
    def ensure_schema(self) -> None: ...

    def candidate_pool(self, tenant: str, *, location: str | None = None) -> list[dict[str, Any]]:
        """Undecided positive mentions read from the text and not flagged, most confident first."""

    def get_testimonial(self, tenant: str, mention_id: str) -> Versioned[TestimonialRecord] | None: ...

    def save_testimonial(self, record: TestimonialRecord, previous: Versioned[TestimonialRecord] | None) -> None:
        """Create (``previous`` None) or update conditionally; ``Conflict`` if it changed meanwhile."""

    def list_testimonials(
        self, tenant: str, status: TestimonialStatus | None, limit: int
    ) -> list[TestimonialRecord]: ...

    def add_authorisation(self, record: AuthorisationRecord) -> None: ...

    def get_authorisation(self, tenant: str, authorisation_id: str) -> Versioned[AuthorisationRecord] | None: ...

    def save_authorisation(self, record: AuthorisationRecord, previous: Versioned[AuthorisationRecord]) -> None: ...

    def list_authorisations(
        self, tenant: str, mention_ids: Sequence[str] | None, limit: int
    ) -> list[AuthorisationRecord]: ...

    def erase_mention(self, tenant: str, mention_id: str) -> bool:
        """Delete the curation record (it holds a copy of the review); authorisations are kept."""

    def is_healthy(self) -> bool: ...


class EngineCurationStore(RecordIndices):
    """The curation store on the mentions' engine, next to the mentions alias."""

    def __init__(self, engine: SearchEngine, alias: str, *, shards: int = 1, replicas: int = 0) -> None:
        self.mentions_alias = alias
        self.testimonials = f"{alias}-testimonials"
        self.authorisations = f"{alias}-authorisations"
        super().__init__(
            engine,
            {self.testimonials: testimonial_mappings, self.authorisations: authorisation_mappings},
            version=CURATION_MAPPING_VERSION,
            shards=shards,
            replicas=replicas,
        )

    def erase_mention(self, tenant: str, mention_id: str) -> bool:
        self._ensure_ready()
        return self.engine.delete_document(self.testimonials, self._testimonial_id(tenant, mention_id))

    def is_healthy(self) -> bool:
        try:
            return all(self.engine.health(i) in {"green", "yellow"} for i in (self.testimonials, self.authorisations))
        except Exception:  # noqa: BLE001 - readiness answers "no" whatever the reason
            return False

    # ------------------------------------------------------------------------- candidates
    def candidate_pool(self, tenant: str, *, location: str | None = None) -> list[dict[str, Any]]:
        self._ensure_ready()
        query = build_query(tenant, MentionFilter(sentiment=["positive"], location=[location] if location else []))
        decided = self._decided_ids(tenant)
        query["bool"]["filter"].append({"term": {"sentiment.basis": "text"}})
        query["bool"]["must_not"] += [{"exists": {"field": "sentiment.flags"}}, {"range": {"rating": {"lt": 4}}}]
        if decided:
            query["bool"]["must_not"].append({"terms": {"id": sorted(decided)[:MAX_EXCLUDED]}})
        body = {
            "query": query,
            "size": CANDIDATE_POOL,
            "sort": [
                {"sentiment.probabilities.positive": {"order": "desc", "missing": "_last", "unmapped_type": "float"}},
                {"occurred_at": {"order": "desc", "missing": "_last", "unmapped_type": "date"}},
                {"id": {"order": "asc"}},
            ],
        }
        hits = self.engine.search(self.mentions_alias, body)["hits"]["hits"]
        return [
            {k: v for k, v in h["_source"].items() if k not in ("occurred_at", "rating_effective")}
            for h in hits
            if h["_source"].get("id") not in decided
        ]

    def _decided_ids(self, tenant: str) -> set[str]:
        body = {
            "query": {"bool": {"filter": [{"term": {"tenant": tenant}}]}},
            "size": MAX_EXCLUDED,
            "_source": ["mention_id"],
        }
        hits = self.engine.search(self.testimonials, body)["hits"]["hits"]
        return {h["_source"]["mention_id"] for h in hits}

    # ------------------------------------------------------------------------- testimonials
    @staticmethod
    def _testimonial_id(tenant: str, mention_id: str) -> str:
        return f"{tenant}.{mention_id}"

    def get_testimonial(self, tenant: str, mention_id: str) -> Versioned[TestimonialRecord] | None:
        doc_id = self._testimonial_id(tenant, mention_id)
        return self._get_versioned(self.testimonials, doc_id, tenant, TestimonialRecord)

    def save_testimonial(self, record: TestimonialRecord, previous: Versioned[TestimonialRecord] | None) -> None:
        doc_id = self._testimonial_id(record.tenant, record.mention_id)
        self._write_versioned(self.testimonials, doc_id, record, previous)

    def list_testimonials(self, tenant: str, status: TestimonialStatus | None, limit: int) -> list[TestimonialRecord]:
        self._ensure_ready()
        filters: list[dict[str, Any]] = [{"term": {"tenant": tenant}}]
        if status:
            filters.append({"term": {"status": status}})
        sort = [{"published_at": {"order": "desc", "missing": "_last"}}] if status == "published" else []
        sort += [{"updated_at": {"order": "desc"}}, {"mention_id": {"order": "asc"}}]
        body = {"query": {"bool": {"filter": filters}}, "size": limit, "sort": sort}
        hits = self.engine.search(self.testimonials, body)["hits"]["hits"]
        return [TestimonialRecord.model_validate(h["_source"]) for h in hits]

    # ------------------------------------------------------------------------- authorisations
    def add_authorisation(self, record: AuthorisationRecord) -> None:
        self._write_versioned(self.authorisations, record.id, record, None)

    def get_authorisation(self, tenant: str, authorisation_id: str) -> Versioned[AuthorisationRecord] | None:
        return self._get_versioned(self.authorisations, authorisation_id, tenant, AuthorisationRecord)

    def save_authorisation(self, record: AuthorisationRecord, previous: Versioned[AuthorisationRecord]) -> None:
        self._write_versioned(self.authorisations, record.id, record, previous)

    def list_authorisations(
        self, tenant: str, mention_ids: Sequence[str] | None, limit: int
    ) -> list[AuthorisationRecord]:
        self._ensure_ready()
        filters: list[dict[str, Any]] = [{"term": {"tenant": tenant}}]
        if mention_ids is not None:
            if not mention_ids:
                return []
            filters.append({"terms": {"mention_id": list(mention_ids)}})
        body = {
            "query": {"bool": {"filter": filters}},
            "size": limit,
            "sort": [{"signed_at": {"order": "desc"}}, {"id": {"order": "asc"}}],
        }
        hits = self.engine.search(self.authorisations, body)["hits"]["hits"]
        return [AuthorisationRecord.model_validate(h["_source"]) for h in hits]
