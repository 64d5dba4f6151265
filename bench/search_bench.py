"""Bulk indexing rate, search latency and analytics latency with 100,000 mentions indexed.

    .venv/bin/python bench/search_bench.py --data ../shared/data/physician-reviews.jsonl

Builds 100,000 scored mentions from real review texts (cycled, with synthetic sources,
locations, providers, dates over two years and the dataset's own labels), writes them through
the store's bulk path into a throw-away alias, then times the API's queries through the store.

Baselines measured in the same run against the same engine:
- indexing: the same documents through the client's plain bulk helper into a scratch index
  (no external versions, no mapping template), i.e. what the engine and client alone cost;
- queries: a count of the tenant's documents (filter only, size 0), the engine's floor for a
  request that touches the index.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import percentile, timed  # noqa: E402
from common.schema import Mention, MentionIn, ScoredMention, SentimentResult  # noqa: E402
from common.settings import Settings  # noqa: E402
from services.search.app import build_engine_store as build_store  # noqa: E402
from services.search.reputation import reputation_scores  # noqa: E402
from services.search.store.base import ReputationRequest, SearchRequest, StatsRequest  # noqa: E402
from services.search.store.indexed import document_from_mention  # noqa: E402

TENANT = "bench-practice"
SOURCES = ["google"] * 5 + ["yelp"] * 2 + ["healthgrades", "ratemds", "reddit"]
TOPICS = [
    "front_desk_staff",
    "scheduling_access",
    "waiting_time",
    "billing_insurance",
    "technologist",
    "facility_equipment",
    "results_report",
    "radiologist_communication",
    "pain_comfort",
]
WORDS = [
    "wait",
    "rude",
    "billing",
    "insurance",
    "technician",
    "friendly",
    "results",
    "appointment",
    "pain",
    "parking",
    "staff",
    "doctor",
    "clean",
    "scan",
    "report",
    "explained",
    "hours",
    "call",
    "nurse",
    "kind",
]


def build_mentions(data: Path, n: int, seed: int = 7) -> list[ScoredMention]:
    rng = random.Random(seed)
    rows = [json.loads(line) for line in data.open(encoding="utf-8")]
    now = datetime.now(UTC)
    mentions = []
    for i in range(n):
        row = rows[i % len(rows)]
        published = now - timedelta(days=rng.uniform(0, 730))
        submitted = MentionIn(
            source=rng.choice(SOURCES),
            location=f"site-{rng.randrange(8)}",
            provider=f"dr-{rng.randrange(40)}",
            external_id=f"bench-{i}",
            text=row["text"],
            rating=row["rating"],
            published_at=published,
        )
        mention = Mention.from_submission(submitted, tenant=TENANT, now=published + timedelta(hours=1))
        label = row["label"]
        topics = rng.sample(TOPICS, rng.choice([0, 1, 1, 2]))
        result = SentimentResult(
            label=label,
            probabilities={label: 0.9},
            stars=row["rating"],
            topics=topics,
            model="bench",
            model_version="0",
        )
        mentions.append(ScoredMention(**mention.model_dump(), sentiment=result, scored_at=mention.ingested_at))
    return mentions


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(values, 0.5), 1), "p95_ms": round(percentile(values, 0.95), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "physician-reviews.jsonl")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    settings = Settings(index_alias=f"bench-{run}-mentions")
    store = build_store(settings)
    store.ensure_schema()
    scratch = f"bench-{run}-scratch"
    mentions = build_mentions(args.data, args.n)
    rng = random.Random(11)
    try:
        # Indexing: baseline first (plain bulk), then the store's path.
        docs = [{"_index": scratch, "_id": m.id, "_source": document_from_mention(m)} for m in mentions]
        started = time.perf_counter()
        for i in range(0, len(docs), 500):
            list(store.engine.bulk(docs[i : i + 500]))
        baseline_rate = len(docs) / (time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(0, len(mentions), 500):
            report = store.upsert(mentions[i : i + 500])
            assert not report.failed
        store_rate = len(mentions) / (time.perf_counter() - started)
        store.refresh()
        store.engine.delete_indices(scratch)

        def count(_: int) -> None:
            store.engine.search(store.alias, {"query": {"term": {"tenant": TENANT}}, "size": 0})

        def search(i: int) -> None:
            words = " ".join(rng.sample(WORDS, rng.choice([1, 2])))
            filters = rng.choice(
                [
                    {},
                    {"sentiment": ["negative"]},
                    {"source": ["google", "yelp"]},
                    {"location": ["site-3"]},
                    {"rating_max": 2.0},
                ]
            )
            page = store.search(TENANT, SearchRequest(q=words if i % 4 else None, size=20, **filters))
            if page.next_cursor and i % 5 == 0:  # every fifth query also fetches page two
                store.search(
                    TENANT, SearchRequest(q=words if i % 4 else None, size=20, cursor=page.next_cursor, **filters)
                )

        def analytics(i: int) -> None:
            kind = i % 3
            if kind == 0:
                store.stats(
                    TENANT, StatsRequest(interval=rng.choice(["day", "week", "month"]), time_zone="America/Chicago")
                )
            elif kind == 1:
                cells = store.rating_cells(TENANT, ReputationRequest(by=rng.choice(["location", "provider"])))
                reputation_scores(cells, half_life_days=180, prior_weight=5)
            else:
                end = datetime.now(UTC)
                store.stats(TENANT, StatsRequest(date_from=end - timedelta(days=30), date_to=end))

        for warm in (count, search, analytics):
            timed(warm, 10)
        floor = timed(count, args.queries)
        searches = timed(search, args.queries)
        analytics_ms = timed(analytics, args.queries)
    finally:
        store.drop()
    floor_p95 = percentile(floor, 0.95)
    report = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "engine": settings.search_engine,
        "mentions": len(mentions),
        "indexing_per_s": {
            "baseline_plain_bulk": round(baseline_rate),
            "store_upsert": round(store_rate),
            "ratio": round(store_rate / baseline_rate, 2),
        },
        "baseline_count_query": summary(floor),
        "search": {**summary(searches), "ratio_p95": round(percentile(searches, 0.95) / floor_p95, 2)},
        "analytics": {**summary(analytics_ms), "ratio_p95": round(percentile(analytics_ms, 0.95) / floor_p95, 2)},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
