"""Application factory of the ingest service (``gunicorn 'services.ingest.app:create_app()'``)."""

from __future__ import annotations

import logging

from flask import Flask

from common.bus import Bus
from common.bus.kafka import KafkaBus
from common.bus.provisioning import TopicProvisioner
from common.http import create_service_app
from common.logging import configure_logging
from common.settings import Settings
from services.ingest.api import blueprint
from services.ingest.openapi import blueprint as openapi_blueprint

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, bus: Bus | None = None) -> Flask:
    settings = settings or Settings()
    if bus is None:
        configure_logging("ingest", settings.log_level)
        bus = KafkaBus(settings.kafka_servers, client_id="radar-ingest", produce_timeout_s=settings.produce_timeout_s)
    app = create_service_app("ingest", settings)
    app.extensions["radar.bus"] = bus
    app.extensions["radar.publisher"] = bus.publisher()
    app.extensions["radar.topics"] = TopicProvisioner(bus, settings)
    app.extensions["radar.topics"].ensure()
    app.register_blueprint(blueprint)
    app.register_blueprint(openapi_blueprint)
    return app
