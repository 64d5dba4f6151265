"""Application factory of the ingest service (``gunicorn 'services.ingest.app:create_app()'``)."""

from __future__ import annotations

import logging
from dataclasses import replace

from flask import Flask

from common.bus import Bus
from common.bus.factory import connect_bus
from common.bus.provisioning import TopicProvisioner
from common.http import create_service_app
from common.logging import configure_logging
from common.settings import Settings
from services.ingest.api import blueprint
from services.ingest.openapi import blueprint as openapi_blueprint
from services.ingest.sources.config import SourcesConfigError, SourcesFile, load_sources
from services.ingest.sources.http import HttpPolicy, SafeHttpClient
from services.ingest.sources.state import CachedStateReader
from services.ingest.sources_api import blueprint as sources_blueprint

log = logging.getLogger(__name__)


def _sources_or_none(settings: Settings) -> SourcesFile:
    """The sources file; a broken one must not take mention intake down (the scheduler refuses it loudly)."""
    try:
        return load_sources(settings.sources_file)
    except SourcesConfigError as exc:
        log.error("sources file not usable; GET /v1/sources shows state only: %s", exc)
        return SourcesFile()


def create_app(settings: Settings | None = None, bus: Bus | None = None, sources: SourcesFile | None = None) -> Flask:
    settings = settings or Settings()
    if bus is None:
        configure_logging("ingest", settings.log_level)
        bus = connect_bus(settings, client_id="radar-ingest")
    app = create_service_app("ingest", settings, bus=bus)
    app.extensions["radar.bus"] = bus
    app.extensions["radar.publisher"] = bus.publisher()
    app.extensions["radar.topics"] = TopicProvisioner(bus, settings)
    app.extensions["radar.topics"].ensure()
    # Sources: their configuration, their status (from the state topic) and the push path's client.
    app.extensions["radar.sources"] = sources if sources is not None else _sources_or_none(settings)
    app.extensions["radar.source_states"] = CachedStateReader(bus, settings.topics.source_state)
    # The push path answers Pub/Sub within its request: one attempt with a short deadline, and a
    # 503 lets Pub/Sub redeliver (retrying here would hold a gunicorn thread for minutes).
    push_policy = replace(HttpPolicy.from_settings(settings), retries=0, total_timeout_s=10.0, read_timeout_s=5.0)
    app.extensions["radar.source_http"] = SafeHttpClient(push_policy)
    app.register_blueprint(blueprint)
    app.register_blueprint(sources_blueprint)
    app.register_blueprint(openapi_blueprint)
    return app
