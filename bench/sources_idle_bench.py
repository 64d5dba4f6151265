"""CPU cost of the source scheduler polling 50 sources: between polls, and in steady polling.

    .venv/bin/python bench/sources_idle_bench.py [--sources 50] [--window 30]

Starts ``python -m services.ingest.scheduler`` as its own process with a sources file of 50 feed
sources pointed at a local replay server (every feed answers 304 after its first 200, as an
unchanged feed does), and reads the process's CPU time from /proc:

* between polls: every source has an interval of 3,600 s; after the first round is done, CPU
  over a quiet window is what the scheduler costs while it waits;
* steady polling: every source has an interval of 10 s (about 5 conditional GETs per second).

Baseline measured in the same run: a bare ``python -c 'import time; time.sleep(...)'`` process
over the same window, the floor of a sleeping Python process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Fictional item</title><link>https://example.invalid/1</link><guid>bench-1</guid></item>
</channel></rss>"""
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


class Feeds:
    def __init__(self) -> None:
        self.hits = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        with self.lock:
            self.hits += 1
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)(environ, start_response)
        return Response(FEED, content_type="application/rss+xml", headers={"ETag": '"v1"'})(environ, start_response)


def measure(base_url: str, feeds: Feeds, sources: int, interval: int, window: float, prefix: str) -> dict[str, float]:
    tenant = f"bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sources.yaml"
        lines = [f"tenants:\n  - tenant: {tenant}\n    sources:"]
        for i in range(sources):
            lines.append(
                f"      - {{id: feed-{i}, type: feed, interval_s: {interval}, params: {{url: '{base_url}/f{i}'}}}}"
            )
        config.write_text("\n".join(lines) + "\n")
        env = {
            **os.environ,
            "RADAR_SOURCES_FILE": str(config),
            "RADAR_TOPIC_PREFIX": prefix,
            "RADAR_SOURCE_ALLOW_PRIVATE_ADDRESSES": "true",
            "RADAR_LOG_LEVEL": "WARNING",
        }
        start_hits = feeds.hits
        process = subprocess.Popen([sys.executable, "-m", "services.ingest.scheduler"], cwd=ROOT, env=env)
        try:
            deadline = time.monotonic() + 120
            while feeds.hits - start_hits < sources and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)  # let the first round's publishing settle
            before, hits_before = cpu_seconds(process.pid), feeds.hits
            time.sleep(window)
            used = cpu_seconds(process.pid) - before
            polls = feeds.hits - hits_before
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {"cpu_percent_of_one_core": round(100 * used / window, 3), "polls_in_window": polls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--window", type=float, default=30.0)
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    feeds = Feeds()
    server = make_server("127.0.0.1", 0, feeds, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    prefix = f"bench-{uuid.uuid4().hex[:8]}"

    sleeper = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({args.window + 5})"])
    time.sleep(1)
    floor_before = cpu_seconds(sleeper.pid)
    time.sleep(args.window)
    floor = 100 * (cpu_seconds(sleeper.pid) - floor_before) / args.window
    sleeper.kill()

    idle = measure(base_url, feeds, args.sources, 3600, args.window, prefix)
    steady = measure(base_url, feeds, args.sources, 10, args.window, prefix)
    server.shutdown()
    report = {
        "sources": args.sources,
        "window_s": args.window,
        "baseline_sleeping_python_cpu_percent": round(floor, 3),
        "between_polls": idle,
        "steady_polling_every_10s": steady,
        "target_cpu_percent_between_polls": 5,
        "meets_target": idle["cpu_percent_of_one_core"] < 5,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
