"""A review fetched by a connector becomes searchable; its deletion hides it again (real pipeline)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from common.settings import Settings
from services.ingest.sources.config import SourceConfig
from services.ingest.sources.google import fetch_review
from services.ingest.sources.registry import connector_for
from services.ingest.sources.runner import publish_items, run_source
from tests.conftest import TENANT, auth
from tests.sources_support import (
    ReplayServer,
    json_response,
    make_context,
    make_store,
    source_settings,
    start_replay,
    tenant_with,
)

pytestmark = pytest.mark.usefixtures("pipeline")


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server, stop = start_replay()
    yield server
    stop()


def wait_for(predicate: Callable[[], Any], timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"condition not met within {timeout_s} s")


def test_a_fetched_review_is_searchable_and_its_deletion_hides_it(  # type: ignore[no-untyped-def]
    replay: ReplayServer, settings: Settings, bus, store, search_client, unique: str
) -> None:
    own = source_settings(settings, replay.base_url)
    location = f"accounts/e2e/locations/{unique}"
    name = f"{location}/reviews/r1"
    review = {
        "name": name,
        "reviewer": {"displayName": "Fictional Reviewer", "isAnonymous": False},
        "starRating": "ONE",
        "comment": f"Fictional review {unique}: the receptionist was rude and I waited two hours for my CT scan.",
        "createTime": "2026-03-01T10:00:00Z",
        "updateTime": "2026-03-01T10:00:00Z",
    }
    replay.script(f"/v4/{location}/reviews", json_response({"reviews": [review]}))
    source = SourceConfig(id=f"gbp-{unique}", type="google", params={"location": location, "access_token": "t"})
    tenant = tenant_with(TENANT, source)
    _, result = run_source(
        tenant, source, connector_for("google"), make_context(own), make_store(own, bus), bus.publisher()
    )
    assert result.published == 1

    def found() -> list[dict[str, Any]]:
        store.refresh()
        hits = search_client.get("/v1/mentions", query_string={"q": unique}, headers=auth()).get_json()["items"]
        return [h for h in hits if h["external_id"] == name]

    (hit,) = wait_for(found)
    mention_id = hit["id"]
    assert hit["sentiment"]["label"] == "negative"

    # The push path learns the review is gone (404) and publishes the deletion.
    replay.script(f"/v4/{name}", json_response({"error": {"code": 404}}, 404))
    item = fetch_review(make_context(own).http, own.google_api_url, source, name, datetime.now(UTC))
    assert item is not None and item["deleted_at"]
    publish_items(tenant, source, [item], bus.publisher(), own, now=datetime.now(UTC))

    def deleted() -> dict[str, Any] | None:
        store.refresh()
        doc = search_client.get(f"/v1/mentions/{mention_id}", headers=auth()).get_json()
        return doc if doc.get("deleted_at") else None

    doc = wait_for(deleted)
    assert doc["text"] == ""
    assert found() == []  # gone from default search
