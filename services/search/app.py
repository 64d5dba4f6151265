"""Application factory of the search service (``gunicorn 'services.search.app:create_app()'``)."""

from __future__ import annotations

import logging

from flask import Flask

from common.bus import Bus
from common.bus.factory import connect_bus
from common.http import create_service_app
from common.keys import KeyIssuer
from common.logging import configure_logging
from common.settings import Settings
from services.alerts.api import blueprint as alerts_blueprint
from services.alerts.sqlite_store import SqliteAlertStore
from services.alerts.store import AlertStore, EngineAlertStore
from services.search.api import blueprint
from services.search.audit.api import blueprint as audit_blueprint
from services.search.audit.recorder import install_audit
from services.search.audit.store import AuditLog, EngineAuditLog
from services.search.dashboard import blueprint as dashboard_blueprint
from services.search.erasure import blueprint as erasure_blueprint
from services.search.keys.api import blueprint as keys_blueprint
from services.search.openapi import blueprint as openapi_blueprint
from services.search.practice.api import blueprint as practice_blueprint
from services.search.practice.store import EnginePracticeStore, PracticeStore
from services.search.replies.api import blueprint as replies_blueprint
from services.search.store.base import MentionStore, StoreUnavailable
from services.search.store.engines import EngineName, SearchEngine, connect
from services.search.store.indexed import EngineMentionStore
from services.search.store.sqlite import SqliteMentionStore
from services.search.store.sqlite_file import SqliteFile
from services.search.store.sqlite_records import SqliteAuditLog, SqliteCurationStore, SqlitePracticeStore
from services.search.testimonials.api import blueprint as testimonials_blueprint
from services.search.testimonials.public import blueprint as public_testimonials_blueprint
from services.search.testimonials.store import CurationStore, EngineCurationStore

log = logging.getLogger(__name__)


def build_store(settings: Settings) -> EngineMentionStore | SqliteMentionStore:
    """The mention store the settings name: the search service and the indexer both use this."""
    if settings.search_engine == "embedded":
        return SqliteMentionStore(SqliteFile(settings.search_database))
    return build_engine_store(settings)


def build_engine_store(settings: Settings) -> EngineMentionStore:
    """The mention store on Elasticsearch or OpenSearch (tools that need the engine itself)."""
    engine = connect(engine_name(settings), settings.search_hosts)
    return EngineMentionStore(
        engine, settings.index_alias, shards=settings.index_shards, replicas=settings.index_replicas
    )


def engine_name(settings: Settings) -> EngineName:
    if settings.search_engine == "embedded":
        raise ValueError(
            "RADAR_SEARCH_ENGINE=embedded has no search engine to connect to; "
            "use the embedded stores (build_store and the build_*_store functions)"
        )
    return settings.search_engine


def _beside(settings: Settings, store: MentionStore | None) -> tuple[SearchEngine, str]:
    """The mentions' engine client and alias, shared by the small record indices beside them."""
    if isinstance(store, EngineMentionStore):
        return store.engine, store.alias
    return connect(engine_name(settings), settings.search_hosts), settings.index_alias


def _embedded_file(settings: Settings, store: MentionStore | None) -> SqliteFile | None:
    """The SQLite file of an embedded mention store, which the record stores share; None on an engine."""
    if isinstance(store, SqliteMentionStore):
        return store.file
    if store is None and settings.search_engine == "embedded":
        return SqliteFile(settings.search_database)
    return None


def build_curation_store(
    settings: Settings, store: MentionStore | None = None
) -> EngineCurationStore | SqliteCurationStore:
    """Testimonial decisions and authorisations (``<alias>-testimonials``..., or tables of the embedded file)."""
    if (file := _embedded_file(settings, store)) is not None:
        return SqliteCurationStore(file)
    engine, alias = _beside(settings, store)
    return EngineCurationStore(engine, alias, shards=settings.index_shards, replicas=settings.index_replicas)


def build_practice_store(
    settings: Settings, store: MentionStore | None = None
) -> EnginePracticeStore | SqlitePracticeStore:
    """Practice profiles (``<alias>-practices``, or a table of the embedded file)."""
    if (file := _embedded_file(settings, store)) is not None:
        return SqlitePracticeStore(file)
    engine, alias = _beside(settings, store)
    return EnginePracticeStore(engine, alias, shards=settings.index_shards, replicas=settings.index_replicas)


def build_audit_log(settings: Settings, store: MentionStore | None = None) -> EngineAuditLog | SqliteAuditLog:
    """The audit trail (``<alias>-audit``, or an append-only table of the embedded file)."""
    if (file := _embedded_file(settings, store)) is not None:
        return SqliteAuditLog(file)
    engine, alias = _beside(settings, store)
    return EngineAuditLog(engine, alias, shards=settings.index_shards, replicas=settings.index_replicas)


def build_alert_store(settings: Settings, store: MentionStore | None = None) -> EngineAlertStore | SqliteAlertStore:
    """Alert rules and history (``<alias>-alert-rules``, ``<alias>-alerts``, or tables of the embedded file)."""
    if (file := _embedded_file(settings, store)) is not None:
        return SqliteAlertStore(file)
    engine, alias = _beside(settings, store)
    return EngineAlertStore(engine, alias, shards=settings.index_shards, replicas=settings.index_replicas)


def create_app(
    settings: Settings | None = None,
    store: MentionStore | None = None,
    curation: CurationStore | None = None,
    practice: PracticeStore | None = None,
    audit_log: AuditLog | None = None,
    alerts: AlertStore | None = None,
    bus: Bus | None = None,
) -> Flask:
    settings = settings or Settings()
    if store is None:
        configure_logging("search", settings.log_level)
        store = build_store(settings)
    try:
        store.ensure_schema()
    except StoreUnavailable:
        log.warning("search engine unreachable at start-up; the indexer creates the schema when it is back")
    curation = curation or build_curation_store(settings, store)
    try:
        curation.ensure_schema()
    except StoreUnavailable:
        log.warning("search engine unreachable at start-up; the curation indices are created on first use")
    alerts = alerts or build_alert_store(settings, store)
    try:
        alerts.ensure_schema()
    except StoreUnavailable:
        log.warning("search engine unreachable at start-up; the alert indices are created on first use")

    practice = practice or build_practice_store(settings, store)
    audit_log = audit_log or build_audit_log(settings, store)
    for records in (practice, audit_log):
        try:
            records.ensure_schema()
        except StoreUnavailable:
            log.warning("search engine unreachable at start-up; record indices are created on first use")

    # The bus carries the managed API keys (common/keys.py): read here, written by /v1/keys.
    bus = bus or connect_bus(settings, client_id="radar-search")
    app = create_service_app("search", settings, bus=bus)
    app.extensions["radar.key_issuer"] = KeyIssuer(
        app.extensions["radar.api_keys"],
        bus,
        bus.publisher(),
        settings.topics.api_keys,
        replication=settings.topic_replication,
        timeout_s=settings.produce_timeout_s,
    )
    app.extensions["radar.bus"] = bus
    app.extensions["radar.store"] = store
    app.extensions["radar.curation"] = curation
    app.extensions["radar.practice"] = practice
    install_audit(app, audit_log)
    app.extensions["radar.alerts"] = alerts
    app.register_blueprint(blueprint)
    app.register_blueprint(erasure_blueprint)
    app.register_blueprint(audit_blueprint)
    app.register_blueprint(keys_blueprint)
    app.register_blueprint(openapi_blueprint)
    app.register_blueprint(practice_blueprint)
    app.register_blueprint(testimonials_blueprint)
    app.register_blueprint(public_testimonials_blueprint)
    app.register_blueprint(dashboard_blueprint)
    app.register_blueprint(alerts_blueprint)
    app.register_blueprint(replies_blueprint)
    return app
