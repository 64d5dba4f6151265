"""The synthetic demo practice: valid, repeatable, and loaded through the real pipeline once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.serving import make_server

from common.schema import MentionIn
from services.demo.data import COMPETITORS, DEMO_TENANT, demo_plan
from services.demo.seed import seed
from tests.test_pipeline_e2e import wait_for

DEMO_KEY = "demo-admin-key-" + uuid.uuid4().hex


def test_the_plan_is_valid_repeatable_and_marked_synthetic() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    plan = demo_plan(now)
    assert plan == demo_plan(now), "a fixed seed: the same demo every time"
    for item in plan.mentions:
        mention = MentionIn.model_validate(item)
        assert mention.published_at is not None and now - timedelta(days=121) < mention.published_at <= now
    own = [m for m in plan.mentions if "competitor" not in m]
    assert len(own) == 300 and {m["location"] for m in own} == {"downtown", "northgate", "lakeside-campus"}
    assert len({m["external_id"] for m in plan.mentions}) == len(plan.mentions)
    assert "synthetic" in plan.profile["display_name"]
    assert {m["source"] for m in plan.mentions} == {"google", "yelp", "healthgrades", "reddit"}


@pytest.fixture(scope="module")
def servers(settings, bus, store) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from services.ingest.app import create_app as create_ingest
    from services.search.app import create_app as create_search

    own = settings.model_copy(update={"api_keys": f"{DEMO_KEY}={DEMO_TENANT}:admin", "max_batch_items": 100})
    running = []
    for app in (create_ingest(own, bus=bus), create_search(own, store=store)):
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append(server)
    yield f"http://127.0.0.1:{running[0].server_port}", f"http://127.0.0.1:{running[1].server_port}"
    for server in running:
        server.shutdown()


@pytest.mark.usefixtures("pipeline")
def test_the_demo_is_loaded_through_the_pipeline_once(servers, search_client, store) -> None:  # type: ignore[no-untyped-def]
    ingest_url, search_url = servers
    assert seed(ingest_url, search_url, DEMO_KEY, if_empty=True) == 0
    headers = {"Authorization": f"Bearer {DEMO_KEY}"}

    def all_scored() -> bool:
        store.refresh()
        return store.stats(DEMO_TENANT, _stats()).total == 300

    wait_for(all_scored, timeout_s=180)
    assert seed(ingest_url, search_url, DEMO_KEY, if_empty=True) == 0  # a second start loads nothing
    store.refresh()
    assert store.stats(DEMO_TENANT, _stats()).total == 300

    import requests

    compare = requests.get(f"{search_url}/v1/competitors/compare", headers=headers, timeout=10).json()
    rows = {row["competitor"]: row for row in compare["practices"]}
    assert rows[None]["name"].endswith("(synthetic demo data)")
    assert {cid for cid, _ in COMPETITORS} <= set(rows)
    labels = store.stats(DEMO_TENANT, _stats()).by_sentiment
    assert {b.key for b in labels} >= {"positive", "negative"}, "the model read the demo reviews"


def _stats():  # type: ignore[no-untyped-def]
    from services.search.store.base import StatsRequest

    return StatsRequest()
