"""Time from POST to searchable, end to end, against the real local Kafka and Elasticsearch.

    .venv/bin/python bench/pipeline_latency.py --data ../shared/data/physician-reviews.jsonl

Starts the ingest API (gunicorn), the sentiment worker and the indexer as separate processes,
exactly as ``bin/run`` does, on throw-away topics and index.  Posts N real reviews one request
each at a steady rate and polls the engine for each id; latency = first seen - POST sent.

Baseline, measured in the same run: the same reviews written straight into the same engine
(no Kafka, no model), so the ratio shows what the pipeline adds on top of the engine's own
refresh delay (about one second by default).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import percentile  # noqa: E402
from common.schema import Mention, MentionIn, ScoredMention, SentimentResult  # noqa: E402
from common.settings import Settings  # noqa: E402
from services.search.app import build_engine_store as build_store  # noqa: E402


def load_reviews(path: Path, n: int) -> list[str]:
    texts = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            texts.append(json.loads(line)["text"])
            if len(texts) >= n * 50:
                break
    return texts[::50][:n]  # spread over many doctors


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a live process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


class Watcher:
    """Polls the engine for the ids it is told about and records when each becomes visible."""

    def __init__(self, store, tenant: str) -> None:  # type: ignore[no-untyped-def]
        self._store, self._tenant = store, tenant
        self.sent: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def expect(self, mention_id: str, sent_at: float) -> None:
        with self._lock:
            self.sent[mention_id] = sent_at

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pending = [i for i in self.sent if i not in self.seen]
            for chunk in (pending[i : i + 200] for i in range(0, len(pending), 200)):
                body = {
                    "query": {"bool": {"filter": [{"term": {"tenant": self._tenant}}, {"terms": {"id": chunk}}]}},
                    "size": len(chunk),
                    "_source": ["id"],
                }
                now = time.perf_counter()
                for hit in self._store.engine.search(self._store.alias, body)["hits"]["hits"]:
                    self.seen.setdefault(hit["_source"]["id"], now)
            time.sleep(0.05)

    def wait_all(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.seen) < len(self.sent) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._stop.set()

    def latencies(self) -> list[float]:
        return [self.seen[i] - t for i, t in self.sent.items() if i in self.seen]


def summarise(name: str, latencies: list[float], expected: int) -> dict[str, float | int | str]:
    return {
        "name": name,
        "count": len(latencies),
        "missing": expected - len(latencies),
        "median_s": round(statistics.median(latencies), 3),
        "p95_s": round(percentile(latencies, 0.95), 3),
        "max_s": round(max(latencies), 3),
    }


def run_baseline(settings: Settings, texts: list[str], rate: float) -> dict[str, float | int | str]:
    store = build_store(settings)
    store.ensure_schema()
    tenant = "bench-baseline"
    watcher = Watcher(store, tenant)
    for i, text in enumerate(texts):
        mention = Mention.from_submission(MentionIn(source="bench", external_id=f"b{i}", text=text), tenant=tenant)
        scored = ScoredMention(
            **mention.model_dump(),
            sentiment=SentimentResult(
                label="neutral",
                probabilities={"negative": 0, "neutral": 1, "positive": 0},
                stars=3,
                model="none",
                model_version="0",
            ),
            scored_at=datetime.now(UTC),
        )
        started = time.perf_counter()
        store.upsert([scored])
        watcher.expect(mention.id, started)
        time.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    watcher.wait_all(60)
    return summarise("direct write to the engine (baseline)", watcher.latencies(), len(texts))


def run_pipeline(settings: Settings, texts: list[str], rate: float, port: int) -> dict[str, float | int | str]:
    key = uuid.uuid4().hex
    env = {
        **os.environ,
        "RADAR_TOPIC_PREFIX": settings.topic_prefix,
        "RADAR_INDEX_ALIAS": settings.index_alias,
        "RADAR_API_KEYS": f"{key}=bench-pipeline:admin",
        "RADAR_LOG_LEVEL": "WARNING",
    }
    python = sys.executable
    gunicorn = str(Path(python).with_name("gunicorn"))
    logs = ROOT / ".local-stack" / "bench"
    logs.mkdir(parents=True, exist_ok=True)

    def spawn(name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log_file = (logs / f"{name}.log").open("w")  # handed to the child process
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)

    procs = [
        spawn(
            "ingest",
            [
                gunicorn,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "services.ingest.app:create_app()",
            ],
        ),
        spawn("worker", [python, "-m", "services.sentiment.worker"]),
        spawn("indexer", [python, "-m", "services.search.indexer"]),
    ]
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        store = build_store(settings)
        watcher = Watcher(store, "bench-pipeline")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        # Warm-up: the worker loads the model and both consumers join their groups.
        warm = session.post(f"{url}/v1/mentions", json={"source": "bench", "external_id": "warm", "text": "warm up"})
        warm_watch = Watcher(store, "bench-pipeline")
        warm_watch.expect(warm.json()["ids"][0], time.perf_counter())
        warm_watch.wait_all(120)
        for i, text in enumerate(texts):
            started = time.perf_counter()
            response = session.post(
                f"{url}/v1/mentions", json={"source": "bench", "external_id": f"p{i}", "text": text}
            )
            response.raise_for_status()
            watcher.expect(response.json()["ids"][0], started)
            time.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
        watcher.wait_all(120)
        result = summarise("POST to searchable through the pipeline", watcher.latencies(), len(texts))
        # The worker and the indexer are single processes (gunicorn's master would say little).
        result["peak_rss_mb_sentiment_worker"] = peak_rss_mb(procs[1].pid)
        result["peak_rss_mb_indexer"] = peak_rss_mb(procs[2].pid)
        return result
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "physician-reviews.jsonl")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="reviews posted per second")
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args()

    run_id = uuid.uuid4().hex[:8]
    settings = Settings(topic_prefix=f"bench-{run_id}", index_alias=f"bench-{run_id}-mentions")
    texts = load_reviews(args.data, args.n)
    store = build_store(settings)
    try:
        baseline = run_baseline(settings, texts, args.rate)
        pipeline = run_pipeline(settings, texts, args.rate, args.port)
    finally:
        store.drop()
    report = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "engine": settings.search_engine,
        "reviews": len(texts),
        "rate_per_s": args.rate,
        "baseline": baseline,
        "pipeline": pipeline,
        "ratio_median": round(float(pipeline["median_s"]) / float(baseline["median_s"]), 2),
        "ratio_p95": round(float(pipeline["p95_s"]) / float(baseline["p95_s"]), 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
