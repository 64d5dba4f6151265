"""The embedded (SQLite FTS5) search store with 100,000 mentions, against Elasticsearch in the same run.

    .venv/bin/python bench/embedded_search_bench.py --data ../shared/data/physician-reviews.jsonl

Builds the same 100,000 scored mentions as ``bench/search_bench.py`` (real review texts,
synthetic sources, locations, providers, dates over two years), writes them through each
store's upsert (500 per batch, as the indexer does) and times the same search and analytics
mixes through the ``MentionStore`` interface.  Baseline: the Elasticsearch store on the local
engine, same documents, same queries, same process, same seed; ratios are embedded / ES.

Memory: a fresh child process opens the 100,000-mention file and runs the query mix; its
peak RSS is reported beside a bare interpreter's (the floor of any Python process).

Targets of issue 8: search p95 < 100 ms, analytics p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search_bench import TENANT, WORDS, build_mentions, summary  # noqa: E402
from bench.timing import percentile, timed  # noqa: E402
from common.settings import Settings  # noqa: E402
from services.search.app import build_engine_store  # noqa: E402
from services.search.reputation import reputation_scores  # noqa: E402
from services.search.store.base import MentionStore, ReputationRequest, SearchRequest, StatsRequest  # noqa: E402
from services.search.store.sqlite import SqliteMentionStore  # noqa: E402


def query_mix(store: MentionStore, seed: int) -> tuple[Callable[[int], None], Callable[[int], None]]:
    """The search and analytics calls of bench/search_bench.py, drawn from their own seeded RNG."""
    rng = random.Random(seed)

    def search(i: int) -> None:
        words = " ".join(rng.sample(WORDS, rng.choice([1, 2])))
        filters: dict[str, Any] = rng.choice(
            [
                {},
                {"sentiment": ["negative"]},
                {"source": ["google", "yelp"]},
                {"location": ["site-3"]},
                {"rating_max": 2.0},
            ]
        )
        q = words if i % 4 else None
        page = store.search(TENANT, SearchRequest(q=q, size=20, **filters))
        if page.next_cursor and i % 5 == 0:  # every fifth query also fetches page two
            store.search(TENANT, SearchRequest(q=q, size=20, cursor=page.next_cursor, **filters))

    def analytics(i: int) -> None:
        kind = i % 3
        if kind == 0:
            interval = rng.choice(["day", "week", "month"])
            store.stats(TENANT, StatsRequest(interval=interval, time_zone="America/Chicago"))  # type: ignore[arg-type]
        elif kind == 1:
            cells = store.rating_cells(TENANT, ReputationRequest(by=rng.choice(["location", "provider"])))
            reputation_scores(cells, half_life_days=180, prior_weight=5)
        else:
            end = datetime.now(UTC)
            store.stats(TENANT, StatsRequest(date_from=end - timedelta(days=30), date_to=end))

    return search, analytics


def measure(store: MentionStore, mentions: list[Any], queries: int) -> dict[str, Any]:
    started = time.perf_counter()
    for i in range(0, len(mentions), 500):
        report = store.upsert(mentions[i : i + 500])
        assert not report.failed, report.failed
    rate = len(mentions) / (time.perf_counter() - started)
    store.refresh()
    search, analytics = query_mix(store, seed=11)
    timed(search, 10)
    timed(analytics, 10)
    searches, analytics_ms = timed(search, queries), timed(analytics, queries)
    # The analytics kinds apart, so a slow one is not hidden in the mix.
    by_kind = {
        name: summary(timed(call, max(10, queries // 5)))
        for name, call in (
            ("stats_day_chicago", lambda _: store.stats(TENANT, StatsRequest(time_zone="America/Chicago"))),
            ("rating_cells_provider", lambda _: store.rating_cells(TENANT, ReputationRequest(by="provider"))),
            ("compare_month", lambda _: store.compare(TENANT, StatsRequest(interval="month"))),
        )
    }
    return {
        "upsert_per_s": round(rate),
        "search": summary(searches),
        "analytics": summary(analytics_ms),
        "analytics_by_kind": by_kind,
        "_raw": (searches, analytics_ms),
    }


_CHILD = """
import sys
sys.path.insert(0, {root!r})
if {open_store}:
    from bench.embedded_search_bench import query_mix
    from services.search.store.sqlite import SqliteMentionStore
    store = SqliteMentionStore({path!r})
    store.ensure_schema()
    search, analytics = query_mix(store, seed=3)
    for i in range(100):
        search(i)
        analytics(i)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


def peak_rss_mb(path: Path, open_store: bool) -> float:
    code = _CHILD.format(root=str(ROOT), path=str(path), open_store=open_store)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return round(int(out.strip().splitlines()[-1]) / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "physician-reviews.jsonl")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-baseline", action="store_true", help="skip the Elasticsearch baseline")
    args = parser.parse_args()

    mentions = build_mentions(args.data, args.n)
    with tempfile.TemporaryDirectory(prefix="radar-embedded-bench-") as scratch:
        path = Path(scratch) / "search.sqlite3"
        embedded = SqliteMentionStore(path)
        embedded.ensure_schema()
        results: dict[str, Any] = {"embedded": measure(embedded, mentions, args.queries)}
        embedded.close()
        file_mb = round(sum(p.stat().st_size for p in Path(scratch).iterdir()) / 2**20, 1)
        memory = {"bare_interpreter_mb": peak_rss_mb(path, False), "store_process_mb": peak_rss_mb(path, True)}
    if not args.no_baseline:
        engine = build_engine_store(Settings(index_alias=f"bench-{uuid.uuid4().hex[:8]}-mentions"))
        engine.ensure_schema()
        try:
            results["elasticsearch"] = measure(engine, mentions, args.queries)
        finally:
            engine.drop()

    def ratio(kind: str, q: float) -> float | None:
        if "elasticsearch" not in results:
            return None
        mine, theirs = results["embedded"]["_raw"], results["elasticsearch"]["_raw"]
        index = 0 if kind == "search" else 1
        return round(percentile(mine[index], q) / percentile(theirs[index], q), 2)

    ratios = {
        "search_p50": ratio("search", 0.5),
        "search_p95": ratio("search", 0.95),
        "analytics_p50": ratio("analytics", 0.5),
        "analytics_p95": ratio("analytics", 0.95),
    }
    for result in results.values():
        result.pop("_raw")
    report = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "mentions": len(mentions),
        "embedded_file_mb": file_mb,
        "memory_peak_rss": memory,
        **results,
        "ratio_embedded_to_es": ratios,
        "bench_process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "note": "memory_peak_rss is VmHWM of a fresh child; bench_process holds the 100,000 mention objects",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
