"""Alerts end to end: ingest API -> real model -> evaluator -> Kafka -> dispatcher -> webhook, and a
dispatcher killed with SIGKILL mid-delivery that loses nothing after a restart."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.bus import Message
from common.bus.kafka import KafkaBus
from common.settings import REPO_ROOT, Settings
from services.alerts.dispatcher import Sweeper, build_dispatcher
from services.alerts.dispatcher import build_loop as build_dispatcher_loop
from services.alerts.evaluator import build_alert
from services.alerts.evaluator import build_loop as build_evaluator_loop
from services.alerts.models import AlertJob, AlertQuery, RuleRecord
from services.alerts.redaction import default_redact
from services.alerts.rules import RuleIn
from services.alerts.store import EngineAlertStore
from services.search.store.engines import connect
from tests.alerts_support import Receiver, scored
from tests.conftest import ENGINE_URLS, TENANT, auth

SECRET = "e2e-signing-secret-0123456789"


def wait_for(predicate: Callable[[], Any], timeout_s: float = 90, interval_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


def save_rule(store: EngineAlertStore, tenant: str, body: dict[str, Any]) -> RuleRecord:
    now = datetime.now(UTC)
    rule = RuleRecord(
        **RuleIn.model_validate(body).model_dump(),
        id=uuid.uuid4().hex,
        tenant=tenant,
        created_at=now,
        created_by="test",
        updated_at=now,
        updated_by="test",
    )
    store.save_rule(rule, None)
    return rule


@pytest.fixture
def alert_stack(settings: Settings, bus: KafkaBus, pipeline: None) -> Iterator[tuple[EngineAlertStore, Receiver]]:
    """The evaluator and the dispatcher (with its sweeper) in threads, on an alert store of their own."""
    own = settings.model_copy(
        update={"alerts_allow_private_targets": True, "alerts_rules_cache_s": 0.5, "alerts_sweep_interval_s": 0.5}
    )
    store = EngineAlertStore(
        connect("elasticsearch", [ENGINE_URLS["elasticsearch"]]), f"{settings.index_alias}-e2e-{uuid.uuid4().hex[:6]}"
    )
    store.ensure_schema()
    receiver = Receiver()
    stop = threading.Event()
    dispatcher = build_dispatcher(own, store, stop)
    loops = [build_evaluator_loop(own, bus, store), build_dispatcher_loop(own, bus, dispatcher)]
    sweeper = Sweeper(dispatcher, bus.publisher(), own)
    threads = [threading.Thread(target=loop.run, args=(stop,), daemon=True) for loop in loops]
    threads.append(threading.Thread(target=sweeper.run, args=(stop,), daemon=True))
    for thread in threads:
        thread.start()
    try:
        yield store, receiver
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        receiver.close()
        store.drop()


def test_negative_review_reaches_the_webhook_once_and_competitors_and_praise_do_not(  # type: ignore[no-untyped-def]
    alert_stack, ingest_client, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    store, receiver = alert_stack
    rule = save_rule(
        store,
        TENANT,
        {
            "name": "Negative reviews",
            "conditions": {"negative_probability_min": 0.7},
            "channels": [{"type": "webhook", "url": receiver.url + "/hook", "secret": SECRET}],
        },
    )
    angry = "The technologist was rough and dismissive and my results were lost. Call me at 555-867-5309."
    praise = "Wonderful staff! My mammogram was quick and painless. Highly recommend."
    now = datetime.now(UTC)
    batch = [
        {"source": "google", "external_id": f"{unique}-angry", "rating": 1, "text": angry, "author": "Pat Doe"},
        {"source": "google", "external_id": f"{unique}-rival", "rating": 1, "text": angry, "competitor": "rival-co"},
        {"source": "google", "external_id": f"{unique}-praise", "rating": 5, "text": praise},
        {"source": "yelp", "external_id": f"{unique}-edited", "rating": 5, "text": praise,
         "published_at": (now - timedelta(days=1)).isoformat()},
    ]  # fmt: skip
    response = ingest_client.post("/v1/mentions", json={"mentions": batch}, headers=auth())
    assert response.status_code == 202, response.get_json()
    ids = response.get_json()["ids"]

    first = wait_for(lambda: receiver.payloads())
    (alert,) = first[0]["alerts"]
    assert alert["mention_id"] == ids[0] and alert["source"] == "google" and alert["rating"] == 1
    assert "[PHONE]" in alert["excerpt"] and "867" not in alert["excerpt"]  # the PHI detector's redaction
    assert "Pat Doe" not in json.dumps(first) and alert["label"] == "negative"
    assert receiver.ok()[0]["headers"]["Idempotency-Key"] == alert["id"]

    # The same review again (a connector re-fetch) raises nothing; its edit into a complaint does.
    edited = {**batch[3], "text": "Update: they sent my report to the wrong patient. Awful, rude and careless.",
              "rating": 1, "updated_at": now.isoformat()}  # fmt: skip
    again = ingest_client.post("/v1/mentions", json={"mentions": [batch[0], edited]}, headers=auth())
    assert again.status_code == 202
    wait_for(lambda: len(receiver.payloads()) >= 2)
    time.sleep(3)  # anything that should not arrive has had time to
    received = [p["alerts"][0]["mention_id"] for p in receiver.payloads()]
    assert received == [ids[0], ids[3]]
    history = store.list_alerts(TENANT, AlertQuery())
    assert sorted(a.mention_id for a in history if a.rule_id == rule.id) == sorted([ids[0], ids[3]])
    # Nothing at INFO or above quotes a review or names its author.
    logged = "\n".join(r.getMessage() + " " + str(r.__dict__) for r in caplog.records if r.levelno >= logging.INFO)
    assert "alert job" in logged and "delivered single alert message" in logged  # the logs were captured
    assert "rough and dismissive" not in logged and "wrong patient" not in logged and "Pat Doe" not in logged


def start_dispatcher(settings: Settings, alias: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RADAR_TOPIC_PREFIX": settings.topic_prefix,
        "RADAR_INDEX_ALIAS": alias,
        "RADAR_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "RADAR_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "RADAR_ALERTS_SWEEP_INTERVAL_S": "0.5",
        "RADAR_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.alerts.dispatcher"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_dispatcher_killed_mid_delivery_redelivers_after_restart_and_loses_nothing(settings: Settings) -> None:
    run = uuid.uuid4().hex[:8]
    own = settings.model_copy(update={"topic_prefix": f"alerts-kill-{run}", "topic_partitions": 2})
    alias = f"alerts-kill-{run}"
    bus = KafkaBus(own.kafka_servers, client_id="alerts-kill-test")
    bus.ensure_topics(own.topics.all(), own.topic_partitions, 1)
    store = EngineAlertStore(connect("elasticsearch", [ENGINE_URLS["elasticsearch"]]), alias)
    store.ensure_schema()
    receiver = Receiver(delay_s=0.1)  # slow enough that the kill lands mid-stream
    process: subprocess.Popen[bytes] | None = None
    try:
        tenants = ["kill-a", "kill-b"]
        rules = {
            t: save_rule(
                store,
                t,
                {
                    "name": "All negative",
                    "conditions": {"rating_max": 2},
                    "channels": [{"type": "webhook", "url": receiver.url + "/hook", "secret": SECRET}],
                },
            )
            for t in tenants
        }
        jobs = []
        for i in range(40):
            tenant = tenants[i % 2]
            alert = build_alert(
                rules[tenant], scored(f"Bad visit {i}", tenant=tenant), ["r"], excerpt_chars=80, redact=default_redact
            )
            assert store.create_alert(alert)
            jobs.append(AlertJob(alert_id=alert.id, tenant=tenant, rule_id=rules[tenant].id))
        bus.publisher().publish(
            own.topics.alerts,
            [Message(key=j.tenant.encode(), value=j.model_dump_json().encode()) for j in jobs],
            timeout_s=10,
        )

        process = start_dispatcher(own, alias)
        wait_for(lambda: len(receiver.ok()) >= 8, timeout_s=60, interval_s=0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        partial = {json.loads(r["body"])["alerts"][0]["id"] for r in receiver.ok()}
        assert 0 < len(partial) < len(jobs), "the kill must land mid-stream"

        process = start_dispatcher(own, alias)
        expected = {j.alert_id for j in jobs}
        wait_for(
            lambda: {json.loads(r["body"])["alerts"][0]["id"] for r in receiver.ok()} >= expected,
            timeout_s=120,
        )
        # Every alert delivered and marked so; a resent one carries the same idempotency key.
        for request in receiver.ok():
            assert request["headers"]["Idempotency-Key"] == json.loads(request["body"])["alerts"][0]["id"]
        wait_for(
            lambda: all(
                (found := store.get_alert(j.tenant, j.alert_id)) is not None
                and found.record.delivery_state == "delivered"
                for j in jobs
            ),
            timeout_s=30,
        )
        duplicates = len(receiver.ok()) - len(expected)
        assert duplicates <= 50, "only the batch in flight at the kill may be sent twice"
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        receiver.close()
        store.drop()
