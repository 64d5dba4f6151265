"""Sustained load, end to end, with every service running: ``bench/load_test.py``.

    .venv/bin/python bench/load_test.py --duration 600 --rate 50

Starts what ``bin/run`` starts (the three gunicorn apps through ``common.gunicorn_conf`` and the
sentiment worker, indexer, alert evaluator, alert dispatcher and scheduler as processes) on the
real local Kafka and Elasticsearch, with a topic prefix and an index alias of its own.  Then posts
``--rate`` mentions per second (batches of ``--batch`` every ``batch/rate`` seconds, spread over
one tenant per partition, so every partition gets work) for ``--duration`` seconds and measures:

* POST to searchable: from just before the POST to the first engine query that finds the id
  (the search API reads the same alias, so this is when a search would show it; the engine's
  one-second refresh interval is part of it);
* consumer lag over time: the sum of ``radar_consumer_lag`` scraped from the sentiment worker's and
  the indexer's metrics ports every ``--sample-s`` seconds;
* CPU and memory per process (psutil; a gunicorn service counts its master and workers).

Writes a Markdown report and a PNG plot (``--out``, default ``docs/load-test``), and prints the
report.  Cleans its index and topics up afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import percentile  # noqa: E402
from common.settings import Settings  # noqa: E402
from services.search.app import build_store  # noqa: E402
from tests.metrics_support import sample  # noqa: E402


def tenants_covering(partitions: int) -> list[str]:
    """One tenant per partition: mentions are keyed by tenant (kafka-python's murmur2 partitioner)."""
    from kafka.partitioner.default import murmur2

    chosen: dict[int, str] = {}
    i = 0
    while len(chosen) < partitions:
        name = f"load-practice-{i}"
        chosen.setdefault((murmur2(name.encode()) & 0x7FFFFFFF) % partitions, name)
        i += 1
    return [chosen[p] for p in range(partitions)]


TENANTS = tenants_covering(6)
FALLBACK_TEXTS = [
    "The technologist was kind and the MRI started on time. Results came back the next day.",
    "Waited ninety minutes for a CT scan and nobody told us why. The front desk was dismissive.",
    "Clean office, quick mammogram, friendly staff. Parking was hard to find.",
    "Billing sent my ultrasound claim to the wrong insurer twice. Still not fixed after a month.",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_texts(path: Path | None, n: int) -> list[str]:
    if path is None or not path.exists():
        return FALLBACK_TEXTS
    texts = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            texts.append(json.loads(line)["text"])
            if len(texts) >= n:
                break
    return texts


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    metrics_port: int | None = None
    cpu: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    known: dict[int, psutil.Process] = field(default_factory=dict)

    def tree(self) -> list[psutil.Process]:
        """The process and its children, the same objects each time (cpu_percent measures between calls)."""
        try:
            parent = psutil.Process(self.process.pid)
            found = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        return [self.known.setdefault(p.pid, p) for p in found]


class Stack:
    """Every Radar process, as bin/run starts them, on throw-away topics and an index alias."""

    def __init__(self, settings: Settings, keys: dict[str, str], logs: Path) -> None:
        self.settings = settings
        self.ports = {"ingest": free_port(), "sentiment-api": free_port(), "search": free_port()}
        self.env = {
            **os.environ,
            "RADAR_TOPIC_PREFIX": settings.topic_prefix,
            "RADAR_INDEX_ALIAS": settings.index_alias,
            "RADAR_TOPIC_PARTITIONS": str(settings.topic_partitions),
            "RADAR_API_KEYS": ",".join(f"{key}={tenant}:admin" for tenant, key in keys.items()),
            "RADAR_LOG_LEVEL": "WARNING",
            "RADAR_METRICS_HOST": "127.0.0.1",
        }
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.logs = logs
        self.services: list[Service] = []

    def _spawn(self, name: str, command: list[str], metrics_port: int | None = None, **env: str) -> None:
        log_file = (self.logs / f"{name}.log").open("w")  # handed to the child process
        process = subprocess.Popen(
            command, cwd=ROOT, env={**self.env, **env}, stdout=log_file, stderr=subprocess.STDOUT
        )
        self.services.append(Service(name, process, metrics_port))

    def start(self) -> None:
        python = sys.executable
        gunicorn = [python, "-m", "gunicorn", "-c", "python:common.gunicorn_conf"]
        apps = {
            "ingest": ("services.ingest.app:create_app()", "2", "4"),
            "sentiment-api": ("services.sentiment.app:create_app()", "1", "2"),
            "search": ("services.search.app:create_app()", "2", "4"),
        }
        for name, (app, workers, threads) in apps.items():
            bind = f"127.0.0.1:{self.ports[name]}"
            self._spawn(name, [*gunicorn, "--bind", bind, "--workers", workers, "--threads", threads, app])
        for name, module in [
            ("sentiment-worker", "services.sentiment.worker"),
            ("indexer", "services.search.indexer"),
            ("alerts-evaluator", "services.alerts.evaluator"),
            ("alerts-dispatcher", "services.alerts.dispatcher"),
            ("scheduler", "services.ingest.scheduler"),
        ]:
            port = free_port()
            self._spawn(name, [python, "-m", module], port, RADAR_METRICS_PORT=str(port))

    def wait_ready(self, timeout_s: float = 180) -> None:
        urls = [f"http://127.0.0.1:{port}/readyz" for port in self.ports.values()]
        urls += [f"http://127.0.0.1:{s.metrics_port}/readyz" for s in self.services if s.metrics_port]
        deadline = time.monotonic() + timeout_s
        for url in urls:
            while True:
                for service in self.services:
                    if service.process.poll() is not None:
                        raise SystemExit(f"{service.name} exited; see {self.logs / service.name}.log")
                try:
                    if requests.get(url, timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"not ready in time: {url}")
                time.sleep(0.5)

    def sample_resources(self) -> None:
        for service in self.services:
            cpu = rss = 0.0
            for proc in service.tree():
                try:
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss / 2**20
                except psutil.NoSuchProcess:
                    continue
            service.cpu.append(cpu)
            service.rss_mb.append(rss)

    def lag(self) -> dict[str, float]:
        out = {}
        for service in self.services:
            if service.name in ("sentiment-worker", "indexer") and service.metrics_port:
                try:
                    text = requests.get(f"http://127.0.0.1:{service.metrics_port}/metrics", timeout=5).text
                    out[service.name] = sample(text, "radar_consumer_lag")
                except requests.RequestException:
                    out[service.name] = float("nan")
        return out

    def stop(self) -> dict[str, float]:
        """SIGTERM everything; the seconds each took to exit."""
        started = time.monotonic()
        for service in self.services:
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        took = {}
        for service in self.services:
            try:
                service.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                service.process.kill()
            took[service.name] = round(time.monotonic() - started, 1)
        return took


class Watcher:
    """Polls the engine for posted ids and records when each first shows up."""

    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self._store = store
        self.sent: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def expect(self, ids: list[str], sent_at: float) -> None:
        with self._lock:
            for mention_id in ids:
                self.sent[mention_id] = sent_at

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pending = [i for i in self.sent if i not in self.seen]
            for chunk in (pending[i : i + 500] for i in range(0, len(pending), 500)):
                body = {"query": {"ids": {"values": chunk}}, "size": len(chunk), "_source": False}
                try:
                    hits = self._store.engine.search(self._store.alias, body)["hits"]["hits"]
                except Exception:  # noqa: BLE001 - an engine hiccup is retried on the next round
                    continue
                now = time.perf_counter()
                for hit in hits:
                    self.seen.setdefault(hit["_id"], now)
            self._stop.wait(0.1)

    def wait_all(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.seen) < len(self.sent) and time.monotonic() < deadline:
            time.sleep(0.2)
        self._stop.set()

    def latencies(self) -> list[float]:
        return [self.seen[i] - t for i, t in self.sent.items() if i in self.seen]


def post_load(
    url: str, keys: dict[str, str], texts: list[str], rate: float, batch: int, duration_s: float, watcher: Watcher
) -> tuple[int, int]:
    """Post ``rate`` mentions/s for ``duration_s``; (accepted, refused)."""
    session = requests.Session()
    interval = batch / rate
    accepted = refused = 0
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < duration_s:
        due = started + n * interval
        time.sleep(max(0.0, due - time.perf_counter()))
        tenant = TENANTS[n % len(TENANTS)]
        items = [
            {
                "source": "bench",
                "external_id": f"load-{n}-{j}",
                "text": texts[(n * batch + j) % len(texts)],
                "rating": 1 + (n + j) % 5,
            }
            for j in range(batch)
        ]
        sent_at = time.perf_counter()
        try:
            response = session.post(
                f"{url}/v1/mentions",
                json={"mentions": items},
                headers={"Authorization": f"Bearer {keys[tenant]}"},
                timeout=15,
            )
        except requests.RequestException:
            refused += batch
        else:
            if response.status_code == 202:
                watcher.expect(response.json()["ids"], sent_at)
                accepted += batch
            else:
                refused += batch
        n += 1
    return accepted, refused


def plot(
    path: Path, lag: list[tuple[float, dict[str, float]]], latencies: list[tuple[float, float]], rate: float
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    xs = [t for t, _ in latencies]
    top.scatter(xs, [v for _, v in latencies], s=2, alpha=0.4)
    top.set_ylabel("POST to searchable (s)")
    top.set_title(f"Radar load test: {rate:g} mentions/s")
    for name in ("sentiment-worker", "indexer"):
        bottom.plot([t for t, v in lag], [v.get(name, float("nan")) for _, v in lag], label=f"{name} lag")
    bottom.set_ylabel("consumer lag (records)")
    bottom.set_xlabel("seconds since the load started")
    bottom.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--rate", type=float, default=50, help="mentions per second (default 50)")
    parser.add_argument("--batch", type=int, default=5, help="mentions per POST (default 5)")
    parser.add_argument("--sample-s", type=float, default=5, help="seconds between lag and resource samples")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "physician-reviews.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "load-test", help="report path without suffix")
    parser.add_argument("--note", default="", help="a line for the report (the machine, what else ran)")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    settings = Settings(topic_prefix=f"load-{run}", index_alias=f"load-{run}-mentions", topic_partitions=6)
    keys = {tenant: uuid.uuid4().hex for tenant in TENANTS}
    logs = ROOT / ".local-stack" / "load-test"
    logs.mkdir(parents=True, exist_ok=True)
    texts = load_texts(args.data, 5000)
    stack = Stack(settings, keys, logs)
    store = build_store(settings)
    stack.start()
    lag_series: list[tuple[float, dict[str, float]]] = []
    try:
        stack.wait_ready()
        watcher = Watcher(store)
        # Warm-up: one batch through the whole pipeline (model sessions, consumer groups).
        post_load(f"http://127.0.0.1:{stack.ports['ingest']}", keys, texts, 5, 5, 1, watcher)
        watcher.wait_all(120)
        watcher = Watcher(store)
        stack.sample_resources()  # primes psutil's CPU counters
        started = time.perf_counter()
        stop_sampling = threading.Event()

        def sampler() -> None:
            while not stop_sampling.wait(args.sample_s):
                lag_series.append((time.perf_counter() - started, stack.lag()))
                stack.sample_resources()

        sampling = threading.Thread(target=sampler, daemon=True)
        sampling.start()
        ingest_url = f"http://127.0.0.1:{stack.ports['ingest']}"
        accepted, refused = post_load(ingest_url, keys, texts, args.rate, args.batch, args.duration, watcher)
        load_s = time.perf_counter() - started
        watcher.wait_all(180)
        drained_s = time.perf_counter() - started
        stop_sampling.set()
        sampling.join()
        exit_s = stack.stop()
    finally:
        for service in stack.services:
            if service.process.poll() is None:
                service.process.kill()
        store.drop()
        try:
            from kafka.admin import KafkaAdminClient

            admin = KafkaAdminClient(bootstrap_servers=settings.kafka_servers)
            admin.delete_topics([t for t in admin.list_topics() if t.startswith(settings.topic_prefix + ".")])
            admin.close()
        except Exception:  # noqa: BLE001 - leftover topics are harmless (own prefix)
            print("could not delete the load test's topics", file=sys.stderr)

    latencies = watcher.latencies()
    by_time = sorted((watcher.sent[i] - started, watcher.seen[i] - watcher.sent[i]) for i in watcher.seen)
    missing = accepted - len(latencies)
    lines = [
        f"Load test, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()} "
        f"({psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB). {args.note}".rstrip(),
        "",
        f"Offered {args.rate:g} mentions/s for {args.duration:g} s in POSTs of {args.batch}; "
        f"achieved {accepted / load_s:.1f}/s; accepted {accepted}, refused {refused}, "
        f"not searchable at the end {missing}; the last became searchable "
        f"{drained_s - load_s:.1f} s after the load ended.",
        "",
        "| POST to searchable | p50 | p95 | p99 | max |",
        "| --- | --- | --- | --- | --- |",
        f"| seconds | {percentile(latencies, 0.5):.2f} | {percentile(latencies, 0.95):.2f} | "
        f"{percentile(latencies, 0.99):.2f} | {max(latencies):.2f} |",
        "",
        "| Consumer lag (records, sum over partitions) | mean | max | at the end of the load |",
        "| --- | --- | --- | --- |",
    ]
    for name in ("sentiment-worker", "indexer"):
        values = [v[name] for _, v in lag_series if name in v and v[name] == v[name]]
        during = [v[name] for t, v in lag_series if t <= load_s and name in v and v[name] == v[name]]
        if values:
            lines.append(
                f"| {name} | {sum(values) / len(values):.0f} | {max(values):.0f} | {during[-1] if during else 0:.0f} |"
            )
    lines += [
        "",
        "| Process | CPU % mean (100 = one core) | CPU % max | RSS MiB max | exit after SIGTERM (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for service in stack.services:
        cpu = service.cpu[1:] or [0.0]
        lines.append(
            f"| {service.name} | {sum(cpu) / len(cpu):.0f} | {max(cpu):.0f} | {max(service.rss_mb or [0]):.0f} "
            f"| {exit_s.get(service.name, float('nan'))} |"
        )
    report = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(report)
    plot(args.out.with_suffix(".png"), lag_series, by_time, args.rate)
    print(report)


if __name__ == "__main__":
    main()
