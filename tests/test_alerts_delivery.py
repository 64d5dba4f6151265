"""Alert delivery: channels against real local receivers, retries and dead letters through real
Kafka, and throttling, digests and quiet hours through the dispatcher on real Elasticsearch."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from common.bus.kafka import KafkaBus
from common.settings import Settings
from services.alerts.channels import Channels, HttpSender, SmtpSender, sign
from services.alerts.dispatcher import Deliverer, Dispatcher, Sweeper, build_loop
from services.alerts.evaluator import build_alert
from services.alerts.messages import AlertMessage
from services.alerts.models import AlertJob, RuleRecord
from services.alerts.redaction import default_redact
from services.alerts.rules import EmailChannel, RuleIn, SlackChannel, WebhookChannel
from services.alerts.store import EngineAlertStore
from services.search.store.engines import connect
from tests.alerts_support import Receiver, scored
from tests.conftest import ENGINE_URLS

SECRET = "whsec-0123456789abcdef"
TENANT = "delivery-test"


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance_s: int = 300) -> bool:
    """The receiver-side check documented in docs/alerts.md, verbatim."""
    timestamp = headers["X-Radar-Timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Radar-Signature"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def alerts(settings: Settings) -> Iterator[EngineAlertStore]:
    """An alert store of its own, so this module's sweeps never touch other tests' alerts."""
    store = EngineAlertStore(
        connect("elasticsearch", [ENGINE_URLS["elasticsearch"]]), f"{settings.index_alias}-delivery"
    )
    store.ensure_schema()
    yield store
    store.drop()


def make_rule(alerts: EngineAlertStore, url: str, **overrides: Any) -> RuleRecord:
    body: dict[str, Any] = {
        "name": "Negative reviews",
        "conditions": {"rating_max": 2},
        "channels": [{"type": "webhook", "url": url, "secret": SECRET}],
        **overrides,
    }
    now = datetime.now(UTC)
    rule = RuleRecord(
        **RuleIn.model_validate(body).model_dump(),
        id=uuid.uuid4().hex,
        tenant=TENANT,
        created_at=now,
        created_by="test",
        updated_at=now,
        updated_by="test",
    )
    alerts.save_rule(rule, None)
    return rule


def raise_alert(alerts: EngineAlertStore, rule: RuleRecord, text: str = "Terrible, lost my scan.") -> AlertJob:
    alert = build_alert(rule, scored(text, tenant=TENANT), ["rating 1 <= 2"], excerpt_chars=200, redact=default_redact)
    assert alerts.create_alert(alert)
    return AlertJob(alert_id=alert.id, tenant=TENANT, rule_id=rule.id)


def http_channels() -> Channels:
    return Channels(HttpSender(5, allow_private=True), SmtpSender("", 25, "x@y.z", starttls=False))


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def dispatcher(alerts: EngineAlertStore, clock: FakeClock, channels: Channels | None = None) -> Dispatcher:
    deliverer = Deliverer(channels or http_channels(), max_attempts=3, base_s=0.01, cap_s=0.05, stop=threading.Event())
    return Dispatcher(alerts, deliverer, claim_s=60, clock=clock)


def sample_message(alerts_: list[Any] | None = None) -> AlertMessage:
    rule = RuleRecord.model_construct(id="r" * 32, name="Rule")
    alert = build_alert(rule, scored(tenant=TENANT), ["rating 1 <= 2"], excerpt_chars=100, redact=default_redact)  # type: ignore[arg-type]
    return AlertMessage(
        key=alert.id, kind="single", tenant=TENANT, rule_id=rule.id, rule_name="Rule", severity="high", alerts=[alert]
    )


# --- channels ---------------------------------------------------------------------------------


def test_webhook_is_signed_with_hmac_and_carries_an_idempotency_key(receiver: Receiver) -> None:
    message = sample_message()
    HttpSender(5, allow_private=True).send_webhook(
        WebhookChannel(type="webhook", url=receiver.url + "/hook", secret=SECRET),  # type: ignore[arg-type]
        message,
    )
    (request,) = receiver.ok()
    headers = request["headers"]
    assert verify(SECRET, headers, request["body"])
    assert not verify("another-secret-entirely", headers, request["body"])
    assert not verify(SECRET, headers, request["body"] + b" ")
    assert headers["Idempotency-Key"] == message.key
    payload = json.loads(request["body"])
    assert payload["type"] == "single" and payload["idempotency_key"] == message.key
    (alert,) = payload["alerts"]
    assert alert["source"] == "google" and alert["rating"] == 1 and alert["url"].startswith("https://")
    assert alert["label"] == "negative" and alert["negative_probability"] == pytest.approx(0.95)
    assert "Jane Patient" not in request["body"].decode() and "author" not in alert
    assert sign(SECRET, headers["X-Radar-Timestamp"], request["body"]) == headers["X-Radar-Signature"]


def test_slack_gets_a_block_kit_message(receiver: Receiver) -> None:
    HttpSender(5, allow_private=True).send_slack(
        SlackChannel(type="slack", url=receiver.url + "/slack"),  # type: ignore[arg-type]
        sample_message(),
    )
    (payload,) = receiver.payloads()
    assert payload["text"].startswith("[high] Rule")
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds[0] == "header" and "section" in kinds and "context" in kinds
    section = next(b for b in payload["blocks"] if b["type"] == "section")
    assert "google" in section["text"]["text"] and "Open the review" in section["text"]["text"]


def test_private_targets_are_refused_at_send_time_unless_allowed(receiver: Receiver) -> None:
    from services.alerts.channels import DeliveryError

    with pytest.raises(DeliveryError) as info:
        HttpSender(5, allow_private=False).send_slack(
            SlackChannel(type="slack", url=receiver.url + "/slack"),  # type: ignore[arg-type]
            sample_message(),
        )
    assert not info.value.retryable
    assert receiver.requests == []


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("starttls", [False, True])
def test_email_over_a_real_smtp_server(starttls: bool, tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    received: list[bytes] = []

    class Collect(MessageHandler):
        def handle_message(self, message: Any) -> None:
            received.append(message.as_bytes())

    kwargs: dict[str, Any] = {}
    if starttls:
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(str(cert), str(key))
        kwargs = {"tls_context": server_context, "require_starttls": True}
    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        client_context = ssl.create_default_context(cafile=str(cert)) if starttls else None
        sender = SmtpSender(
            "127.0.0.1", port, "alerts@radar.example", starttls=starttls, tls_context=client_context, timeout_s=10
        )
        message = sample_message()
        sender.send(EmailChannel(type="email", to=["frontdesk@northside.example"]), message)
    finally:
        controller.stop()
    (raw,) = received
    email = message_from_bytes(raw, policy=policy.default)
    assert email["Subject"].startswith("[high] Rule") and email["To"] == "frontdesk@northside.example"
    assert email["Message-ID"] == f"<{hashlib.sha256(message.key.encode()).hexdigest()[:32]}@radar.alerts>"
    assert str(email["X-Radar-Idempotency-Key"]) == message.key
    body = email.get_body().get_content()  # type: ignore[attr-defined]
    assert "google" in body and "rating 1 <= 2" in body and "Jane Patient" not in body


# --- retries and dead letters through Kafka ---------------------------------------------------


def test_a_receiver_answering_500_is_retried_then_dead_lettered(settings: Settings, alerts: EngineAlertStore) -> None:
    own = settings.model_copy(
        update={
            "topic_prefix": f"alerts-dl-{uuid.uuid4().hex[:8]}",
            "alerts_max_attempts": 3,
            "alerts_retry_base_s": 0.05,
            "alerts_retry_cap_s": 0.1,
            "alerts_allow_private_targets": True,
        }
    )
    bus = KafkaBus(own.kafka_servers, client_id="alerts-dl-test")
    bus.ensure_topics(own.topics.all(), 1, 1)
    failing = Receiver(status=lambda: 500)
    healthy = Receiver()
    stop = threading.Event()
    try:
        bad_rule = make_rule(alerts, failing.url + "/hook")
        good_rule = make_rule(alerts, healthy.url + "/hook")
        bad_job, good_job = raise_alert(alerts, bad_rule), raise_alert(alerts, good_rule)
        from common.bus import Message

        bus.publisher().publish(
            own.topics.alerts,
            [Message(key=TENANT.encode(), value=j.model_dump_json().encode()) for j in (bad_job, good_job)],
            timeout_s=10,
        )
        deliverer = Deliverer(http_channels(), max_attempts=3, base_s=0.05, cap_s=0.1, stop=stop)
        loop = build_loop(own, bus, Dispatcher(alerts, deliverer, claim_s=60))
        thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
        thread.start()

        letters = bus.subscribe([own.topics.alerts_dead_letter], f"{own.topic_prefix}.reader")
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while not found and time.monotonic() < deadline:
            found = [json.loads(r.value) for r in letters.poll(10, timeout_s=1)]
        letters.close()
        assert len(found) == 1
        assert found[0]["stage"] == "alerts.deliver" and "500" in found[0]["reason"]
        assert json.loads(found[0]["value"])["alert_id"] == bad_job.alert_id
        assert len(failing.requests) == 3, "three attempts, then the dead letter"
        assert len({r["headers"]["Idempotency-Key"] for r in failing.requests}) == 1
        bad = alerts.get_alert(TENANT, bad_job.alert_id)
        assert bad is not None and bad.record.delivery_state == "failed" and "500" in (bad.record.delivery_error or "")
        good = alerts.get_alert(TENANT, good_job.alert_id)
        assert good is not None and good.record.delivery_state == "delivered"
        assert [p["alerts"][0]["id"] for p in healthy.payloads()] == [good_job.alert_id]
    finally:
        stop.set()
        failing.close()
        healthy.close()


# --- throttling, digests and quiet hours ------------------------------------------------------


def test_throttle_sends_n_per_hour_and_rolls_the_rest_into_one_message(
    alerts: EngineAlertStore, receiver: Receiver
) -> None:
    clock = FakeClock(datetime(2026, 5, 4, 15, 0, tzinfo=UTC))
    rule = make_rule(alerts, receiver.url + "/hook", delivery={"max_per_hour": 2})
    jobs = [raise_alert(alerts, rule, f"Review {i} was awful") for i in range(5)]
    d = dispatcher(alerts, clock)
    for i, job in enumerate(jobs):
        clock.now += timedelta(minutes=1)
        assert d.handle(job) is None, i
    singles = receiver.payloads()
    assert [p["type"] for p in singles] == ["single", "single"]
    held = [alerts.get_alert(TENANT, j.alert_id) for j in jobs[2:]]
    assert all(h is not None and h.record.delivery_state == "held" for h in held)
    # Held until the hour after the first delivery (15:01 + 1 h).
    assert {h.record.due_at for h in held if h} == {datetime(2026, 5, 4, 16, 1, tzinfo=UTC)}

    clock.now = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)
    assert d.sweep() == [] and len(receiver.payloads()) == 2  # not due yet
    clock.now = datetime(2026, 5, 4, 16, 2, tzinfo=UTC)
    assert d.sweep() == []
    rollup = receiver.payloads()[2]
    assert rollup["type"] == "rollup"
    assert sorted(a["id"] for a in rollup["alerts"]) == sorted(j.alert_id for j in jobs[2:])
    d.sweep()
    assert len(receiver.payloads()) == 3, "a sweep never repeats a delivered roll-up"
    again = dispatcher(alerts, clock)  # a restarted dispatcher: state is in the records
    for job in jobs:
        assert again.handle(job) is None
    again.sweep()
    assert len(receiver.payloads()) == 3


def test_hourly_digests_group_per_rule_and_go_once(alerts: EngineAlertStore, receiver: Receiver) -> None:
    clock = FakeClock(datetime(2026, 5, 5, 9, 10, tzinfo=UTC))
    first = make_rule(alerts, receiver.url + "/first", delivery={"mode": "hourly"})
    second = make_rule(alerts, receiver.url + "/second", delivery={"mode": "hourly"})
    d = dispatcher(alerts, clock)
    jobs = {first.id: [raise_alert(alerts, first) for _ in range(3)], second.id: [raise_alert(alerts, second)]}
    for batch in jobs.values():
        for job in batch:
            d.handle(job)
    assert receiver.requests == []
    clock.now = datetime(2026, 5, 5, 9, 59, tzinfo=UTC)
    d.sweep()
    assert receiver.requests == []
    clock.now = datetime(2026, 5, 5, 10, 0, 5, tzinfo=UTC)
    d.sweep()
    by_path = {r["path"]: json.loads(r["body"]) for r in receiver.ok()}
    assert set(by_path) == {"/first", "/second"}
    assert by_path["/first"]["type"] == "digest"
    assert sorted(a["id"] for a in by_path["/first"]["alerts"]) == sorted(j.alert_id for j in jobs[first.id])
    assert [a["id"] for a in by_path["/second"]["alerts"]] == [jobs[second.id][0].alert_id]
    d.sweep()
    assert len(receiver.ok()) == 2


def test_quiet_hours_hold_an_alert_until_morning_in_the_rules_zone(
    alerts: EngineAlertStore, receiver: Receiver
) -> None:
    quiet = {"start": "22:00", "end": "07:00", "time_zone": "America/New_York"}
    rule = make_rule(alerts, receiver.url + "/hook", quiet_hours=quiet)
    # 02:00 UTC on 9 March 2026 is 22:00 EDT (the day after DST started): quiet until 11:00 UTC.
    clock = FakeClock(datetime(2026, 3, 9, 2, 0, tzinfo=UTC))
    d = dispatcher(alerts, clock)
    job = raise_alert(alerts, rule)
    d.handle(job)
    held = alerts.get_alert(TENANT, job.alert_id)
    assert held is not None and held.record.due_at == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
    clock.now = datetime(2026, 3, 9, 10, 59, tzinfo=UTC)
    d.sweep()
    assert receiver.requests == []
    clock.now = datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
    d.sweep()
    (payload,) = receiver.payloads()
    assert payload["type"] == "single" and payload["alerts"][0]["id"] == job.alert_id
    assert receiver.ok()[0]["headers"]["Idempotency-Key"] == job.alert_id

    # A critical alert is not held.
    urgent = make_rule(alerts, receiver.url + "/urgent", quiet_hours=quiet, severity="critical")
    clock.now = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
    d.handle(raise_alert(alerts, urgent))
    assert [r["path"] for r in receiver.ok()] == ["/hook", "/urgent"]


def test_a_failed_digest_is_dead_lettered_by_the_sweeper(settings: Settings, alerts: EngineAlertStore) -> None:
    failing = Receiver(status=lambda: 503)
    try:
        clock = FakeClock(datetime(2026, 5, 6, 9, 10, tzinfo=UTC))
        rule = make_rule(alerts, failing.url + "/hook", delivery={"mode": "hourly"})
        d = dispatcher(alerts, clock)
        jobs = [raise_alert(alerts, rule) for _ in range(2)]
        for job in jobs:
            d.handle(job)
        clock.now = datetime(2026, 5, 6, 10, 1, tzinfo=UTC)

        published: list[tuple[str, list[Any]]] = []

        class Recorder:
            def publish(self, topic: str, messages: list[Any], timeout_s: float) -> None:
                published.append((topic, messages))

            def close(self) -> None:
                pass

        Sweeper(d, Recorder(), settings, clock=clock).run_once()  # type: ignore[arg-type]
        assert len(failing.requests) == 3
        ((topic, (letter,)),) = published
        assert topic == settings.topics.alerts_dead_letter
        body = json.loads(letter.value)
        assert body["stage"] == "alerts.sweep" and sorted(body["alert_ids"]) == sorted(j.alert_id for j in jobs)
        for job in jobs:
            found = alerts.get_alert(TENANT, job.alert_id)
            assert found is not None and found.record.delivery_state == "failed"
    finally:
        failing.close()


def test_quiet_hours_model_rejects_identical_bounds() -> None:
    from pydantic import ValidationError

    from services.alerts.rules import QuietHours

    with pytest.raises(ValidationError):
        QuietHours(start=clock_time(8), end=clock_time(8), time_zone="UTC")


def test_a_throttled_roll_up_due_in_quiet_hours_waits_for_morning(alerts: EngineAlertStore, receiver: Receiver) -> None:
    quiet = {"start": "22:00", "end": "07:00", "time_zone": "America/New_York"}
    rule = make_rule(alerts, receiver.url + "/hook", quiet_hours=quiet, delivery={"max_per_hour": 1})
    clock = FakeClock(datetime(2026, 1, 20, 2, 30, tzinfo=UTC))  # 21:30 EST: not quiet yet
    d = dispatcher(alerts, clock)
    first, second = raise_alert(alerts, rule), raise_alert(alerts, rule)
    d.handle(first)
    clock.now += timedelta(minutes=1)
    d.handle(second)
    held = alerts.get_alert(TENANT, second.alert_id)
    # The hour's budget frees at 03:30 UTC = 22:30 EST, inside quiet hours: 07:00 EST = 12:00 UTC.
    assert held is not None and held.record.due_at == datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
    assert len(receiver.payloads()) == 1


def test_a_4xx_answer_is_not_retried(alerts: EngineAlertStore) -> None:
    gone = Receiver(status=lambda: 410)
    try:
        rule = make_rule(alerts, gone.url + "/hook")
        job = raise_alert(alerts, rule)
        reason = dispatcher(alerts, FakeClock(datetime(2026, 5, 7, 12, tzinfo=UTC))).handle(job)
        assert reason is not None and "410" in reason and "1 attempt" in reason
        assert len(gone.requests) == 1
    finally:
        gone.close()
