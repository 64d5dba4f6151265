"""The alert dispatcher: ``python -m services.alerts.dispatcher``.

Two loops share one process:

* the job loop consumes ``<prefix>.alerts``.  An alert that may go now is delivered to every
  channel of its rule (retried with backoff), and the record is marked delivered; one that must
  wait (quiet hours, a digest, the hourly throttle) is marked ``held`` with the time it is due.
  The offset is committed only after that, or after the job was dead-lettered to
  ``<prefix>.alerts.dead-letter`` with the reason, so a crash redelivers the job: a record
  already delivered is skipped, and one delivered but not yet marked is sent again with the
  same idempotency key for the receiver to drop.
* the sweeper finds held alerts that are due (and claims that lapsed), claims them with a
  conditional write so two dispatchers cannot both send them, groups them per rule into one
  message (a digest, or the roll-up of what the throttle held back), delivers and marks them.

All delivery state is in the alert records, so a restart neither loses nor repeats a digest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from common.bus import Bus, BusUnavailable, Message, Publisher, Record
from common.bus.factory import connect_bus
from common.bus.provisioning import TopicProvisioner
from common.consumer import BatchLoop, RetryableError, backoff_delay
from common.deadletter import dead_letter
from common.logging import configure_logging
from common.metrics.catalog import ALERT_DELIVERIES
from common.records import DecodeError, describe_error
from common.runner import run_worker
from common.settings import Settings
from services.alerts.channels import Channels, DeliveryError, HttpSender, SmtpSender
from services.alerts.messages import AlertMessage
from services.alerts.models import AlertJob, AlertRecord, DeliveredAs, RuleRecord
from services.alerts.schedule import quiet_until, send_time
from services.alerts.store import AlertStore, Conflict, Versioned
from services.search.store.base import StoreUnavailable

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Stopping(RetryableError):
    """The process is stopping mid-retry: leave the batch uncommitted."""


def update_alert(
    store: AlertStore,
    tenant: str,
    alert_id: str,
    change: Callable[[AlertRecord], bool],
    *,
    refresh: bool = True,
    attempts: int = 5,
) -> AlertRecord | None:
    """Read, change and conditionally write an alert, again on a lost race; None if it is gone.

    ``change`` edits the record in place and returns False when there is nothing to write.
    """
    for _ in range(attempts):
        found = store.get_alert(tenant, alert_id)
        if found is None:
            return None
        record = found.record.model_copy(deep=True)
        if not change(record):
            return record
        try:
            store.save_alert(record, found, refresh=refresh)
            return record
        except Conflict:
            continue
    raise RetryableError(f"alert {alert_id} kept changing")


class Deliverer:
    """Sends one message to every channel of a rule, retrying each with capped jittered backoff."""

    def __init__(
        self,
        channels: Channels,
        *,
        max_attempts: int,
        base_s: float,
        cap_s: float,
        stop: threading.Event,
    ) -> None:
        self._channels = channels
        self._max_attempts = max_attempts
        self._base_s = base_s
        self._cap_s = cap_s
        self._stop = stop

    def deliver(self, rule: RuleRecord, message: AlertMessage) -> str | None:
        """None when every channel took the message, else why one could not (after retries)."""
        for channel in rule.channels:
            attempt = 0
            while True:
                try:
                    self._channels.send(channel, message)
                    ALERT_DELIVERIES.labels(channel.type, "ok").inc()
                    break
                except Stopping:
                    raise
                except Exception as exc:  # noqa: BLE001 - an unexpected failure must not stop every tenant's alerts
                    if not isinstance(exc, DeliveryError):
                        log.error("delivery to %s crashed", channel.type, extra={"exc_type": type(exc).__name__})
                        return f"{channel.type} channel: could not be sent ({type(exc).__name__})"
                    attempt += 1
                    if not exc.retryable or attempt >= self._max_attempts:
                        ALERT_DELIVERIES.labels(channel.type, "failed").inc()
                        return f"{channel.type} channel: {exc} (after {attempt} attempt(s))"
                    ALERT_DELIVERIES.labels(channel.type, "retry").inc()
                    delay = backoff_delay(attempt - 1, self._base_s, self._cap_s)
                    log.warning("delivery to %s failed (%s); retry %d in %.2fs", channel.type, exc, attempt, delay)
                    if self._stop.wait(delay):
                        raise Stopping("stopping during a delivery retry") from None
        return None


def message_key(alerts: Sequence[AlertRecord]) -> str:
    """The idempotency key: the alert's id alone, or a digest of the sorted ids of a group."""
    if len(alerts) == 1:
        return alerts[0].id
    joined = ",".join(sorted(a.id for a in alerts))
    return "group-" + hashlib.sha256(joined.encode("utf-8")).hexdigest()[:32]


class Dispatcher:
    def __init__(
        self,
        store: AlertStore,
        deliverer: Deliverer,
        *,
        claim_s: float,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._deliverer = deliverer
        self._claim = timedelta(seconds=claim_s)
        self._clock = clock

    # ------------------------------------------------------------------------- jobs
    def handle(self, job: AlertJob) -> str | None:
        """Deliver or hold one alert; the reason when it failed for good (to dead-letter)."""
        found = self._store.get_alert(job.tenant, job.alert_id)
        if found is not None and found.record.delivery_state == "failed":
            # Failed for good on an earlier pass of this batch (which was then retried): the dead
            # letter is emitted again, so it cannot be lost with the pass that was retried.
            return found.record.delivery_error or "delivery failed"
        if found is None or found.record.delivery_state != "pending":
            return None  # unknown, or a redelivered job whose alert was handled already
        alert = found.record
        rule = self._rule(alert)
        if rule is None:
            self._finish([alert], "cancelled", None, "the rule was deleted")
            return None
        now = self._clock()
        hold_until = send_time(rule.delivery, rule.quiet_hours, alert.severity, now)
        if hold_until is None and rule.delivery.max_per_hour:
            sent, first = self._store.count_delivered(alert.tenant, rule.id, now - timedelta(hours=1), "single")
            if sent >= rule.delivery.max_per_hour and first is not None:
                hold_until = first + timedelta(hours=1)  # the roll-up goes when the hour's budget frees
                hold_until = quiet_until(rule.quiet_hours, alert.severity, hold_until) or hold_until
        if hold_until is not None:
            self._hold(alert, hold_until)
            return None
        message = AlertMessage(
            key=message_key([alert]),
            kind="single",
            tenant=alert.tenant,
            rule_id=rule.id,
            rule_name=rule.name,
            severity=alert.severity,
            alerts=[alert],
        )
        return self._send(rule, message, "single")

    def _rule(self, alert: AlertRecord) -> RuleRecord | None:
        found = self._store.get_rule(alert.tenant, alert.rule_id)
        return found.record if found else None

    def _hold(self, alert: AlertRecord, until: datetime) -> None:
        def change(record: AlertRecord) -> bool:
            if record.delivery_state != "pending":
                return False
            record.delivery_state = "held"
            record.due_at = until
            return True

        update_alert(self._store, alert.tenant, alert.id, change)

    def _send(self, rule: RuleRecord, message: AlertMessage, kind: DeliveredAs) -> str | None:
        error = self._deliverer.deliver(rule, message)
        if error is None:
            # Only a throttle searches for deliveries (count_delivered); skip the refresh otherwise.
            refresh = bool(rule.delivery.max_per_hour)
            self._finish(message.alerts, "delivered", kind, None, key=message.key, refresh=refresh)
            log.info("delivered %s alert message to %d channel(s)", kind, len(rule.channels))
        else:
            self._finish(message.alerts, "failed", None, error, key=message.key)
            log.warning("alert message dead-lettered: %s", error)
        return error

    def _finish(
        self,
        alerts: Sequence[AlertRecord],
        state: str,
        kind: DeliveredAs | None,
        error: str | None,
        key: str | None = None,
        refresh: bool = True,
    ) -> None:
        now = self._clock()

        def change(record: AlertRecord) -> bool:
            record.delivery_state = state  # type: ignore[assignment]
            record.claimed_until = None
            record.delivery_error = error
            record.message_key = key
            if state == "delivered":
                record.delivered_at = now
                record.delivered_as = kind
            return True

        for alert in alerts:
            update_alert(self._store, alert.tenant, alert.id, change, refresh=refresh)

    # ------------------------------------------------------------------------- sweeps
    def sweep(self, limit: int = 500) -> list[tuple[list[str], str]]:
        """Send what is due; return ``(alert ids, reason)`` of each group that failed for good."""
        now = self._clock()
        groups: dict[tuple[str, str], list[Versioned[AlertRecord]]] = defaultdict(list)
        for item in self._store.due(now, limit):
            groups[(item.record.tenant, item.record.rule_id)].append(item)
        failures = []
        for (tenant, rule_id), items in groups.items():
            claimed = self._claim_all(items, now)
            if not claimed:
                continue
            found = self._store.get_rule(tenant, rule_id)
            if found is None:
                self._finish(claimed, "cancelled", None, "the rule was deleted")
                continue
            rule = found.record
            kind: DeliveredAs = "digest" if rule.delivery.mode != "immediate" else "rollup"
            if len(claimed) == 1 and kind == "rollup":
                kind = "single"  # one alert held by quiet hours goes as itself
            message = AlertMessage(
                key=message_key(claimed),
                kind=kind,
                tenant=tenant,
                rule_id=rule.id,
                rule_name=rule.name,
                severity=max((a.severity for a in claimed), key=_severity_rank),
                alerts=sorted(claimed, key=lambda a: a.created_at),
            )
            error = self._send(rule, message, kind)
            if error is not None:
                failures.append(([a.id for a in claimed], error))
        return failures

    def _claim_all(self, items: Sequence[Versioned[AlertRecord]], now: datetime) -> list[AlertRecord]:
        claimed = []
        for item in items:
            record = item.record.model_copy(deep=True)
            record.delivery_state = "sending"
            record.claimed_until = now + self._claim
            try:
                self._store.save_alert(record, item, refresh=False)  # the seq_no guards it, not a search
            except Conflict:
                continue  # another dispatcher took it, or a person changed it: next sweep decides
            claimed.append(record)
        return claimed


def _severity_rank(severity: str) -> int:
    from services.alerts.rules import SEVERITY_ORDER

    return SEVERITY_ORDER[severity]


class DispatchProcessor:
    """The job loop's strategy: deliver or hold each job; dead-letter what failed for good."""

    def __init__(self, dispatcher: Dispatcher, dead_letter_topic: str) -> None:
        self._dispatcher = dispatcher
        self._dead_letter_topic = dead_letter_topic

    def process(self, records: Sequence[Record]) -> Mapping[str, Sequence[Message]]:
        dead: list[Message] = []
        for record in records:
            try:
                job = AlertJob.model_validate_json(record.value)
            except DecodeError as exc:
                dead.append(dead_letter(record, reason=describe_error(exc), stage="alerts.decode"))
                continue
            try:
                error = self._dispatcher.handle(job)
            except StoreUnavailable as exc:
                raise RetryableError(str(exc)) from exc
            if error is not None:
                dead.append(dead_letter(record, reason=error, stage="alerts.deliver"))
        return {self._dead_letter_topic: dead}


class Sweeper:
    """Runs ``Dispatcher.sweep`` every few seconds and dead-letters the groups that failed."""

    def __init__(
        self, dispatcher: Dispatcher, publisher: Publisher, settings: Settings, clock: Clock = utc_now
    ) -> None:
        self._dispatcher = dispatcher
        self._publisher = publisher
        self._topic = settings.topics.alerts_dead_letter
        self._interval_s = settings.alerts_sweep_interval_s
        self._timeout_s = settings.produce_timeout_s
        self._clock = clock

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval_s):
            self.run_once()

    def run_once(self) -> None:
        try:
            failures = self._dispatcher.sweep()
        except (StoreUnavailable, RetryableError) as exc:
            log.warning("sweep failed (%s); next one retries", type(exc).__name__)
            return
        except Exception as exc:  # noqa: BLE001 - the sweeper must outlive one bad record
            # By type only: an exception message could quote a record's content.
            log.error("sweep failed unexpectedly (%s); next one retries", type(exc).__name__)
            return
        for alert_ids, reason in failures:
            letter = {
                "reason": reason,
                "stage": "alerts.sweep",
                "alert_ids": alert_ids,
                "failed_at": self._clock().isoformat(),
            }
            try:
                self._publisher.publish(
                    self._topic,
                    [Message(key=None, value=json.dumps(letter).encode("utf-8"))],
                    timeout_s=self._timeout_s,
                )
            except BusUnavailable:
                log.warning("could not dead-letter a failed digest; its alerts stay marked failed")


def build_channels(settings: Settings) -> Channels:
    return Channels(
        HttpSender(settings.alerts_delivery_timeout_s, settings.alerts_allow_private_targets),
        SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout_s=settings.alerts_delivery_timeout_s,
        ),
    )


def build_dispatcher(
    settings: Settings, store: AlertStore, stop: threading.Event, channels: Channels | None = None
) -> Dispatcher:
    deliverer = Deliverer(
        channels or build_channels(settings),
        max_attempts=settings.alerts_max_attempts,
        base_s=settings.alerts_retry_base_s,
        cap_s=settings.alerts_retry_cap_s,
        stop=stop,
    )
    return Dispatcher(store, deliverer, claim_s=settings.alerts_claim_s)


def build_loop(settings: Settings, bus: Bus, dispatcher: Dispatcher) -> BatchLoop:
    TopicProvisioner(bus, settings).ensure()
    return BatchLoop(
        name="alerts-dispatcher",
        subscription=bus.subscribe([settings.topics.alerts], settings.alerts_dispatcher_consumer_group),
        publisher=bus.publisher(),
        processor=DispatchProcessor(dispatcher, settings.topics.alerts_dead_letter),
        batch_size=settings.alerts_batch_size,
        batch_wait_s=0.01,
        produce_timeout_s=settings.produce_timeout_s,
    )


def run_dispatcher(settings: Settings, bus: Bus, store: AlertStore, stop: threading.Event) -> None:
    """The job loop in this thread and the sweeper beside it, until ``stop`` is set (or a signal)."""
    dispatcher = build_dispatcher(settings, store, stop)
    # The sweeper gets its own channels: one HTTP session per thread.
    sweeper = Sweeper(build_dispatcher(settings, store, stop), bus.publisher(), settings)
    thread = threading.Thread(target=sweeper.run, args=(stop,), name="alerts-sweeper", daemon=True)
    thread.start()
    run_worker(build_loop(settings, bus, dispatcher), settings, stop)
    thread.join(timeout=30)


def main() -> None:
    from services.alerts.evaluator import build_alert_store, wait_for_schema

    settings = Settings()
    configure_logging("alerts-dispatcher", settings.log_level)
    store = build_alert_store(settings)
    wait_for_schema(store)
    bus = connect_bus(settings, client_id="radar-alerts-dispatcher")
    run_dispatcher(settings, bus, store, threading.Event())


if __name__ == "__main__":
    main()
