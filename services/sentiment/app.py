"""Application factory of the sentiment service's HTTP API.

The model is loaded (and its checksums verified) when the app is created, so a corrupted model
stops the process at start-up instead of failing requests later.
"""

from __future__ import annotations

from flask import Flask

from common.bus import Bus
from common.bus.factory import connect_bus
from common.http import create_service_app
from common.logging import configure_logging
from common.settings import Settings
from services.sentiment.api import blueprint
from services.sentiment.model import SentimentModel
from services.sentiment.openapi import blueprint as openapi_blueprint
from services.sentiment.topics import TopicTagger
from services.sentiment.worker import model_threads


def create_app(
    settings: Settings | None = None,
    model: SentimentModel | None = None,
    tagger: TopicTagger | None = None,
    bus: Bus | None = None,
) -> Flask:
    settings = settings or Settings()
    if model is None:
        configure_logging("sentiment-api", settings.log_level)
        model = SentimentModel.load(settings.model_dir, intra_op_threads=model_threads(settings))
    if tagger is None:
        tagger = TopicTagger.load(settings.topic_model_dir, intra_op_threads=model_threads(settings))
    # The bus carries the API keys managed through the search service (common/keys.py).
    bus = bus or connect_bus(settings, client_id="radar-sentiment-api")
    app = create_service_app("sentiment", settings, bus=bus)
    app.extensions["radar.bus"] = bus
    app.extensions["radar.model"] = model
    app.extensions["radar.tagger"] = tagger
    app.register_blueprint(blueprint)
    app.register_blueprint(openapi_blueprint)
    return app
