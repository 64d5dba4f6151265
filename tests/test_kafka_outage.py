"""With the broker stopped, ingest answers 503 and never 202; what got 202 is not lost."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from common.bus.kafka import KafkaBus
from common.settings import Settings
from tests.conftest import STACK, auth

pytestmark = pytest.mark.disruptive


def mention(run: str, i: int) -> dict[str, object]:
    return {"source": "google", "external_id": f"outage-{run}-{i}", "text": f"Review number {i}", "rating": 4}


def test_kafka_down_means_503_and_acknowledged_mentions_survive(
    ingest_client, bus: KafkaBus, settings: Settings
) -> None:
    run = uuid.uuid4().hex[:8]
    accepted = ingest_client.post("/v1/mentions", json=[mention(run, i) for i in range(20)], headers=auth())
    assert accepted.status_code == 202
    acknowledged = set(accepted.get_json()["ids"])

    subprocess.run([str(STACK), "stop", "kafka"], check=True)
    try:
        refused = ingest_client.post("/v1/mentions", json=[mention(run, i) for i in range(20, 25)], headers=auth())
        assert refused.status_code == 503
        assert refused.get_json()["error"]["code"] == "bus_unavailable"
        assert refused.headers["Retry-After"]
        assert ingest_client.get("/readyz").status_code == 503
    finally:
        subprocess.run([str(STACK), "start", "kafka"], check=True)

    # Everything acknowledged before the outage is still on the raw topic after the restart.
    subscription = bus.subscribe([settings.topics.raw], group=f"outage-check-{run}")
    found: set[str] = set()
    try:
        for _ in range(60):
            for record in subscription.poll(500, timeout_s=1):
                try:
                    found.add(json.loads(record.value)["id"])
                except (ValueError, KeyError):
                    continue
            if acknowledged <= found:
                break
    finally:
        subscription.close()
    assert acknowledged <= found

    # And the service recovers by itself once the broker is back; like any client, this one
    # retries a 503 (the broker may still be loading its coordinators for a few seconds).
    for _ in range(30):
        recovered = ingest_client.post("/v1/mentions", json=[mention(run, 99)], headers=auth())
        if recovered.status_code != 503:
            break
        time.sleep(1)
    assert recovered.status_code == 202


def test_a_broker_restart_under_load_loses_nothing_that_got_202(
    ingest_client, bus: KafkaBus, settings: Settings
) -> None:
    """Mentions are posted one by one while the broker restarts: each answer is 202 or 503, and
    every 202 is on the raw topic afterwards (the client retries the 503s; nothing is half-accepted)."""
    import threading

    run = uuid.uuid4().hex[:8]
    answers: list[tuple[int, list[str]]] = []
    stop = threading.Event()

    def post_continuously() -> None:
        i = 0
        while not stop.is_set():
            response = ingest_client.post("/v1/mentions", json=[mention(run, i)], headers=auth())
            answers.append((response.status_code, (response.get_json() or {}).get("ids", [])))
            i += 1
            time.sleep(0.05)

    poster = threading.Thread(target=post_continuously, daemon=True)
    poster.start()
    try:
        time.sleep(2)
        subprocess.run([str(STACK), "restart", "kafka"], check=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (answers and answers[-1][0] == 202):
            time.sleep(0.5)
        time.sleep(2)
    finally:
        stop.set()
        poster.join(timeout=30)

    statuses = {status for status, _ in answers}
    assert statuses <= {202, 503}, statuses
    assert answers[-1][0] == 202, "ingest recovers by itself once the broker is back"
    acknowledged = {mention_id for status, ids in answers if status == 202 for mention_id in ids}
    subscription = bus.subscribe([settings.topics.raw], group=f"restart-check-{run}")
    found: set[str] = set()
    try:
        for _ in range(60):
            for record in subscription.poll(500, timeout_s=1):
                try:
                    found.add(json.loads(record.value)["id"])
                except (ValueError, KeyError):
                    continue
            if acknowledged <= found:
                break
    finally:
        subscription.close()
    assert acknowledged and acknowledged <= found
