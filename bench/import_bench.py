"""Import throughput: 100,000 CSV rows through ``radar-import`` and the ingest API into Kafka.

    .venv/bin/python bench/import_bench.py [--rows 100000] [--batch-size 500]

Writes 100,000 synthetic review rows (fictional texts, eight sources, dates over two years) to a
CSV file with another tool's column names, then runs the importer's own ``run_import`` with a
column mapping against the ingest app served in this process (werkzeug, threaded) on a throw-away
topic prefix.  Every 202 means Kafka acknowledged the batch (acks=all), so the rate is "rows
validated, posted, validated again by the API and stored in Kafka" per second.

Baseline measured in the same run: the same number of mention records sent by a bare
kafka-python producer (acks=all, idempotent, as the service's producer) to a scratch topic, i.e.
what the client and broker alone cost on this machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import random
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaProducer  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from common.bus.kafka import KafkaBus  # noqa: E402
from common.schema import Mention, MentionIn  # noqa: E402
from common.settings import Settings  # noqa: E402
from services.ingest.app import create_app  # noqa: E402
from services.ingest.importer import run_import  # noqa: E402

TENANT = "bench-practice"
SOURCES = ["google", "google", "google", "yelp", "healthgrades", "ratemds", "vitals", "zocdoc"]
PHRASES = [
    "Fictional review: the MRI started on time and the technologist explained every step.",
    "Fictional review: billing sent two statements for one ultrasound.",
    "Fictional review: the front desk was friendly but parking was hard.",
    "Fictional review: waited ninety minutes for a CT scan with no update.",
    "Fictional review: results arrived in the portal the next morning.",
    "Fictional review: the mammogram was quick and the room was private.",
]


def write_rows(path: Path, rows: int) -> None:
    """A CSV export "from another tool": its own column names, mapped on import."""
    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Review ID", "Site", "Stars", "Review", "Reviewer", "Date", "Location"])
        for i in range(rows):
            writer.writerow(
                [
                    f"bench-{i}",
                    rng.choice(SOURCES),
                    rng.randint(1, 5),
                    f"{rng.choice(PHRASES)} Visit {i}.",
                    f"Reviewer {i % 977}",
                    (start + timedelta(minutes=7 * i)).isoformat(),
                    f"site-{i % 8}",
                ]
            )


def serve(settings: Settings, bus: KafkaBus) -> tuple[str, threading.Thread, object]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per batch is noise here
    app = create_app(settings, bus=bus)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", thread, server


def baseline(settings: Settings, rows: int) -> float:
    """Bare producer throughput of the same records (acks=all, idempotent) to a scratch topic."""
    topic = f"{settings.topic_prefix}.baseline"
    KafkaBus(settings.kafka_servers).ensure_topics([topic], settings.topic_partitions, 1)
    now = datetime.now(UTC)
    values = [
        Mention.from_submission(
            MentionIn(source="google", external_id=f"b-{i}", text=f"{PHRASES[i % len(PHRASES)]} Visit {i}.", rating=3),
            tenant=TENANT,
            now=now,
        )
        .model_dump_json()
        .encode()
        for i in range(rows)
    ]
    producer = KafkaProducer(bootstrap_servers=settings.kafka_servers, acks="all", enable_idempotence=True, linger_ms=5)
    started = time.perf_counter()
    futures = [producer.send(topic, key=TENANT.encode(), value=v) for v in values]
    producer.flush()
    for future in futures:
        future.get(timeout=30)
    elapsed = time.perf_counter() - started
    producer.close()
    return rows / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()

    run_id = uuid.uuid4().hex[:8]
    key = f"bench-{uuid.uuid4().hex}"
    settings = Settings(
        topic_prefix=f"bench-{run_id}",
        api_keys=f"{key}={TENANT}:admin",
        max_batch_items=max(500, args.batch_size),
        log_level="WARNING",
    )
    bus = KafkaBus(settings.kafka_servers, client_id="radar-bench", produce_timeout_s=settings.produce_timeout_s)
    bus.ensure_topics(settings.topics.all(), settings.topic_partitions, settings.topic_replication)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        write_rows(path, args.rows)
        url, _thread, server = serve(settings, bus)
        mapping = {
            "external_id": "Review ID",
            "source": "Site",
            "rating": "Stars",
            "text": "Review",
            "author": "Reviewer",
            "published_at": "Date",
            "location": "Location",
        }
        started = time.perf_counter()
        summary = run_import(path, url=url, api_key=key, mapping=mapping, batch_size=args.batch_size, progress=False)
        elapsed = time.perf_counter() - started
        server.shutdown()  # type: ignore[attr-defined]
    assert summary.accepted == args.rows and not summary.rejected, summary.as_dict()
    rate = args.rows / elapsed
    base = baseline(settings, args.rows)
    report = {
        "rows": args.rows,
        "batch_size": args.batch_size,
        "import_seconds": round(elapsed, 2),
        "import_mentions_per_s": round(rate),
        "baseline_bare_producer_mentions_per_s": round(base),
        "ratio_import_to_baseline": round(rate / base, 3),
        "target_mentions_per_s": 2000,
        "meets_target": rate >= 2000,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
