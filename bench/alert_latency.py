"""Time from POST of a negative review to the alert webhook receiving it, against the real local Kafka.

    .venv/bin/python bench/alert_latency.py --data ../shared/data/physician-reviews.jsonl --n 200 --rate 10

Starts the ingest API (gunicorn), the sentiment worker, the alert evaluator and the alert
dispatcher as separate processes, as ``bin/run`` does, on throw-away topics and indices, with one
rule (source rating at most 2, a signed webhook to a receiver in this process).  Posts N real
negative reviews (rating <= 2) one request each at a steady rate; latency = webhook received -
POST sent.  Target of issue 6: p95 under 5 s.

Baseline, measured in the same run on the same requests: POST to the scored record appearing on
``<prefix>.mentions.scored`` (ingest, Kafka, language check and both models), read by a consumer
in this process.  The ratio shows what the evaluator, the alerts topic, the dispatcher and the
HTTP delivery add on top of scoring.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import percentile  # noqa: E402
from common.bus.kafka import KafkaBus  # noqa: E402
from common.settings import Settings  # noqa: E402
from services.alerts.models import RuleRecord  # noqa: E402
from services.alerts.rules import RuleIn  # noqa: E402
from services.alerts.store import EngineAlertStore  # noqa: E402
from services.search.store.engines import connect  # noqa: E402

TENANT = "bench-alerts"
SECRET = "bench-signing-secret-" + uuid.uuid4().hex


def load_negative(path: Path, n: int) -> list[tuple[str, float]]:
    reviews = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row.get("rating") is not None and row["rating"] <= 2 and row.get("text"):
                reviews.append((row["text"], float(row["rating"])))
                if len(reviews) >= n * 5:
                    break
    return reviews[::5][:n]  # spread over many doctors


class Times:
    """When each mention id was posted, scored and alerted (perf_counter seconds)."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.scored: dict[str, float] = {}
        self.alerted: dict[str, float] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()


def start_receiver(times: Times) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            now = time.perf_counter()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            stamp = self.headers.get("X-Radar-Timestamp", "")
            expected = "v1=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            with times.lock:
                if not hmac.compare_digest(expected, self.headers.get("X-Radar-Signature", "")):
                    times.bad_signatures += 1
                for alert in json.loads(body)["alerts"]:
                    times.alerted.setdefault(alert["mention_id"], now)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def watch_scored(settings: Settings, times: Times, stop: threading.Event) -> None:
    bus = KafkaBus(settings.kafka_servers, client_id="bench-alerts-watch")
    subscription = bus.subscribe([settings.topics.scored], f"{settings.topic_prefix}.bench-watch")
    try:
        while not stop.is_set():
            for record in subscription.poll(500, timeout_s=0.2):
                now = time.perf_counter()
                mention_id = json.loads(record.value)["id"]
                with times.lock:
                    times.scored.setdefault(mention_id, now)
    finally:
        subscription.close()


def create_rule(store: EngineAlertStore, url: str) -> None:
    now = datetime.now(UTC)
    body = {
        "name": "Low ratings",
        "conditions": {"rating_max": 2},
        "channels": [{"type": "webhook", "url": url, "secret": SECRET}],
    }
    rule = RuleRecord(
        **RuleIn.model_validate(body).model_dump(),
        id=uuid.uuid4().hex,
        tenant=TENANT,
        created_at=now,
        created_by="bench",
        updated_at=now,
        updated_by="bench",
    )
    store.save_rule(rule, None)


def summarise(name: str, start: dict[str, float], end: dict[str, float]) -> dict[str, Any]:
    latencies = [end[i] - t for i, t in start.items() if i in end]
    return {
        "name": name,
        "count": len(latencies),
        "missing": len(start) - len(latencies),
        "median_s": round(statistics.median(latencies), 3),
        "p95_s": round(percentile(latencies, 0.95), 3),
        "max_s": round(max(latencies), 3),
    }


def wait(predicate: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "physician-reviews.jsonl")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="reviews posted per second")
    parser.add_argument("--port", type=int, default=8111)
    args = parser.parse_args()

    run_id = uuid.uuid4().hex[:8]
    settings = Settings(topic_prefix=f"bench-alerts-{run_id}", index_alias=f"bench-alerts-{run_id}-mentions")
    reviews = load_negative(args.data, args.n)
    times = Times()
    receiver = start_receiver(times)
    store = EngineAlertStore(connect(settings.search_engine, settings.search_hosts), settings.index_alias)
    store.ensure_schema()
    create_rule(store, f"http://127.0.0.1:{receiver.server_port}/hook")
    KafkaBus(settings.kafka_servers, client_id="bench-alerts").ensure_topics(
        settings.topics.all(), settings.topic_partitions, 1
    )
    stop = threading.Event()
    watcher = threading.Thread(target=watch_scored, args=(settings, times, stop), daemon=True)
    watcher.start()

    key = uuid.uuid4().hex
    env = {
        **os.environ,
        "RADAR_TOPIC_PREFIX": settings.topic_prefix,
        "RADAR_INDEX_ALIAS": settings.index_alias,
        "RADAR_API_KEYS": f"{key}={TENANT}:admin",
        "RADAR_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "RADAR_LOG_LEVEL": "WARNING",
    }
    python = sys.executable
    gunicorn = str(Path(python).with_name("gunicorn"))
    logs = ROOT / ".local-stack" / "bench"
    logs.mkdir(parents=True, exist_ok=True)

    def spawn(name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log_file = (logs / f"alerts-{name}.log").open("w")  # handed to the child process
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)

    bind = f"127.0.0.1:{args.port}"
    procs = [
        spawn(
            "ingest", [gunicorn, "--bind", bind, "--workers", "1", "--threads", "4", "services.ingest.app:create_app()"]
        ),
        spawn("worker", [python, "-m", "services.sentiment.worker"]),
        spawn("evaluator", [python, "-m", "services.alerts.evaluator"]),
        spawn("dispatcher", [python, "-m", "services.alerts.dispatcher"]),
    ]
    try:
        url = f"http://127.0.0.1:{args.port}"
        wait(lambda: _ready(url), 60)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        # Warm-up: the worker loads its models and the three consumers join their groups.
        warm = session.post(
            f"{url}/v1/mentions", json={"source": "bench", "external_id": "warm", "text": "Awful.", "rating": 1}
        )
        warm_id = warm.json()["ids"][0]
        if not wait(lambda: warm_id in times.alerted, 180):
            raise SystemExit("warm-up alert never arrived; see .local-stack/bench/alerts-*.log")
        with times.lock:
            times.scored.clear()
            times.alerted.clear()
        for i, (text, rating) in enumerate(reviews):
            started = time.perf_counter()
            response = session.post(
                f"{url}/v1/mentions",
                json={"source": "bench", "external_id": f"a{i}", "text": text, "rating": rating},
            )
            response.raise_for_status()
            with times.lock:
                times.sent[response.json()["ids"][0]] = started
            time.sleep(max(0.0, 1 / args.rate - (time.perf_counter() - started)))
        wait(lambda: len(times.alerted) >= len(times.sent), 120)
        stop.set()
        baseline = summarise("POST to scored on Kafka (baseline)", times.sent, times.scored)
        alerts = summarise("POST to webhook received", times.sent, times.alerted)
    finally:
        stop.set()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        receiver.shutdown()
        store.drop()
    report = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "reviews": len(reviews),
        "rate_per_s": args.rate,
        "baseline": baseline,
        "alerts": alerts,
        "bad_signatures": times.bad_signatures,
        "ratio_median": round(alerts["median_s"] / baseline["median_s"], 2),
        "ratio_p95": round(alerts["p95_s"] / baseline["p95_s"], 2),
        "target_p95_s": 5.0,
        "target_met": alerts["p95_s"] < 5.0 and alerts["missing"] == 0,
    }
    print(json.dumps(report, indent=2))


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()
