"""The mention store on a search engine (Elasticsearch or OpenSearch, through ``engines``).

Writes are idempotent by construction: the mention id is the document id and the revision time
(ms) is an external version with ``external_gte``, so replaying a batch changes nothing and a
late replay of an old edit can never overwrite a newer one.  The services address an alias;
concrete indices are versioned (``<alias>-v<N>``) and created from an index template, so a
mapping change is a new index, a reindex and an alias swap.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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
    StoreUnavailable,
    TimeBucket,
    TopicBucket,
    WriteReport,
)
from services.search.store.engines import SearchEngine
from services.search.store.mapping import MAPPING_VERSION, index_template, mappings

log = logging.getLogger(__name__)

# External version of an erasure marker: above any revision time in milliseconds (year 2^62 ms
# is 146 million years away) and below the engines' limit (2^63 - 1).
ERASED_VERSION = 2**62

_SORTS: dict[str, list[str]] = {
    "relevance": ["_score", "occurred_at", "id"],
    "date": ["occurred_at", "id"],
    "rating": ["rating", "occurred_at", "id"],
}
_HIGHLIGHT_TAGS = (["<mark>"], ["</mark>"])


@dataclass(frozen=True)
class ReindexReport:
    old_index: str
    new_index: str
    copied: int
    caught_up: int
    documents: int
    deleted_old: bool


class EngineMentionStore:
    def __init__(self, engine: SearchEngine, alias: str, *, shards: int = 1, replicas: int = 0) -> None:
        self.engine = engine
        self.alias = alias
        self._shards = shards
        self._replicas = replicas
        self.full_text_analysis: bool | None = None  # known after ensure_schema()

    # ------------------------------------------------------------------------- schema
    @property
    def template_name(self) -> str:
        return f"{self.alias}-template"

    def index_name(self, version: int = MAPPING_VERSION) -> str:
        return f"{self.alias}-v{version}"

    def ensure_schema(self) -> None:
        """Install the template and, on a fresh cluster, the first index behind the alias.

        English stemming and the radiology synonyms need the engine's analysis-common module;
        every production distribution has it, but Elastic's minimal test distribution does
        not, so the template falls back to the standard analyzer there (and says so).
        """
        self.full_text_analysis = "analysis-common" in self.engine.modules()
        if not self.full_text_analysis:
            log.warning("%s lacks analysis-common: English stemming and synonyms are off", self.engine.name)
        self.engine.put_index_template(
            self.template_name,
            index_template(
                f"{self.alias}-v*",
                shards=self._shards,
                replicas=self._replicas,
                full_analysis=self.full_text_analysis,
            ),
        )
        if not self.engine.alias_exists(self.alias):
            index = self.index_name()
            if self.engine.index_exists(index):
                self.engine.put_alias(index, self.alias)
            # Several processes start at once (the search API's workers, the indexer): whoever
            # creates the index first wins, and the others find it there.
            elif self.engine.create_index_with(index, {"aliases": {self.alias: {"is_write_index": True}}}):
                log.info("created index %s behind alias %s", index, self.alias)
        else:
            # Additive changes (a new field) apply in place; a conflicting change fails here,
            # loudly, and needs MAPPING_VERSION bumped and a reindex.
            self.engine.put_mapping(self.alias, mappings())

    def drop(self) -> None:
        """Delete every index behind the alias and the template (tests and resets only)."""
        self.engine.delete_indices(f"{self.alias}-v*")
        self.engine.delete_index_template(self.template_name)

    def current_index(self) -> str | None:
        indices = self.engine.indices_of_alias(self.alias)
        return indices[-1] if indices else None

    def reindex(self, target_version: int | None = None, *, delete_old: bool = False) -> ReindexReport:
        """Move the alias to a new index built from the current template, without downtime.

        The engine's own ``_reindex`` is absent from some distributions, so documents are copied
        client-side with their external versions: a copy can never overwrite a newer write.
        Writes keep going to the old index until the atomic alias swap; a catch-up pass then
        copies whatever arrived during the bulk copy.
        """
        self.ensure_schema()  # the template the new index will be created from
        old = self.current_index()
        if old is None:
            raise ValueError(f"alias {self.alias} points to no index")
        version = target_version or int(old.rsplit("-v", 1)[1]) + 1
        new = self.index_name(version)
        if new == old or self.engine.index_exists(new):
            raise ValueError(f"index {new} already exists; choose another version")
        self.engine.create_index(new, aliases={})
        started = datetime.now(UTC) - timedelta(seconds=5)
        copied = self._copy(old, new, since=None)
        self.engine.update_aliases(
            [
                {"remove": {"index": old, "alias": self.alias}},
                {"add": {"index": new, "alias": self.alias, "is_write_index": True}},
            ]
        )
        caught_up = self._copy(old, new, since=started)
        self.engine.refresh(new)
        if delete_old:
            self.engine.delete_indices(old)
        return ReindexReport(old, new, copied, caught_up, self.engine.count(new), deleted_old=delete_old)

    def _copy(self, source: str, target: str, since: datetime | None) -> int:
        query: dict[str, Any] = {"match_all": {}}
        if since is not None:
            query = {"range": {"ingested_at": {"gte": since.isoformat()}}}
        copied, after = 0, None
        while True:
            body: dict[str, Any] = {"query": query, "size": 500, "sort": [{"id": "asc"}], "version": True}
            if after:
                body["search_after"] = after
            hits = self.engine.search(source, body)["hits"]["hits"]
            if not hits:
                return copied
            actions = [
                {
                    "_op_type": "index",
                    "_index": target,
                    "_id": h["_id"],
                    "version": h["_version"],
                    "version_type": "external_gte",
                    "_source": h["_source"],
                }
                for h in hits
            ]
            for ok, item in self.engine.bulk(actions):
                if not ok and item["index"].get("status") != 409:
                    raise StoreUnavailable(f"copying {item['index']['_id']} failed: {item['index'].get('error')}")
            copied += len(hits)
            after = hits[-1]["sort"]

    # ------------------------------------------------------------------------- writes
    def upsert(self, mentions: Sequence[ScoredMention]) -> WriteReport:
        report = WriteReport()
        if not mentions:
            return report
        for ok, item in self.engine.bulk(self._actions(mentions)):
            outcome = item["index"]
            status = outcome.get("status", 0)
            if ok:
                report.written += 1
            elif status == 409:
                report.stale += 1  # a newer revision is already indexed
            elif status == 429 or status >= 500:
                raise StoreUnavailable(f"bulk item rejected with {status}")
            else:
                error = outcome.get("error", {})
                if isinstance(error, dict):
                    report.failed[outcome["_id"]] = f"{error.get('type', 'error')}: {error.get('reason', '')}"[:500]
                else:
                    report.failed[outcome["_id"]] = str(error)[:500]
        return report

    def _actions(self, mentions: Sequence[ScoredMention]) -> Iterator[dict[str, Any]]:
        for mention in mentions:
            yield {
                "_op_type": "index",
                "_index": self.alias,
                "_id": mention.id,
                "version": int(mention.revision_time.timestamp() * 1000),
                "version_type": "external_gte",
                "_source": document_from_mention(mention),
            }

    def erase(self, tenant: str, mention_id: str) -> bool:
        """Replace the mention with a marker that holds nothing but its id and tenant.

        The marker carries the highest external version the product ever writes, so a replay of
        the mention from Kafka, or a connector fetching it again, can never bring it back (each
        would be rejected as stale); search, statistics and reads skip markers.  False if there
        was no such mention for this tenant (or it was erased already).
        """
        if self.get(tenant, mention_id) is None:
            return False
        now = datetime.now(UTC).isoformat()
        marker = {"id": mention_id, "tenant": tenant, "erased_at": now, "ingested_at": now}
        action = {
            "_op_type": "index",
            "_index": self.alias,
            "_id": mention_id,
            "version": ERASED_VERSION,
            "version_type": "external_gte",
            "_source": marker,
        }
        for ok, item in self.engine.bulk([action]):
            if not ok:
                raise StoreUnavailable(f"erasing failed with {item['index'].get('status')}")
        self.engine.refresh(self.alias)
        return True

    def is_erased(self, tenant: str, mention_id: str) -> bool:
        query = {
            "bool": {
                "filter": [
                    {"term": {"tenant": tenant}},
                    {"term": {"id": mention_id}},
                    {"exists": {"field": "erased_at"}},
                ]
            }
        }
        return bool(self._search_raw(query, size=1)["hits"]["hits"])

    def refresh(self) -> None:
        self.engine.refresh(self.alias)

    # ------------------------------------------------------------------------- reads
    def get(self, tenant: str, mention_id: str) -> dict[str, Any] | None:
        page = self._search_raw(
            {
                "bool": {
                    "filter": [{"term": {"tenant": tenant}}, {"term": {"id": mention_id}}],
                    "must_not": [{"exists": {"field": "erased_at"}}],
                }
            },
            size=1,
        )
        hits = page["hits"]["hits"]
        return _public(hits[0]["_source"]) if hits else None

    def search(self, tenant: str, request: SearchRequest) -> SearchPage:
        sort_key = request.effective_sort
        sort = self._sort_clause(sort_key, request.order)
        body: dict[str, Any] = {
            "query": build_query(tenant, request),
            "sort": sort,
            "size": request.size,
            "track_total_hits": True,
        }
        if request.cursor:
            body["search_after"] = decode_cursor(request.cursor, sort_key, len(sort))
        if request.q:
            body["highlight"] = {
                "pre_tags": _HIGHLIGHT_TAGS[0],
                "post_tags": _HIGHLIGHT_TAGS[1],
                "fields": {"text": {"fragment_size": 160, "number_of_fragments": 3}},
                "encoder": "html",
            }
        result = self._call_search(body)
        hits = result["hits"]["hits"]
        page_hits = [
            SearchHit(
                mention=_public(h["_source"]),
                highlights=h.get("highlight", {}).get("text", []),
                score=h.get("_score"),
            )
            for h in hits
        ]
        next_cursor = encode_cursor(sort_key, hits[-1]["sort"]) if len(hits) == request.size else None
        return SearchPage(total=result["hits"]["total"]["value"], hits=page_hits, next_cursor=next_cursor)

    def stats(self, tenant: str, request: StatsRequest) -> Stats:
        body = {
            "query": build_query(tenant, request),
            "size": 0,
            "track_total_hits": True,
            "aggs": {
                "by_sentiment": {"terms": {"field": "sentiment.label", "size": 3}},
                "by_source": {"terms": {"field": "source", "size": 50}},
                "by_location": {"terms": {"field": "location", "size": 200}},
                "by_provider": {"terms": {"field": "provider", "size": 200}},
                "by_topic": {
                    "terms": {"field": "sentiment.topics", "size": 50},
                    "aggs": {"negative": {"filter": {"term": {"sentiment.label": "negative"}}}},
                },
                "average_rating": {"avg": {"field": "rating"}},
                "histogram": {
                    "date_histogram": {
                        "field": "occurred_at",
                        "calendar_interval": request.interval,
                        "time_zone": request.time_zone,
                        "min_doc_count": 0,
                    },
                    "aggs": {
                        "average_rating": {"avg": {"field": "rating"}},
                        "by_sentiment": {"terms": {"field": "sentiment.label", "size": 3}},
                    },
                },
            },
        }
        result = self._call_search(body)
        aggs = result["aggregations"]
        return Stats(
            total=result["hits"]["total"]["value"],
            by_sentiment=[Bucket(b["key"], b["doc_count"]) for b in aggs["by_sentiment"]["buckets"]],
            by_source=[Bucket(b["key"], b["doc_count"]) for b in aggs["by_source"]["buckets"]],
            by_location=[Bucket(b["key"], b["doc_count"]) for b in aggs["by_location"]["buckets"]],
            by_provider=[Bucket(b["key"], b["doc_count"]) for b in aggs["by_provider"]["buckets"]],
            by_topic=[
                TopicBucket(b["key"], b["doc_count"], b["negative"]["doc_count"]) for b in aggs["by_topic"]["buckets"]
            ],
            average_rating=aggs["average_rating"]["value"],
            histogram=[
                TimeBucket(
                    start=datetime.fromisoformat(b["key_as_string"]),
                    count=b["doc_count"],
                    average_rating=b["average_rating"]["value"],
                    by_sentiment={s["key"]: s["doc_count"] for s in b["by_sentiment"]["buckets"]},
                )
                for b in aggs["histogram"]["buckets"]
            ],
        )

    def compare(self, tenant: str, request: StatsRequest) -> list[PracticeFigures]:
        """The practice and its competitors side by side: volume, rating, negatives, rating trend."""
        body = {
            "query": build_query(tenant, request, side_by_side=True),
            "size": 0,
            "aggs": {
                "practices": {
                    "terms": {"field": "competitor", "missing": OWN_PRACTICE_KEY, "size": 100},
                    "aggs": {
                        "average_rating": {"avg": {"field": "rating"}},
                        "negative": {"filter": {"term": {"sentiment.label": "negative"}}},
                        "histogram": {
                            "date_histogram": {
                                "field": "occurred_at",
                                "calendar_interval": request.interval,
                                "time_zone": request.time_zone,
                                "min_doc_count": 0,
                            },
                            "aggs": {"average_rating": {"avg": {"field": "rating"}}},
                        },
                    },
                }
            },
        }
        buckets = self._call_search(body)["aggregations"]["practices"]["buckets"]
        return [
            PracticeFigures(
                competitor=None if b["key"] == OWN_PRACTICE_KEY else b["key"],
                count=b["doc_count"],
                average_rating=b["average_rating"]["value"],
                negative=b["negative"]["doc_count"],
                histogram=[
                    RatingBucket(
                        start=datetime.fromisoformat(h["key_as_string"]),
                        count=h["doc_count"],
                        average_rating=h["average_rating"]["value"],
                    )
                    for h in b["histogram"]["buckets"]
                ],
            )
            for b in buckets
        ]

    def rating_cells(self, tenant: str, request: ReputationRequest) -> list[RatingCell]:
        """Monthly sums of effective ratings per group and source (for the reputation score).

        Engine-side scripts are unavailable on some distributions, so recency weighting happens
        in Python over monthly cells; at a half-life of months the rounding is negligible.
        """
        body = {
            "query": build_query(tenant, request),
            "size": 0,
            "aggs": {
                "groups": {
                    "terms": {"field": request.by, "size": 1000},
                    "aggs": {
                        "sources": {
                            "terms": {"field": "source", "size": 100},
                            "aggs": {
                                "months": {
                                    "date_histogram": {"field": "occurred_at", "calendar_interval": "month"},
                                    "aggs": {
                                        "sum": {"sum": {"field": "rating_effective"}},
                                        "n": {"value_count": {"field": "rating_effective"}},
                                    },
                                }
                            },
                        }
                    },
                }
            },
        }
        aggs = self._call_search(body)["aggregations"]
        return [
            RatingCell(
                group=group["key"],
                source=source["key"],
                month=datetime.fromisoformat(month["key_as_string"]),
                rating_sum=month["sum"]["value"],
                count=month["n"]["value"],
            )
            for group in aggs["groups"]["buckets"]
            for source in group["sources"]["buckets"]
            for month in source["months"]["buckets"]
            if month["n"]["value"]
        ]

    def is_healthy(self) -> bool:
        try:
            return self.engine.health(self.alias) in {"green", "yellow"}
        except Exception:  # noqa: BLE001 - readiness answers "no" whatever the reason
            return False

    # ------------------------------------------------------------------------- helpers
    @staticmethod
    def _sort_clause(sort_key: str, order: str) -> list[dict[str, Any]]:
        clauses: list[dict[str, Any]] = []
        for field in _SORTS[sort_key]:
            if field == "id":
                clauses.append({"id": {"order": "asc"}})
            elif field == "_score":
                clauses.append({"_score": {"order": "desc"}})
            else:
                clauses.append({field: {"order": order, "missing": "_last", "unmapped_type": "date"}})
        return clauses

    def _call_search(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.engine.search(self.alias, body)

    def _search_raw(self, query: dict[str, Any], size: int) -> dict[str, Any]:
        return self._call_search({"query": query, "size": size})


def build_query(tenant: str, f: MentionFilter, *, side_by_side: bool = False) -> dict[str, Any]:
    """The bool query for a filter set, always confined to one tenant.

    ``side_by_side`` (the competitor comparison) keeps the practice's own mentions *and* its
    competitors' (only those in ``f.competitor`` when it names any).
    """
    filters: list[dict[str, Any]] = [{"term": {"tenant": tenant}}]
    for field, values in (
        ("sentiment.label", f.sentiment),
        ("source", f.source),
        ("location", f.location),
        ("provider", f.provider),
        ("kind", f.kind),
        ("sentiment.topics", f.topic),
        ("language", f.language),
    ):
        if values:
            filters.append({"terms": {field: list(values)}})
    # Competitors' reviews share the tenant's index (they are compared side by side) but never
    # count as the practice's own: without a competitor filter, only mentions without one match.
    # An erased mention is a marker only; a review its author deleted stays stored (with its
    # history) but is no longer the practice's reputation.
    must_not: list[dict[str, Any]] = [{"exists": {"field": "erased_at"}}, {"exists": {"field": "deleted_at"}}]
    own = {"bool": {"must_not": [{"exists": {"field": "competitor"}}]}}
    if side_by_side and f.competitor:
        filters.append(
            {"bool": {"should": [own, {"terms": {"competitor": list(f.competitor)}}], "minimum_should_match": 1}}
        )
    elif side_by_side:
        pass
    elif f.competitor:
        filters.append({"terms": {"competitor": list(f.competitor)}})
    else:
        must_not.append({"exists": {"field": "competitor"}})
    bounds = {op: value for op, value in (("gte", f.aspect_min), ("lte", f.aspect_max)) if value is not None}
    for aspect in f.aspect:
        field = f"sentiment.aspects.{aspect}"
        filters.append({"range": {field: bounds}} if bounds else {"exists": {"field": field}})
    rating: dict[str, float] = {}
    if f.rating_min is not None:
        rating["gte"] = f.rating_min
    if f.rating_max is not None:
        rating["lte"] = f.rating_max
    if rating:
        filters.append({"range": {"rating": rating}})
    dates: dict[str, str] = {}
    if f.date_from:
        dates["gte"] = f.date_from.isoformat()
    if f.date_to:
        dates["lte"] = f.date_to.isoformat()
    if dates:
        filters.append({"range": {"occurred_at": dates}})
    query: dict[str, Any] = {"bool": {"filter": filters, "must_not": must_not}}
    if f.q:
        query["bool"]["must"] = [
            {
                "simple_query_string": {
                    "query": f.q,
                    "fields": ["text", "text.exact^0.5"],
                    "default_operator": "and",
                    "flags": "AND|OR|NOT|PHRASE|PREFIX|WHITESPACE|ESCAPE|PRECEDENCE",
                }
            }
        ]
    return query


def document_from_mention(mention: ScoredMention) -> dict[str, Any]:
    """The indexed document: the mention plus two derived fields used by analytics."""
    doc = mention.model_dump(mode="json")
    doc["occurred_at"] = (mention.published_at or mention.fetched_at).isoformat()
    # The source's rating where it has one, else the model's star estimate (posts and comments).
    doc["rating_effective"] = mention.rating if mention.rating is not None else mention.sentiment.stars
    return doc


def _public(source: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in source.items() if k not in ("occurred_at", "rating_effective")}


def encode_cursor(sort_key: str, values: list[Any]) -> str:
    raw = json.dumps({"s": sort_key, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort_key: str, width: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = payload["v"]
        if payload["s"] != sort_key or not isinstance(values, list) or len(values) != width:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise InvalidCursor("the cursor does not belong to this query's sort; start again without it") from None
    return values
