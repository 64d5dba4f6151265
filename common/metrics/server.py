"""The worker processes' own HTTP endpoint: ``/metrics``, ``/healthz`` and ``/readyz``.

Workers have no web framework, and a probe must not depend on the consumer loop's thread (a
loop stuck in a batch is exactly what liveness should report), so a small threaded
``http.server`` answers from its own thread.  ``RADAR_METRICS_PORT=0`` turns it off.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common.metrics.http import exposition

log = logging.getLogger(__name__)

Probe = Callable[[], tuple[bool, dict[str, object]]]
"""Answers (ok, details) for a probe; details are shown in the JSON body."""


def _always_ok() -> tuple[bool, dict[str, object]]:
    return True, {}


class MetricsServer:
    """Serves metrics and probes on ``host:port`` in a daemon thread until ``close``."""

    def __init__(self, host: str, port: int, *, live: Probe = _always_ok, ready: Probe = _always_ok) -> None:
        probes = {"/healthz": live, "/readyz": ready}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body, content_type = exposition()
                    self._send(200, body, content_type)
                elif path in probes:
                    try:
                        ok, details = probes[path]()
                    except Exception as exc:  # noqa: BLE001 - a failing probe is a not-ready answer
                        ok, details = False, {"error": type(exc).__name__}
                    status = "ok" if path == "/healthz" else "ready"
                    payload = {"status": status if ok else "not_" + status, **details}
                    self._send(200 if ok else 503, json.dumps(payload).encode(), "application/json")
                else:
                    self._send(404, b'{"error": "no such endpoint"}', "application/json")

            def _send(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("metrics server: " + format, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-server", daemon=True)

    @property
    def port(self) -> int:
        """The bound port (the OS picks one when constructed with port 0, as the tests do)."""
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("metrics and probes on port %d", self.port)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
