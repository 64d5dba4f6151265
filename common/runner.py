"""Running a consumer loop as a process: signals, graceful drain, exit codes."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from common.consumer import BatchLoop

log = logging.getLogger(__name__)


def run_until_signalled(loop: BatchLoop, stop: threading.Event | None = None) -> None:
    """Run ``loop`` until SIGTERM or SIGINT; the batch in flight finishes and is committed first."""
    stop = stop or threading.Event()

    def _request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received signal %d; draining", loop.name, signum)
        stop.set()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    loop.run(stop)
