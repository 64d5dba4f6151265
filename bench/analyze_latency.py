"""Latency of ``POST /v1/analyze`` for one review, served by gunicorn as in production.

    .venv/bin/python bench/analyze_latency.py --data ../shared/data/physician-reviews.jsonl

Baseline, in the same run and on the same server: ``GET /healthz``, i.e. what HTTP, Flask and
the client cost without the model; the ratio shows what scoring one review adds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.model_throughput import test_reviews  # noqa: E402
from bench.timing import percentile, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "physician-reviews.jsonl")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--port", type=int, default=8102)
    args = parser.parse_args()

    texts = test_reviews(args.data, args.n)
    key = uuid.uuid4().hex
    env = {**os.environ, "RADAR_API_KEYS": f"{key}=bench:viewer", "RADAR_LOG_LEVEL": "WARNING"}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [
            gunicorn,
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            "1",
            "--threads",
            "2",
            "services.sentiment.app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{args.port}"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    try:
        for _ in range(120):
            try:
                if session.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        for text in texts[:20]:  # warm-up
            session.post(f"{url}/v1/analyze", json={"texts": [text]})
        baseline = timed(lambda i: session.get(f"{url}/healthz").raise_for_status(), len(texts))
        analyze = timed(
            lambda i: session.post(f"{url}/v1/analyze", json={"texts": [texts[i]]}).raise_for_status(), len(texts)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "requests": len(texts),
        "baseline_healthz_ms": {
            "p50": round(percentile(baseline, 0.5), 2),
            "p95": round(percentile(baseline, 0.95), 2),
        },
        "analyze_one_review_ms": {
            "p50": round(percentile(analyze, 0.5), 2),
            "p95": round(percentile(analyze, 0.95), 2),
        },
        "ratio_p95": round(percentile(analyze, 0.95) / percentile(baseline, 0.95), 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
