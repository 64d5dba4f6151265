"""Gunicorn settings of every Radar HTTP service: ``gunicorn -c python:common.gunicorn_conf APP``.

Worker model: ``--workers`` processes (``WEB_CONCURRENCY``, default 2) of ``--threads`` threads
(``GUNICORN_THREADS``, default 4) with the gthread worker, because the request handlers mostly wait
on Kafka or the search engine.  The sentiment API runs one process (each would hold its own
copy of the models) with a couple of threads; its images set ``WEB_CONCURRENCY=1``.

Metrics with several processes: prometheus_client's multiprocess mode.  This file sets
``PROMETHEUS_MULTIPROC_DIR`` (unless the environment names one) to a fresh private directory
before the app is imported, so only gunicorn processes use it, never the worker processes started
from the same image; it empties the directory when the master starts and marks a worker's files
dead when it exits, and ``/metrics`` on any gunicorn worker adds them all up.

``graceful_timeout`` is ``RADAR_SHUTDOWN_GRACE_S``: after SIGTERM, requests in flight finish
within it, then gunicorn stops its workers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from common.settings import Settings

_settings = Settings()

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="radar-metrics-")

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
graceful_timeout = int(_settings.shutdown_grace_s)
timeout = 60
keepalive = 5
accesslog = None  # request logs come from the app, as JSON with request ids


def on_starting(server: Any) -> None:
    """Start with an empty multiprocess directory: files of an earlier run would add stale counts."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (its counters stay, as Prometheus expects)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
