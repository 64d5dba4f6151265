"""Alert rules and alert history on the search engine: ``<alias>-alert-rules`` and ``<alias>-alerts``.

The same pattern as the testimonial store: a versioned index behind an alias, a strict mapping,
``refresh=true`` on writes that a search must see at once (API changes, held alerts, deliveries
that a throttle counts; the evaluator's and dispatcher's other writes skip it, since reads by id
and conditional writes are real-time anyway), and conditional writes (``if_seq_no``) so two
writers cannot lose each other's change.  An alert's id is ``<tenant>.<rule>.<mention>`` and is
created only if absent: a replayed or re-scored mention never raises the same rule twice, while
an edited review that turns negative (no record yet) does.  Every read takes the tenant and
filters on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from services.alerts.models import AlertQuery, AlertRecord, RuleRecord
from services.search.store.engines import SearchEngine
from services.search.store.records import KEYWORD, OPAQUE, STORED, Conflict, RecordIndices, Versioned

ALERTS_MAPPING_VERSION = 1

_DATE = {"type": "date"}
_FLOAT = {"type": "float"}


def rule_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "id": KEYWORD,
            "tenant": KEYWORD,
            "name": STORED,
            "enabled": {"type": "boolean"},
            "severity": KEYWORD,
            "conditions": OPAQUE,
            "quiet_hours": OPAQUE,
            "delivery": OPAQUE,
            "channels": OPAQUE,  # webhook URLs and secrets: stored, never searchable
            "created_at": _DATE,
            "created_by": KEYWORD,
            "updated_at": _DATE,
            "updated_by": KEYWORD,
        },
    }


def alert_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "id": KEYWORD,
            "tenant": KEYWORD,
            "rule_id": KEYWORD,
            "rule_name": STORED,
            "mention_id": KEYWORD,
            "severity": KEYWORD,
            "created_at": _DATE,
            "reasons": STORED,
            "mention": {
                "properties": {
                    "source": KEYWORD,
                    "kind": KEYWORD,
                    "rating": _FLOAT,
                    "url": {"type": "keyword", "index": False},
                    "location": KEYWORD,
                    "provider": KEYWORD,
                    "published_at": _DATE,
                    "excerpt": STORED,
                    "label": KEYWORD,
                    "negative_probability": _FLOAT,
                    "stars": _FLOAT,
                    "topics": KEYWORD,
                }
            },
            "state": KEYWORD,
            "acknowledged_at": _DATE,
            "acknowledged_by": KEYWORD,
            "resolved_at": _DATE,
            "resolved_by": KEYWORD,
            "outcome": KEYWORD,
            "outcome_note": STORED,
            "outcome_at": _DATE,
            "outcome_by": KEYWORD,
            "responded_at": _DATE,
            "response_s": _FLOAT,
            "delivery_state": KEYWORD,
            "due_at": _DATE,
            "claimed_until": _DATE,
            "delivered_at": _DATE,
            "delivered_as": KEYWORD,
            "message_key": KEYWORD,
            "delivery_error": STORED,
        },
    }


class AlertStore(Protocol):
    def ensure_schema(self) -> None: ...

    def list_rules(self, tenant: str, enabled_only: bool = False) -> list[RuleRecord]: ...

    def get_rule(self, tenant: str, rule_id: str) -> Versioned[RuleRecord] | None: ...

    def save_rule(self, rule: RuleRecord, previous: Versioned[RuleRecord] | None) -> None: ...

    def delete_rule(self, tenant: str, rule_id: str) -> bool: ...

    def create_alert(self, alert: AlertRecord, *, refresh: bool = True) -> bool:
        """Store a new alert; False when one with the same id exists already.

        ``refresh`` makes it visible to searches at once; reads by id and conditional writes
        never need it, so the hot path (evaluator, dispatcher) skips the cost of a refresh.
        """

    def get_alert(self, tenant: str, alert_id: str) -> Versioned[AlertRecord] | None: ...

    def erase_mention(self, tenant: str, mention_id: str) -> int:
        """Remove the mention's excerpt and link from the alerts it raised; how many there were."""

    def save_alert(self, alert: AlertRecord, previous: Versioned[AlertRecord], *, refresh: bool = True) -> None: ...

    def list_alerts(self, tenant: str, query: AlertQuery) -> list[AlertRecord]: ...

    def count_delivered(
        self, tenant: str, rule_id: str, since: datetime, delivered_as: str
    ) -> tuple[int, datetime | None]:
        """How many were delivered since ``since`` as ``delivered_as``, and the earliest such time."""

    def due(self, now: datetime, limit: int) -> list[Versioned[AlertRecord]]:
        """Held alerts whose time has come, and sending ones whose claim lapsed (all tenants)."""

    def period_alerts(self, tenant: str, since: datetime, limit: int) -> list[AlertRecord]: ...

    def open_counts(self, tenant: str) -> dict[str, Any]: ...


ERASED_EXCERPT = "(erased)"


class EngineAlertStore(RecordIndices):
    def __init__(self, engine: SearchEngine, alias: str, *, shards: int = 1, replicas: int = 0) -> None:
        self.rules = f"{alias}-alert-rules"
        self.alerts = f"{alias}-alerts"
        super().__init__(
            engine,
            {self.rules: rule_mappings, self.alerts: alert_mappings},
            version=ALERTS_MAPPING_VERSION,
            shards=shards,
            replicas=replicas,
        )

    # ------------------------------------------------------------------------- rules
    def list_rules(self, tenant: str, enabled_only: bool = False) -> list[RuleRecord]:
        self._ensure_ready()
        filters: list[dict[str, Any]] = [{"term": {"tenant": tenant}}]
        if enabled_only:
            filters.append({"term": {"enabled": True}})
        body = {"query": {"bool": {"filter": filters}}, "size": 1000, "sort": [{"created_at": "asc"}, {"id": "asc"}]}
        hits = self.engine.search(self.rules, body)["hits"]["hits"]
        return [RuleRecord.model_validate(h["_source"]) for h in hits]

    def get_rule(self, tenant: str, rule_id: str) -> Versioned[RuleRecord] | None:
        return self._get_versioned(self.rules, f"{tenant}.{rule_id}", tenant, RuleRecord)

    def save_rule(self, rule: RuleRecord, previous: Versioned[RuleRecord] | None) -> None:
        self._write_versioned(self.rules, f"{rule.tenant}.{rule.id}", rule, previous)

    def delete_rule(self, tenant: str, rule_id: str) -> bool:
        """Delete a rule by writing a tombstone-free delete; alerts it raised stay in the history."""
        self._ensure_ready()
        found = self.get_rule(tenant, rule_id)
        if found is None:
            return False
        self.engine.bulk([{"_op_type": "delete", "_index": self.rules, "_id": f"{tenant}.{rule_id}"}])
        self.engine.refresh(self.rules)
        return True

    def erase_mention(self, tenant: str, mention_id: str) -> int:
        """Blank the excerpt and link of every alert the mention raised; the alerts themselves stay.

        The history (who acknowledged what, when) is the practice's record of its response; it keeps
        the mention id, so an erased mention arriving again cannot raise the same rule twice.
        """
        self._ensure_ready()
        self.engine.refresh(self.alerts)  # alerts written a moment ago without a refresh count too
        body = {
            "query": {"bool": {"filter": [{"term": {"tenant": tenant}}, {"term": {"mention_id": mention_id}}]}},
            "size": 1000,
        }
        hits = self.engine.search(self.alerts, body)["hits"]["hits"]
        for hit in hits:
            source = hit["_source"]
            source["mention"] = {**source["mention"], "excerpt": ERASED_EXCERPT, "url": None}
            self.engine.index_document(self.alerts, hit["_id"], source, refresh="true")
        return len(hits)

    # ------------------------------------------------------------------------- alerts
    def create_alert(self, alert: AlertRecord, *, refresh: bool = True) -> bool:
        try:
            self._write_versioned(self.alerts, alert.id, alert, None, refresh=refresh)
        except Conflict:
            return False
        return True

    def get_alert(self, tenant: str, alert_id: str) -> Versioned[AlertRecord] | None:
        return self._get_versioned(self.alerts, alert_id, tenant, AlertRecord)

    def save_alert(self, alert: AlertRecord, previous: Versioned[AlertRecord], *, refresh: bool = True) -> None:
        self._write_versioned(self.alerts, alert.id, alert, previous, refresh=refresh)

    def list_alerts(self, tenant: str, query: AlertQuery) -> list[AlertRecord]:
        self._ensure_ready()
        filters: list[dict[str, Any]] = [{"term": {"tenant": tenant}}]
        if query.state:
            filters.append({"term": {"state": query.state}})
        if query.severity:
            filters.append({"term": {"severity": query.severity}})
        if query.rule:
            filters.append({"term": {"rule_id": query.rule}})
        if query.date_from or query.date_to:
            bounds: dict[str, str] = {}
            if query.date_from:
                bounds["gte"] = query.date_from.isoformat()
            if query.date_to:
                bounds["lte"] = query.date_to.isoformat()
            filters.append({"range": {"created_at": bounds}})
        body = {
            "query": {"bool": {"filter": filters}},
            "size": query.size,
            "sort": [{"created_at": "desc"}, {"id": "asc"}],
        }
        return [AlertRecord.model_validate(h["_source"]) for h in self.engine.search(self.alerts, body)["hits"]["hits"]]

    def count_delivered(
        self, tenant: str, rule_id: str, since: datetime, delivered_as: str
    ) -> tuple[int, datetime | None]:
        self._ensure_ready()
        body = {
            "query": {
                "bool": {
                    "filter": [
                        {"term": {"tenant": tenant}},
                        {"term": {"rule_id": rule_id}},
                        {"term": {"delivered_as": delivered_as}},
                        {"range": {"delivered_at": {"gte": since.isoformat()}}},
                    ]
                }
            },
            "size": 0,
            "track_total_hits": True,
            "aggs": {"first": {"min": {"field": "delivered_at"}}},
        }
        response = self.engine.search(self.alerts, body)
        total = int(response["hits"]["total"]["value"])
        first = response["aggregations"]["first"].get("value_as_string")
        return total, datetime.fromisoformat(first.replace("Z", "+00:00")) if first else None

    def due(self, now: datetime, limit: int) -> list[Versioned[AlertRecord]]:
        self._ensure_ready()
        stamp = now.isoformat()
        body = {
            "query": {
                "bool": {
                    "should": [
                        {
                            "bool": {
                                "filter": [{"term": {"delivery_state": "held"}}, {"range": {"due_at": {"lte": stamp}}}]
                            }
                        },
                        {
                            "bool": {
                                "filter": [
                                    {"term": {"delivery_state": "sending"}},
                                    {"range": {"claimed_until": {"lte": stamp}}},
                                ]
                            }
                        },
                    ],
                    "minimum_should_match": 1,
                }
            },
            "size": limit,
            "seq_no_primary_term": True,
            "sort": [{"due_at": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
        }
        hits = self.engine.search(self.alerts, body)["hits"]["hits"]
        return [Versioned(AlertRecord.model_validate(h["_source"]), h["_seq_no"], h["_primary_term"]) for h in hits]

    def period_alerts(self, tenant: str, since: datetime, limit: int) -> list[AlertRecord]:
        self._ensure_ready()
        body = {
            "query": {
                "bool": {
                    "filter": [{"term": {"tenant": tenant}}, {"range": {"created_at": {"gte": since.isoformat()}}}]
                }
            },
            "size": limit,
            "sort": [{"created_at": "desc"}, {"id": "asc"}],
        }
        return [AlertRecord.model_validate(h["_source"]) for h in self.engine.search(self.alerts, body)["hits"]["hits"]]

    def open_counts(self, tenant: str) -> dict[str, Any]:
        self._ensure_ready()
        body = {
            "query": {
                "bool": {"filter": [{"term": {"tenant": tenant}}], "must_not": [{"term": {"state": "resolved"}}]}
            },
            "size": 0,
            "track_total_hits": True,
            "aggs": {
                "severity": {"terms": {"field": "severity", "size": 10}},
                "negative": {"filter": {"term": {"mention.label": "negative"}}},
                "unacknowledged": {"filter": {"term": {"state": "open"}}},
            },
        }
        response = self.engine.search(self.alerts, body)
        aggs = response["aggregations"]
        return {
            "open": int(response["hits"]["total"]["value"]),
            "open_negative": int(aggs["negative"]["doc_count"]),
            "unacknowledged": int(aggs["unacknowledged"]["doc_count"]),
            "by_severity": {b["key"]: int(b["doc_count"]) for b in aggs["severity"]["buckets"]},
        }
