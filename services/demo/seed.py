"""``python -m services.demo.seed``: load the synthetic demo practice through the public APIs.

Everything goes the way real data goes (ingest → Kafka → the model → the index), so the demo
also shows the pipeline working.  ``--if-empty`` makes it a no-op once the practice has any
mention, which is how ``bin/run`` calls it on every start.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

import requests

from services.demo.data import DEMO_TENANT, demo_plan

BATCH = 100


def _session(key: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def _post_with_retries(session: requests.Session, url: str, body: object, attempts: int = 10) -> requests.Response:
    for attempt in range(attempts):
        response = session.post(url, json=body, timeout=30)
        if response.status_code not in (429, 503):
            return response
        time.sleep(float(response.headers.get("Retry-After", 1 + attempt)))
    return response


def seed(ingest_url: str, search_url: str, key: str, *, if_empty: bool) -> int:
    session = _session(key)
    me = session.get(f"{search_url}/v1/me", timeout=10)
    me.raise_for_status()
    if me.json()["tenant"] != DEMO_TENANT:
        print(f"seed: the key belongs to {me.json()['tenant']!r}, not {DEMO_TENANT!r}; nothing loaded", file=sys.stderr)
        return 2
    if if_empty:
        stats = session.get(f"{search_url}/v1/stats", timeout=10)
        stats.raise_for_status()
        if stats.json()["total"] > 0:
            print("seed: the demo practice already has mentions; nothing loaded")
            return 0
    plan = demo_plan(datetime.now(UTC))
    session.put(f"{search_url}/v1/practice", json=plan.profile, timeout=10).raise_for_status()
    accepted = 0
    for start in range(0, len(plan.mentions), BATCH):
        response = _post_with_retries(
            session, f"{ingest_url}/v1/mentions", {"mentions": plan.mentions[start : start + BATCH]}
        )
        response.raise_for_status()
        accepted += response.json()["accepted"]
    print(f"seed: {accepted} synthetic mentions sent for {DEMO_TENANT}; the dashboard fills as the model scores them")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest", default="http://127.0.0.1:8001", help="ingest service URL")
    parser.add_argument("--search", default="http://127.0.0.1:8003", help="search service URL")
    parser.add_argument("--key", required=True, help="an admin key of the demo practice")
    parser.add_argument("--if-empty", action="store_true", help="do nothing if the practice has mentions")
    args = parser.parse_args(argv)
    try:
        return seed(args.ingest.rstrip("/"), args.search.rstrip("/"), args.key, if_empty=args.if_empty)
    except requests.RequestException as exc:
        print(f"seed: {type(exc).__name__}: the services did not answer as expected", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
