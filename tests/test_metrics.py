"""Prometheus metrics: every HTTP app's ``/metrics`` and the workers' counters after real work.

The apps are scraped through the Flask test client; the worker metrics come from the
``pipeline`` fixture's loops (real Kafka, model and Elasticsearch) and are read back over HTTP
from a ``MetricsServer``, as Prometheus would.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from common.metrics.server import MetricsServer
from tests.conftest import auth
from tests.metrics_support import label_values, sample
from tests.test_pipeline_e2e import batch_of, searchable, wait_for


@pytest.fixture(scope="module")
def sentiment_client(settings, model, tagger):  # type: ignore[no-untyped-def]
    from services.sentiment.app import create_app

    return create_app(settings, model=model, tagger=tagger).test_client()


def scrape(client) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return str(response.get_data(as_text=True))


@pytest.mark.parametrize("service", ["ingest", "sentiment", "search"])
def test_each_app_counts_requests_by_route_template_and_status(request: pytest.FixtureRequest, service: str) -> None:
    client = request.getfixturevalue(f"{service}_client")
    before = scrape(client)
    labels = {"service": service, "method": "GET", "route": "/healthz", "status": "200"}
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/v1/nowhere/" + "x" * 40).status_code == 404
    after = scrape(client)
    assert (
        sample(after, "radar_http_requests_total", **labels)
        == sample(before, "radar_http_requests_total", **labels) + 3
    )
    latency = {"service": service, "method": "GET", "route": "/healthz"}
    assert sample(after, "radar_http_request_duration_seconds_count", **latency) >= 3
    # An unmatched path is one series, never one per path (bounded cardinality).
    assert "(unmatched)" in label_values(after, "radar_http_requests_total", "route", service=service, status="404")
    assert "x" * 40 not in after


def test_route_templates_not_paths_and_no_tenant_labels(search_client) -> None:  # type: ignore[no-untyped-def]
    search_client.get("/v1/mentions/" + "0" * 32, headers=auth())
    text = scrape(search_client)
    routes = label_values(text, "radar_http_requests_total", "route", service="search")
    assert "/v1/mentions/<mention_id>" in routes
    assert not any("0" * 32 in r for r in routes)
    assert "northside-imaging" not in text  # the test tenant never becomes a label value


@pytest.mark.usefixtures("pipeline")
def test_pipeline_work_moves_the_worker_counters(ingest_client, search_client, store, settings, unique) -> None:  # type: ignore[no-untyped-def]
    server = MetricsServer("127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{server.port}/metrics"
    try:
        before = urllib.request.urlopen(url, timeout=5).read().decode()
        response = ingest_client.post("/v1/mentions", json={"mentions": batch_of("metrics-" + unique)}, headers=auth())
        assert response.status_code == 202
        ids = response.get_json()["ids"]
        wait_for(searchable(search_client, store, ids), timeout_s=90)
        time.sleep(0.5)  # the indexer's commit follows its write
        after = urllib.request.urlopen(url, timeout=5).read().decode()
    finally:
        server.close()

    topics = settings.topics

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("radar_records_consumed_total", worker="sentiment", topic=topics.raw) >= len(ids)
    assert moved("radar_records_produced_total", worker="sentiment", topic=topics.scored) >= len(ids)
    assert moved("radar_records_consumed_total", worker="indexer", topic=topics.scored) >= len(ids)
    for worker in ("sentiment", "indexer"):
        assert moved("radar_batch_size_count", worker=worker) >= 1
        assert moved("radar_batch_size_sum", worker=worker) >= len(ids)
        assert moved("radar_batch_duration_seconds_count", worker=worker) >= 1
        assert moved("radar_commits_total", worker=worker, outcome="ok") >= 1
    assert moved("radar_model_inference_seconds_count", model="sentiment", caller="worker") >= 1
    assert moved("radar_index_bulk_seconds_count") >= 1
    # Lag is reported per partition of the raw topic that the sentiment loop owns.
    partitions = label_values(after, "radar_consumer_lag", "partition", worker="sentiment", topic=topics.raw)
    assert partitions and partitions <= {str(p) for p in range(settings.topic_partitions)}


def test_worker_probe_endpoints_answer_json_with_status_codes() -> None:
    ready = {"value": False}
    server = MetricsServer(
        "127.0.0.1", 0, live=lambda: (True, {"worker": "t"}), ready=lambda: (ready["value"], {"kafka": "ok"})
    ).start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert json.loads(urllib.request.urlopen(base + "/healthz", timeout=5).read()) == {
            "status": "ok",
            "worker": "t",
        }
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/readyz", timeout=5)
        assert refused.value.code == 503 and json.loads(refused.value.read())["status"] == "not_ready"
        ready["value"] = True
        assert json.loads(urllib.request.urlopen(base + "/readyz", timeout=5).read())["status"] == "ready"
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(base + "/nope", timeout=5)
        assert missing.value.code == 404
    finally:
        server.close()


def test_dead_letters_are_counted_by_stage_not_reason() -> None:
    from common.bus import Record
    from common.deadletter import dead_letter
    from common.metrics.http import exposition

    before = sample(exposition()[0].decode(), "radar_dead_letters_total", stage="tests.stage")
    record = Record(topic="t", partition=0, offset=1, key=b"k", value=b"{}", timestamp_ms=0)
    dead_letter(record, reason="some free text that must not be a label", stage="tests.stage")
    text = exposition()[0].decode()
    assert sample(text, "radar_dead_letters_total", stage="tests.stage") == before + 1
    assert "free text" not in text


def test_gunicorn_with_two_processes_adds_up_both_in_metrics(settings) -> None:  # type: ignore[no-untyped-def]
    """Multiprocess mode through common.gunicorn_conf: /metrics counts what every process answered."""
    import os
    import subprocess
    import sys

    from common.settings import REPO_ROOT
    from tests.worker_support import free_port

    port = free_port()
    env = {
        **os.environ,
        "RADAR_TOPIC_PREFIX": settings.topic_prefix,
        "RADAR_API_KEYS": settings.api_keys,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:common.gunicorn_conf", "services.ingest.app:create_app()"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                time.sleep(0.3)
        for _ in range(40):  # new connections: both processes get some of them
            urllib.request.urlopen(base + "/healthz", timeout=5).read()
        text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
        labels = {"service": "ingest", "method": "GET", "route": "/healthz", "status": "200"}
        assert sample(text, "radar_http_requests_total", **labels) >= 41
        started = time.monotonic()
        server.terminate()
        server.wait(timeout=30)
        assert time.monotonic() - started < settings.shutdown_grace_s
    finally:
        if server.poll() is None:
            server.kill()
