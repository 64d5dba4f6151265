"""The alert evaluator: ``python -m services.alerts.evaluator``.

Its own consumer group on the scored topic (the indexer's progress is not its concern).  Each
scored mention is matched against its tenant's enabled rules (cached for a few seconds); a match
is recorded as an alert, created only if absent, and a delivery job is published on
``<prefix>.alerts`` keyed by tenant.  The loop commits after that publish, so a crash at any
point re-evaluates the batch: the alert record already exists, but the job is published again
when the record's delivery is still pending (the dispatcher skips what it already delivered).

Erased and deleted mentions raise nothing.  A mention can be erased (``DELETE /v1/mentions/<id>``,
services/search/erasure.py: an ``erased_at`` marker replaces it in the mention store) while its
scored copy still waits on the topic; before raising an alert for a matching rule the evaluator
asks the mention store ``is_erased`` and skips the mention if so (the question is asked only when
a rule matches, so the common case costs nothing).  A deletion notice (``deleted_at`` set: the
author deleted the review) carries no text and raises nothing either.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from common.bus import Bus, Message, Record
from common.bus.factory import connect_bus
from common.bus.provisioning import TopicProvisioner
from common.consumer import BatchLoop, RetryableError
from common.logging import configure_logging
from common.phi import PhiDetector
from common.records import DecodeError, decode_record, describe_error
from common.runner import run_worker
from common.schema import ScoredMention
from common.settings import Settings, Topics
from services.alerts.models import AlertJob, AlertMention, AlertRecord, RuleRecord
from services.alerts.redaction import Redactor, default_redact, excerpt, phi_redactor
from services.alerts.rules import match
from services.alerts.store import AlertStore
from services.search.store.base import MentionStore, StoreUnavailable

log = logging.getLogger(__name__)


class RuleCache:
    """A tenant's enabled rules, read at most every ``ttl_s`` seconds."""

    def __init__(self, store: AlertStore, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[float, list[RuleRecord]]] = {}

    def rules(self, tenant: str) -> list[RuleRecord]:
        now = self._clock()
        cached = self._entries.get(tenant)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        rules = self._store.list_rules(tenant, enabled_only=True)
        self._entries[tenant] = (now, rules)
        return rules


def alert_id(tenant: str, rule_id: str, mention_id: str) -> str:
    return f"{tenant}.{rule_id}.{mention_id}"


def build_alert(
    rule: RuleRecord, mention: ScoredMention, reasons: list[str], *, excerpt_chars: int, redact: Redactor
) -> AlertRecord:
    s = mention.sentiment
    return AlertRecord(
        id=alert_id(mention.tenant, rule.id, mention.id),
        tenant=mention.tenant,
        rule_id=rule.id,
        rule_name=rule.name,
        mention_id=mention.id,
        severity=rule.severity,
        created_at=datetime.now(UTC),
        reasons=reasons,
        mention=AlertMention(
            source=mention.source,
            kind=mention.kind,
            rating=mention.rating,
            url=mention.url,
            location=mention.location,
            provider=mention.provider,
            published_at=mention.published_at,
            excerpt=excerpt(mention.text, excerpt_chars, redact),
            label=s.label,
            negative_probability=s.probabilities.get("negative"),
            stars=s.stars,
            topics=list(s.topics),
        ),
    )


class EvaluationProcessor:
    def __init__(
        self,
        store: AlertStore,
        topics: Topics,
        *,
        rules_cache_s: float,
        excerpt_chars: int,
        redact: Redactor = default_redact,
        is_erased: Callable[[str, str], bool] | None = None,
    ) -> None:
        self._store = store
        self._is_erased = is_erased
        self._topics = topics
        self._cache = RuleCache(store, rules_cache_s)
        self._excerpt_chars = excerpt_chars
        self._redact = redact

    def process(self, records: Sequence[Record]) -> Mapping[str, Sequence[Message]]:
        latest: dict[str, ScoredMention] = {}
        for record in records:
            try:
                mention = decode_record(record, ScoredMention)
            except DecodeError as exc:
                # The indexer dead-letters undecodable records already; one letter per record is enough.
                log.debug("skipping undecodable record: %s", describe_error(exc))
                continue
            latest[mention.id] = mention  # the last edit in the batch decides
        jobs: list[Message] = []
        try:
            for mention in latest.values():
                jobs.extend(self._evaluate(mention))
        except StoreUnavailable as exc:
            raise RetryableError(str(exc)) from exc
        if jobs:
            log.info("raised %d alert job(s)", len(jobs))
        return {self._topics.alerts: jobs}

    def _evaluate(self, mention: ScoredMention) -> list[Message]:
        jobs: list[Message] = []
        if mention.deleted_at is not None:
            return jobs  # the author deleted it: nothing to alert on
        erased: bool | None = None
        for rule in self._cache.rules(mention.tenant):
            reasons = match(rule.conditions, mention)
            if reasons is None:
                continue
            if erased is None:
                erased = self._is_erased is not None and self._is_erased(mention.tenant, mention.id)
            if erased:
                log.debug("skipping an erased mention")
                return jobs
            alert = build_alert(rule, mention, reasons, excerpt_chars=self._excerpt_chars, redact=self._redact)
            if not self._store.create_alert(alert, refresh=False):
                existing = self._store.get_alert(mention.tenant, alert.id)
                if existing is None or existing.record.delivery_state != "pending":
                    continue  # raised before: never twice for the same rule and mention
            job = AlertJob(alert_id=alert.id, tenant=alert.tenant, rule_id=rule.id)
            jobs.append(Message(key=alert.tenant.encode("utf-8"), value=job.model_dump_json().encode("utf-8")))
        return jobs


def build_loop(
    settings: Settings,
    bus: Bus,
    store: AlertStore,
    redact: Redactor | None = None,
    mentions: MentionStore | None = None,
) -> BatchLoop:
    """``mentions``: where erasures are recorded (default: the store the settings name)."""
    TopicProvisioner(bus, settings).ensure()
    if mentions is None:
        from services.search.app import build_store

        mentions = build_store(settings)
    if redact is None:
        redact = phi_redactor(PhiDetector(settings.staff_names, min_confidence=settings.privacy_min_confidence))
    return BatchLoop(
        name="alerts-evaluator",
        subscription=bus.subscribe([settings.topics.scored], settings.alerts_evaluator_consumer_group),
        publisher=bus.publisher(),
        processor=EvaluationProcessor(
            store,
            settings.topics,
            rules_cache_s=settings.alerts_rules_cache_s,
            excerpt_chars=settings.alerts_excerpt_chars,
            redact=redact,
            is_erased=mentions.is_erased,
        ),
        batch_size=settings.alerts_batch_size,
        batch_wait_s=settings.alerts_batch_wait_ms / 1000,
        produce_timeout_s=settings.produce_timeout_s,
    )


def build_alert_store(settings: Settings) -> AlertStore:
    from services.alerts.sqlite_store import SqliteAlertStore
    from services.alerts.store import EngineAlertStore
    from services.search.app import engine_name
    from services.search.store.engines import connect
    from services.search.store.sqlite_file import SqliteFile

    if settings.search_engine == "embedded":
        return SqliteAlertStore(SqliteFile(settings.search_database))
    engine = connect(engine_name(settings), settings.search_hosts)
    return EngineAlertStore(
        engine, settings.index_alias, shards=settings.index_shards, replicas=settings.index_replicas
    )


def wait_for_schema(store: AlertStore | MentionStore) -> None:
    while True:
        try:
            store.ensure_schema()
            return
        except StoreUnavailable:
            log.warning("search engine not reachable yet; retrying in 5 s")
            time.sleep(5)


def main() -> None:
    settings = Settings()
    configure_logging("alerts-evaluator", settings.log_level)
    from services.search.app import build_store

    store = build_alert_store(settings)
    wait_for_schema(store)
    mentions = build_store(settings)
    wait_for_schema(mentions)
    bus = connect_bus(settings, client_id="radar-alerts-evaluator")
    run_worker(build_loop(settings, bus, store, mentions=mentions), settings)


if __name__ == "__main__":
    main()
