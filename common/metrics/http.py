"""``GET /metrics`` and request metrics for the Flask apps.

Each request is counted by its route *template* (``/v1/mentions/<mention_id>``), never its path,
so ids cannot multiply the time series; a request that matched no route is ``(unmatched)``.
``/metrics`` is not part of the OpenAPI documents (it is Prometheus' text format, not API) and
needs no API key: expose it to the scraper's network only, never through a public ingress.
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from common.metrics.catalog import HTTP_LATENCY, HTTP_REQUESTS


def scrape_registry() -> CollectorRegistry:
    """The registry to expose: every gunicorn worker's files in multiprocess mode, else this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def exposition() -> tuple[bytes, str]:
    """The current metrics in Prometheus' text format, and its content type."""
    return generate_latest(scrape_registry()), CONTENT_TYPE_LATEST


def metrics_blueprint() -> Blueprint:
    blueprint = Blueprint("metrics", __name__)

    @blueprint.get("/metrics")
    def metrics() -> Response:
        body, content_type = exposition()
        return Response(body, content_type=content_type)

    return blueprint


def install_metrics(app: Flask, service: str) -> None:
    """Time and count every request of ``app``, and serve ``/metrics``."""

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("metrics_started")
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        HTTP_REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
        if started is not None:
            HTTP_LATENCY.labels(service, request.method, route).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(metrics_blueprint())
