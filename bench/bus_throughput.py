"""Bus throughput between two processes: the embedded bus against Kafka, measured in one run.

    .venv/bin/python bench/bus_throughput.py [--messages 50000] [--batch 500] [--skip-kafka]

A producer process publishes mention-sized messages (~1 kB of JSON, keyed by practice) in
batches, each batch returned only once durable; a consumer process in a consumer group polls
batches and commits after each, as BatchLoop does.  The rate is messages / (time from the first
publish to the consumer's last commit).  Before the clock starts, one warm-up message goes
through so that Kafka's group join (~3 s) is not counted.

Runs the embedded bus with synchronous=FULL (the default: fsync per publish) and NORMAL, and
the Kafka bus (acks=all, idempotent) on a fresh topic as the baseline; prints each rate and its
ratio to Kafka.  Target of issue 8: the embedded bus moves >= 5,000 mentions/s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import uuid
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.bus import Bus, Message  # noqa: E402

SPAWN = multiprocessing.get_context("spawn")
PARTITIONS = 6


def make_bus(kind: str, target: str, client_id: str) -> Bus:
    if kind == "kafka":
        from common.bus.kafka import KafkaBus

        return KafkaBus([target], client_id=client_id, produce_timeout_s=30)
    from common.bus.sqlite import SqliteBus

    synchronous = "NORMAL" if kind == "embedded-normal" else "FULL"
    return SqliteBus(Path(target), client_id=client_id, synchronous=synchronous)  # type: ignore[arg-type]


def mention(i: int) -> Message:
    """A fictional scored mention of about 1 kB, the size of a review on the mention topics."""
    practice = f"practice-{i % 20}"
    body = {
        "id": f"bench-{i}",
        "tenant": "bench-tenant",
        "practice": practice,
        "source": "google",
        "external_id": f"ext-{i}",
        "published_at": "2026-11-01T10:00:00Z",
        "author": "Fictional Reviewer",
        "rating": 1 + i % 5,
        "text": ("Fictional review: the MRI started on time and the technologist explained every step. " * 9)[:800],
        "sentiment": {"label": "positive", "score": 0.93},
    }
    return Message(key=practice.encode(), value=json.dumps(body).encode())


def produce(kind: str, target: str, topic: str, count: int, batch: int, ready: Event, result: Any) -> None:
    bus = make_bus(kind, target, "bench-producer")
    publisher = bus.publisher()
    publisher.publish(topic, [Message(key=b"warm-up", value=b"warm-up")], timeout_s=30)
    ready.wait(60)
    messages = [mention(i) for i in range(count)]
    started = time.time()
    for start in range(0, count, batch):
        publisher.publish(topic, messages[start : start + batch], timeout_s=30)
    result.put(("produced", started, time.time()))
    publisher.close()


def consume(kind: str, target: str, topic: str, count: int, batch: int, ready: Event, result: Any) -> None:
    bus = make_bus(kind, target, "bench-consumer")
    subscription = bus.subscribe([topic], f"bench-{uuid.uuid4().hex[:6]}")
    while not (warm := subscription.poll(batch, timeout_s=1.0)):
        pass
    subscription.commit(warm)
    ready.set()
    seen: set[bytes] = set()
    while len(seen) < count:
        records = subscription.poll(batch, timeout_s=5.0)
        if records:
            subscription.commit(records)
            seen.update(r.value for r in records)
    result.put(("consumed", time.time(), len(seen)))
    subscription.close()


def measure(kind: str, target: str, count: int, batch: int) -> float:
    topic = f"bench-bus-{uuid.uuid4().hex[:8]}"
    make_bus(kind, target, "bench-admin").ensure_topics([topic], PARTITIONS, 1)
    ready, result = SPAWN.Event(), SPAWN.Queue()
    consumer = SPAWN.Process(target=consume, args=(kind, target, topic, count, batch, ready, result))
    producer = SPAWN.Process(target=produce, args=(kind, target, topic, count, batch, ready, result))
    consumer.start()
    producer.start()
    events = dict((name, rest) for name, *rest in (result.get(timeout=600), result.get(timeout=600)))
    producer.join(30)
    consumer.join(30)
    started, published = events["produced"]
    finished, received = events["consumed"]
    assert received == count, f"{kind}: {received} of {count} arrived"
    rate = count / (finished - started)
    print(
        f"{kind:16} {rate:10,.0f} msg/s  ({count:,} in {finished - started:.2f} s; "
        f"publishing alone {count / (published - started):,.0f} msg/s)",
        flush=True,
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500, help="messages per publish and most per poll")
    parser.add_argument("--kafka", default="127.0.0.1:9092")
    parser.add_argument("--skip-kafka", action="store_true")
    args = parser.parse_args()
    size = len(mention(0).value)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.messages:,} messages of {size} bytes, batches of {args.batch}, {PARTITIONS} partitions",
        flush=True,
    )
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("embedded", "embedded-normal"):
            rates[kind] = measure(kind, str(Path(tmp) / f"{kind}.sqlite3"), args.messages, args.batch)
    if not args.skip_kafka:
        rates["kafka"] = measure("kafka", args.kafka, args.messages, args.batch)
        for kind in ("embedded", "embedded-normal"):
            print(f"{kind} / kafka: {rates[kind] / rates['kafka']:.2f}x")
    verdict = "met" if rates["embedded"] >= 5000 else "NOT met"
    print(f"target >= 5,000 msg/s for the embedded bus (synchronous=FULL): {verdict}")


if __name__ == "__main__":
    main()
