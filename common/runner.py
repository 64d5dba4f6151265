"""Running a consumer loop as a process: signals, graceful drain within a deadline, probes.

On SIGTERM (or SIGINT) the loop finishes the batch in flight, commits it and leaves its group.
If that takes longer than ``RADAR_SHUTDOWN_GRACE_S`` (a dependency down, a retry loop) the process
exits anyway with status 1: the uncommitted batch is redelivered to the group, so nothing is lost,
and the orchestrator never has to SIGKILL a worker in the middle of a publish.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from common.consumer import BatchLoop
from common.metrics.server import MetricsServer, Probe
from common.settings import Settings

log = logging.getLogger(__name__)

EXIT_GRACE_EXCEEDED = 1


def _exit_after(grace_s: float, name: str) -> None:
    log.error("%s did not drain within %.0fs; exiting with the batch uncommitted (it is redelivered)", name, grace_s)
    logging.shutdown()
    os._exit(EXIT_GRACE_EXCEEDED)


def exit_deadline(grace_s: float, name: str) -> threading.Timer:
    """A daemon timer (not started) that ends the process with status 1 after ``grace_s``."""
    timer = threading.Timer(grace_s, _exit_after, args=(grace_s, name))
    timer.daemon = True
    return timer


def run_until_signalled(
    loop: BatchLoop,
    stop: threading.Event | None = None,
    *,
    grace_s: float = 25.0,
    metrics_port: int = 0,
    metrics_host: str = "0.0.0.0",
    ready: Probe | None = None,
) -> None:
    """Run ``loop`` until SIGTERM or SIGINT; the batch in flight finishes and is committed first.

    With ``metrics_port`` the process serves ``/metrics``, ``/healthz`` (the loop makes progress)
    and ``/readyz`` (``ready``, by default the loop's own readiness) on that port meanwhile.
    """
    stop = stop or threading.Event()
    watchdog = exit_deadline(grace_s, loop.name)

    def _request_stop(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            return
        log.info("%s received signal %d; draining (at most %.0fs)", loop.name, signum, grace_s)
        stop.set()
        watchdog.start()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    server = None
    if metrics_port:
        server = MetricsServer(metrics_host, metrics_port, live=loop.liveness, ready=ready or loop.readiness).start()
    try:
        loop.run(stop)
    finally:
        watchdog.cancel()
        if server is not None:
            server.close()


def run_worker(
    loop: BatchLoop, settings: Settings, stop: threading.Event | None = None, ready: Probe | None = None
) -> None:
    """``run_until_signalled`` with the grace period and metrics port taken from ``settings``."""
    run_until_signalled(
        loop,
        stop,
        grace_s=settings.shutdown_grace_s,
        metrics_port=settings.metrics_port,
        metrics_host=settings.metrics_host,
        ready=ready,
    )


def with_dependency(probe: Probe, name: str, check: Callable[[], bool]) -> Probe:
    """``probe`` that also needs ``check`` (a dependency's health) to pass; reported as ``name``."""

    def combined() -> tuple[bool, dict[str, object]]:
        ok, details = probe()
        healthy = check()
        return ok and healthy, {**details, name: "ok" if healthy else "unreachable"}

    return combined
