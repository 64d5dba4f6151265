"""The connector interface: one small module per source type implements ``Connector``.

A connector knows one source's wire format and paging, nothing else.  Given the source's
configuration and its stored cursor it yields ``Page``s: the raw mention fields it found (plain
dicts in ``MentionIn`` shape, validated later by the same intake rules as the API) and the cursor
to store once that page is safely in Kafka.  Publishing, cursor storage, matching to locations
and providers, and status all live in ``runner``, so every connector gets them the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from common.settings import Settings
from services.ingest.sources.config import SourceConfig
from services.ingest.sources.http import SafeHttpClient
from services.ingest.sources.robots import HostGate

Cursor = dict[str, Any]
"""A connector's own bookmark (JSON-serialisable): a page token, a high-water time, an ETag."""

HINT_PREFIX = "_"
"""Item keys starting with this are matching hints (``_subject``, ``_npi``), removed before validation."""


@dataclass
class Page:
    """One page of results and the cursor that is true once its mentions are in Kafka."""

    items: list[dict[str, Any]]
    cursor: Cursor
    fetched: int = 0  # entries the source returned, including ones skipped as unchanged or invalid


@dataclass
class SourceContext:
    """What a connector may use: the safe HTTP client, settings, the clock and the stop signal."""

    http: SafeHttpClient
    settings: Settings
    hosts: HostGate
    stop: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """A wait that ends early when the process is stopping."""
        self.stop.wait(seconds)


class Connector(Protocol):
    type: str

    def pages(self, source: SourceConfig, cursor: Cursor, ctx: SourceContext, *, backfill: bool) -> Iterator[Page]:
        """Yield pages from ``cursor`` on.  ``backfill`` means: walk the whole history, no page limit.

        Raise ``SourceError`` (from ``sources.http``) when the source cannot be read; pages
        already yielded stay published and their cursors stored.
        """
        ...
