"""The source scheduler: ``python -m services.ingest.scheduler``.

Runs every configured source (``RADAR_SOURCES_FILE``) at its interval with jitter, each run in a
worker thread of a bounded pool, so a slow or broken source holds one worker (for at most its
HTTP time limits) and never the others.  Between runs the process sleeps until the next source
is due: an idle scheduler costs next to nothing.  The sources file is read at start; restart the
scheduler to apply changes.  Cursors and status come from, and go to, the
compacted ``<prefix>.source-state`` topic, so a restart continues where the last run stopped
(next runs included).  SIGTERM/SIGINT stop it gracefully: no new runs start, running ones stop
after the page in flight (its cursor stored), and retry waits are cut short.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from common.bus import Bus, BusUnavailable, Publisher
from common.logging import configure_logging
from common.runner import exit_deadline
from common.settings import Settings
from services.ingest.sources.base import SourceContext
from services.ingest.sources.config import SourceConfig, SourcesConfigError, SourcesFile, TenantSources, load_sources
from services.ingest.sources.http import HttpPolicy, SafeHttpClient
from services.ingest.sources.registry import connector_for
from services.ingest.sources.robots import HostGate
from services.ingest.sources.runner import next_interval, run_source
from services.ingest.sources.state import SourceStateStore, state_key

log = logging.getLogger(__name__)

MAX_IDLE_WAIT_S = 30.0


@dataclass
class _Slot:
    tenant: TenantSources
    source: SourceConfig
    due: float  # time.monotonic()
    running: Future[object] | None = field(default=None)


class Scheduler:
    """Owns the timing; ``run_source`` owns what one run does."""

    def __init__(
        self,
        settings: Settings,
        sources: SourcesFile,
        bus: Bus,
        publisher: Publisher,
        http: SafeHttpClient,
        *,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.sources = sources
        self.bus = bus
        self.publisher = publisher
        self.http = http
        self.stop = stop or threading.Event()
        self.store = SourceStateStore(bus, publisher, settings.topics.source_state, settings.produce_timeout_s)
        self.hosts = HostGate(http, settings.source_user_agent, settings.source_host_interval_s)
        self.runs_done = 0
        self.wake_event = threading.Event()

    def _initial_due(self, tenant: TenantSources, source: SourceConfig, now_mono: float) -> float:
        state = self.store.get(tenant.tenant, source.id, source.type)
        now = datetime.now(UTC)
        if state.next_run_at and state.next_run_at > now:
            return now_mono + (state.next_run_at - now).total_seconds()
        # Spread the first runs a little so a restart does not fire every source at once.
        interval = source.interval_s or self.settings.source_default_interval_s
        return now_mono + random.uniform(0, min(5.0, interval * self.settings.source_jitter))

    def run(self) -> None:
        """Schedule until ``stop`` is set.  Raises BusUnavailable if the state cannot be read at start."""
        self.store.ensure_topic(self.settings.topic_partitions, self.settings.topic_replication)
        self.bus.ensure_topics(
            self.settings.topics.all(), self.settings.topic_partitions, self.settings.topic_replication
        )
        self.store.load()
        now = time.monotonic()
        slots = {
            state_key(t.tenant, s.id): _Slot(t, s, self._initial_due(t, s, now)) for t, s in self.sources.all_sources()
        }
        log.info("scheduler started", extra={"sources": len(slots)})
        with ThreadPoolExecutor(max_workers=self.settings.source_workers, thread_name_prefix="source") as pool:
            while not self.stop.is_set():
                now = time.monotonic()
                for slot in slots.values():
                    if slot.running is not None and slot.running.done():
                        slot.running = None
                    if slot.running is None and slot.due <= now:
                        slot.running = pool.submit(self._run_one, slot)
                waiting = [s.due for s in slots.values() if s.running is None]
                wait = min([MAX_IDLE_WAIT_S, *[max(0.0, d - time.monotonic()) for d in waiting]])
                self.wake_event.wait(wait)
                self.wake_event.clear()
            log.info("scheduler stopping; waiting for runs in flight")
        log.info("scheduler stopped", extra={"runs": self.runs_done})

    def _record_crash(self, slot: _Slot, exc: Exception) -> None:
        """Show a crash in ``GET /v1/sources`` like any failure, so it is seen and counted."""
        try:
            state = self.store.get(slot.tenant.tenant, slot.source.id, slot.source.type)
            now = datetime.now(UTC)
            self.store.save(
                state.model_copy(
                    update={
                        "last_run_at": now,
                        "last_error": f"crashed ({type(exc).__name__}); see the scheduler log",
                        "last_error_at": now,
                        "consecutive_failures": state.consecutive_failures + 1,
                    }
                )
            )
        except Exception as save_exc:  # noqa: BLE001 - the status is best effort here
            log.warning("could not record the crash", extra={"exc_type": type(save_exc).__name__})

    def _run_one(self, slot: _Slot) -> None:
        ctx = SourceContext(http=self.http, settings=self.settings, hosts=self.hosts, stop=self.stop)
        delay = next_interval(slot.source, self.settings)
        try:
            state = self.store.get(slot.tenant.tenant, slot.source.id, slot.source.type)
            now = datetime.now(UTC)
            if state.breaker_open(now) and state.breaker_open_until is not None:
                delay = (state.breaker_open_until - now).total_seconds()
                return
            state, _ = run_source(
                slot.tenant, slot.source, connector_for(slot.source.type), ctx, self.store, self.publisher
            )
            if state.next_run_at is not None:
                delay = max(1.0, (state.next_run_at - datetime.now(UTC)).total_seconds())
        except BusUnavailable as exc:
            # Nothing after the last acknowledged page was stored: the next run repeats it.
            log.warning(
                "source run stopped: Kafka unavailable (%s)", type(exc).__name__, extra={"source": slot.source.id}
            )
            delay = min(delay, 30.0)
        except Exception as exc:  # noqa: BLE001 - a connector bug must not kill its worker thread
            # Type and stack only: an exception's message may quote fetched text.
            log.error(
                "source run crashed",
                extra={
                    "tenant": slot.tenant.tenant,
                    "source": slot.source.id,
                    "exc_type": type(exc).__name__,
                    "stack": "".join(traceback.format_tb(exc.__traceback__)),
                },
            )
            self._record_crash(slot, exc)
        finally:
            slot.due = time.monotonic() + delay
            self.runs_done += 1
            self.wake_event.set()


def main() -> None:
    settings = Settings()
    configure_logging("scheduler", settings.log_level)
    from common.bus.factory import connect_bus

    try:
        sources = load_sources(settings.sources_file)
    except SourcesConfigError as exc:
        log.error("cannot start: %s", exc)
        raise SystemExit(2) from None
    bus = connect_bus(settings, client_id="radar-scheduler")
    http = SafeHttpClient(HttpPolicy.from_settings(settings))
    scheduler = Scheduler(settings, sources, bus, bus.publisher(), http)

    deadline = exit_deadline(settings.shutdown_grace_s, "scheduler")

    def _request_stop(signum: int, _frame: FrameType | None) -> None:
        if scheduler.stop.is_set():
            return
        # Source runs in flight finish (their pages up to now are acknowledged); one that is
        # still waiting on a slow source when the grace period ends is repeated next time.
        log.info("scheduler received signal %d; stopping (at most %.0fs)", signum, settings.shutdown_grace_s)
        scheduler.stop.set()
        scheduler.wake_event.set()
        deadline.start()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    metrics = None
    if settings.metrics_port:
        from common.metrics.server import MetricsServer

        def _ready() -> tuple[bool, dict[str, object]]:
            healthy = bus.is_healthy()
            return healthy, {"kafka": "ok" if healthy else "unreachable"}

        metrics = MetricsServer(settings.metrics_host, settings.metrics_port, ready=_ready).start()
    while not scheduler.stop.is_set():
        try:
            scheduler.run()
        except BusUnavailable as exc:
            log.warning("Kafka not reachable yet (%s); retrying in 5 s", type(exc).__name__)
            scheduler.stop.wait(5)
    http.close()
    if metrics is not None:
        metrics.close()


if __name__ == "__main__":
    main()
