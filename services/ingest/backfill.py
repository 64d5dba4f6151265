"""Pull a source's whole history: ``radar-backfill TENANT SOURCE`` (or ``python -m services.ingest.backfill``).

Runs the source's connector in backfill mode (no page limit, walking back to the oldest entry)
through the same intake and Kafka path as the scheduler, with a progress bar.  Its cursor has
its own key (``<tenant>/<source>/backfill``) in the source-state topic, stored after each page
is acknowledged, so an interrupted backfill (Ctrl-C, a crash, a source error) resumes where it
stopped when run again; mention ids make a repeated page harmless.  It never disturbs the
scheduler's own cursor.  Transient failures are retried with the shared full-jitter backoff.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

from tqdm import tqdm

from common.bus import Bus, BusUnavailable
from common.consumer import backoff_delay
from common.logging import configure_logging
from common.settings import Settings
from services.ingest.sources.base import SourceContext
from services.ingest.sources.config import SourcesFile, load_sources
from services.ingest.sources.http import HttpPolicy, SafeHttpClient
from services.ingest.sources.registry import connector_for
from services.ingest.sources.robots import HostGate
from services.ingest.sources.runner import run_source
from services.ingest.sources.state import SourceState, SourceStateStore


@dataclass
class BackfillReport:
    tenant: str
    source: str
    published: int = 0
    pages: int = 0
    skipped: int = 0
    completed: bool = False
    interrupted: bool = False
    error: str | None = None
    total_published: int = 0


class BackfillError(RuntimeError):
    """The named tenant or source is not in the sources file."""


def run_backfill(
    settings: Settings,
    sources: SourcesFile,
    bus: Bus,
    tenant: str,
    source_id: str,
    *,
    restart: bool = False,
    progress: bool = True,
    attempts: int = 5,
    stop: threading.Event | None = None,
    http: SafeHttpClient | None = None,
) -> BackfillReport:
    found = sources.find(tenant, source_id)
    if found is None:
        raise BackfillError(f"no source {source_id!r} for tenant {tenant!r} in the sources file")
    owner, source = found
    stop = stop or threading.Event()
    publisher = bus.publisher()
    store = SourceStateStore(bus, publisher, settings.topics.source_state, settings.produce_timeout_s)
    store.ensure_topic(settings.topic_partitions, settings.topic_replication)
    bus.ensure_topics(settings.topics.all(), settings.topic_partitions, settings.topic_replication)
    store.load()
    if restart:
        store.save(SourceState(tenant=tenant, source_id=source_id, type=source.type, backfill=True))
    http = http or SafeHttpClient(HttpPolicy.from_settings(settings))
    ctx = SourceContext(
        http=http,
        settings=settings,
        hosts=HostGate(http, settings.source_user_agent, settings.source_host_interval_s),
        stop=stop,
    )
    report = BackfillReport(tenant=tenant, source=source_id)
    with tqdm(desc=f"backfill {tenant}/{source_id}", unit=" mentions", disable=not progress) as bar:
        for attempt in range(attempts):
            try:
                state, result = run_source(
                    owner, source, connector_for(source.type), ctx, store, publisher, backfill=True, on_page=bar.update
                )
            except BusUnavailable as exc:
                report.error = f"bus_unavailable: {exc}"
            else:
                report.published += result.published
                report.pages += result.pages
                report.skipped += result.skipped
                report.total_published = state.items_fetched
                report.error = result.error
                report.completed = state.completed
                if result.error is None:
                    break
            if stop.is_set() or attempt == attempts - 1:
                break
            stop.wait(backoff_delay(attempt, base_s=1.0, cap_s=30.0))
    report.interrupted = stop.is_set() and not report.completed
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="radar-backfill", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("tenant")
    parser.add_argument("source", help="the source's id in the sources file")
    parser.add_argument("--sources-file", type=Path, help="default: $RADAR_SOURCES_FILE")
    parser.add_argument("--restart", action="store_true", help="forget the backfill's cursor and start from the top")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging("backfill", "WARNING" if not args.no_progress else settings.log_level)
    from common.bus.factory import connect_bus

    sources = load_sources(args.sources_file or settings.sources_file)
    bus = connect_bus(settings, client_id="radar-backfill")
    stop = threading.Event()

    def _request_stop(signum: int, _frame: FrameType | None) -> None:
        print("\nstopping after the page in flight; run again to resume", file=sys.stderr)
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    try:
        report = run_backfill(
            settings,
            sources,
            bus,
            args.tenant,
            args.source,
            restart=args.restart,
            progress=not args.no_progress,
            stop=stop,
        )
    except BackfillError as exc:
        parser.error(str(exc))
    except BusUnavailable as exc:
        print(f"backfill stopped: Kafka unavailable ({exc})", file=sys.stderr)
        return 2
    print(json.dumps(asdict(report), indent=2))
    if report.completed:
        return 0
    return 3 if report.interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
