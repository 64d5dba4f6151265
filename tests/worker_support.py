"""Worker processes for the lifecycle tests: started as in production, observed through their metrics port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from kafka import KafkaConsumer, TopicPartition

from common.settings import REPO_ROOT, Settings
from tests.metrics_support import sample


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sentiment_worker(settings: Settings, metrics_port: int, grace_s: float = 20.0) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RADAR_TOPIC_PREFIX": settings.topic_prefix,
        "RADAR_SENTIMENT_BATCH_SIZE": str(settings.sentiment_batch_size),
        "RADAR_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "RADAR_MODEL_THREADS": "1",
        "RADAR_METRICS_PORT": str(metrics_port),
        "RADAR_METRICS_HOST": "127.0.0.1",
        "RADAR_SHUTDOWN_GRACE_S": str(grace_s),
        "RADAR_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "services.sentiment.worker"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_ready(worker: subprocess.Popen[bytes], port: int, timeout_s: float = 90) -> dict[str, object]:
    """Wait until the worker's /readyz answers 200 (it joined its group and polled)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert worker.poll() is None, f"worker exited with {worker.returncode}"
        try:
            status, body = get(port, "/readyz")
            if status == 200:
                return dict(json.loads(body))
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("worker never became ready")


def consumed(port: int, settings: Settings) -> float:
    text = get(port, "/metrics")[1]
    return sample(text, "radar_records_consumed_total", worker="sentiment", topic=settings.topics.raw)


def read_topic(settings: Settings, topic: str, timeout_s: float = 10) -> list[tuple[int, int, bytes]]:
    """Every record of ``topic`` as (partition, offset, value), read without a group."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_servers, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        out: list[tuple[int, int, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in partitions) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                out.extend((r.partition, r.offset, r.value) for r in records)
        return out
    finally:
        consumer.close()


def committed_offsets(settings: Settings, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets (asking its coordinator without joining the group)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_servers, group_id=group, enable_auto_commit=False)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or [])
        found = {p: consumer.committed(TopicPartition(topic, p)) for p in partitions}
        return {p: offset for p, offset in found.items() if offset is not None}
    finally:
        consumer.close(autocommit=False)


def ids_of(values: Sequence[bytes]) -> list[str]:
    return [json.loads(v)["id"] for v in values]


def keys_covering(prefix: str, partitions: int, per_partition: int = 2) -> list[str]:
    """Tenant names whose keys land on every partition ``per_partition`` times (kafka-python's murmur2).

    Mentions are keyed by tenant, so a test that needs every group member to get work must make
    sure no partition is left without a tenant.
    """
    from kafka.partitioner.default import murmur2

    counts = dict.fromkeys(range(partitions), 0)
    names: list[str] = []
    i = 0
    while min(counts.values()) < per_partition:
        name = f"{prefix}-{i}"
        partition = (murmur2(name.encode()) & 0x7FFFFFFF) % partitions
        if counts[partition] < per_partition:
            counts[partition] += 1
            names.append(name)
        i += 1
    return names
