"""Politeness towards scraped hosts: robots.txt (protego) and a minimum interval per host.

Shared by every scraping source of the process, because politeness is owed per host, not per
source: two sources on one site must not double its load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
from protego import Protego

from services.ingest.sources.http import RobotsDisallowed, SafeHttpClient, SourceError, SourceNotFound


class HostGate:
    """Answers "may I fetch this URL now?" and waits for the host's turn."""

    def __init__(
        self,
        http: SafeHttpClient,
        user_agent: str,
        min_interval_s: float,
        robots_ttl_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._agent = user_agent.split("/", 1)[0]
        self._interval = min_interval_s
        self._ttl = robots_ttl_s
        self._clock = clock
        self._robots: dict[str, tuple[float, Protego | None]] = {}
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    def _robots_for(self, origin: str) -> Protego | None:
        with self._lock:
            cached = self._robots.get(origin)
        if cached and self._clock() - cached[0] < self._ttl:
            return cached[1]
        self.wait_turn(origin)
        try:
            response = self._http.get(f"{origin}/robots.txt")
            rules: Protego | None = Protego.parse(response.text)
        except SourceNotFound:
            rules = None  # no robots.txt: everything is allowed
        except SourceError as exc:
            # RFC 9309: an unreachable robots.txt (5xx) means "assume complete disallow".
            if getattr(exc, "status", 500) >= 500 or exc.retryable:
                raise RobotsDisallowed(f"{origin}/robots.txt could not be read; not fetching") from exc
            rules = None  # other 4xx: allowed
        with self._lock:
            self._robots[origin] = (self._clock(), rules)
        return rules

    def check(self, url: str) -> None:
        """Raise RobotsDisallowed when robots.txt forbids our agent this URL."""
        parsed = httpx.URL(url)
        origin = f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"
        rules = self._robots_for(origin)
        if rules is not None and not rules.can_fetch(url, self._agent):
            raise RobotsDisallowed(f"robots.txt of {parsed.host} disallows {parsed.path}")

    def wait_turn(self, url_or_origin: str, sleep: Callable[[float], None] = time.sleep) -> None:
        """Block until this host's next slot (at least ``min_interval_s`` after the previous one)."""
        host = httpx.URL(url_or_origin).host
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + self._interval
        if slot > now:
            sleep(slot - now)
