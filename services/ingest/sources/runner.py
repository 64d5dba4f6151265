"""One run of one source: pages -> intake -> Kafka -> cursor, and the source's status.

The order inside a page is the whole point: mentions are validated by the same intake rules as
the API, published and acknowledged by Kafka, and only then is the page's cursor stored.  A crash
in between re-reads the page next time (ids make that harmless); nothing is ever skipped.

Unlike the API, which refuses a batch with one bad item, a run skips an invalid outside item and
counts it: one malformed review on a page must not hold back the others.  Only counts and field
names are logged, never text or names.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from common.bus import Publisher
from common.settings import Settings
from services.ingest.intake import deduplicate, parse_mentions, publish_mentions
from services.ingest.sources.base import Connector, SourceContext
from services.ingest.sources.config import SourceConfig, SourcesConfigError, TenantSources
from services.ingest.sources.http import SourceError, SourceRateLimited
from services.ingest.sources.matching import DirectoryMatcher
from services.ingest.sources.state import SourceState, SourceStateStore

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    published: int = 0
    skipped: int = 0
    pages: int = 0
    error: str | None = None


def next_interval(source: SourceConfig, settings: Settings) -> float:
    """The source's interval with ±jitter, so sources configured alike do not poll in step."""
    base = source.interval_s or settings.source_default_interval_s
    spread = base * settings.source_jitter
    return max(1.0, base + random.uniform(-spread, spread))


def prepare_items(
    items: list[dict[str, Any]], source: SourceConfig, matcher: DirectoryMatcher, now: datetime
) -> list[dict[str, Any]]:
    prepared = []
    for raw in items:
        item = {k: v for k, v in raw.items() if v is not None}
        item["source"] = item.get("source") or source.source or source.type
        item.setdefault("fetched_at", now.isoformat())
        prepared.append(matcher.apply(item, source))
    return prepared


def publish_items(
    tenant: TenantSources,
    source: SourceConfig,
    items: list[dict[str, Any]],
    publisher: Publisher,
    settings: Settings,
    *,
    matcher: DirectoryMatcher | None = None,
    now: datetime,
) -> tuple[int, int]:
    """Validate raw items with the intake rules and publish them; return (published, skipped).

    Returns only after Kafka acknowledged every mention (raises BusUnavailable otherwise).
    """
    matcher = matcher or DirectoryMatcher(tenant.directory)
    prepared = prepare_items(items, source, matcher, now)
    parsed = parse_mentions(
        prepared, tenant=tenant.tenant, prefix="items", max_text_chars=settings.max_text_chars, now=now
    )
    skipped = 0
    if parsed.problems:
        bad = {p.field.split("]", 1)[0] for p in parsed.problems}
        skipped = len(bad)
        log.warning(
            "skipped invalid items",
            extra={
                "tenant": tenant.tenant,
                "source": source.id,
                "count": skipped,
                "fields": sorted({p.field.split(".", 1)[-1] for p in parsed.problems})[:10],
            },
        )
    unique, _ = deduplicate(parsed.mentions)
    publish_mentions(publisher, settings.topics.raw, unique, timeout_s=settings.produce_timeout_s)
    return len(unique), skipped


def run_source(
    tenant: TenantSources,
    source: SourceConfig,
    connector: Connector,
    ctx: SourceContext,
    store: SourceStateStore,
    publisher: Publisher,
    *,
    backfill: bool = False,
    on_page: Callable[[int], None] | None = None,
) -> tuple[SourceState, RunResult]:
    """Run ``source`` from its stored cursor until it is read (or stopped); store status either way."""
    settings = ctx.settings
    state = store.get(tenant.tenant, source.id, source.type, backfill=backfill)
    matcher = DirectoryMatcher(tenant.directory)
    result = RunResult()
    started = ctx.clock()
    state.last_run_at = started
    state.last_run_items = 0
    try:
        for page in connector.pages(source, dict(state.cursor), ctx, backfill=backfill):
            published, skipped = publish_items(
                tenant, source, page.items, publisher, settings, matcher=matcher, now=ctx.clock()
            )
            result.skipped += skipped
            # Acknowledged by Kafka first (publish_items returned), cursor second: see the module docstring.
            state.cursor = page.cursor
            state.items_fetched += published
            state.last_run_items += published
            result.published += published
            result.pages += 1
            store.save(state)
            if on_page is not None:
                on_page(published)
            if ctx.stop.is_set():
                break
    except (SourceError, SourcesConfigError) as exc:
        code = getattr(exc, "code", "config_error")
        result.error = f"{code}: {exc}"
        state.last_error = result.error
        state.last_error_at = ctx.clock()
        state.consecutive_failures += 1
        delay = next_interval(source, settings)
        if isinstance(exc, SourceRateLimited) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        if state.consecutive_failures >= settings.source_breaker_failures:
            state.breaker_open_until = ctx.clock() + timedelta(seconds=settings.source_breaker_cooldown_s)
            delay = max(delay, settings.source_breaker_cooldown_s)
            log.warning("circuit breaker open", extra={"tenant": tenant.tenant, "source": source.id, "error": code})
        state.next_run_at = ctx.clock() + timedelta(seconds=delay)
        log.warning(
            "source run failed",
            extra={"tenant": tenant.tenant, "source": source.id, "error": code, "published": result.published},
        )
        store.save(state)
        return state, result
    state.last_success_at = ctx.clock()
    state.consecutive_failures = 0
    state.breaker_open_until = None
    state.next_run_at = ctx.clock() + timedelta(seconds=next_interval(source, settings))
    if backfill and not ctx.stop.is_set():
        state.completed = True
    store.save(state)
    log.info(
        "source run done",
        extra={"tenant": tenant.tenant, "source": source.id, "published": result.published, "pages": result.pages},
    )
    return state, result
