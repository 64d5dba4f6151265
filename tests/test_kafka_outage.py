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
