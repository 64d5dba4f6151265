"""``GET /v1/sources`` and the Google push endpoint, on a real ingest app, Kafka and replay server."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from common.settings import Settings
from services.ingest.app import create_app
from services.ingest.sources.config import parse_sources
from services.ingest.sources.state import SourceState
from tests.conftest import OTHER_TENANT_KEY, TENANT, VIEWER_KEY, auth
from tests.sources_support import (
    ReplayServer,
    fixture_json,
    json_response,
    make_store,
    raw_mentions,
    source_settings,
    start_replay,
)

PUSH_TOKEN = "push-token-for-tests"


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server, stop = start_replay()
    yield server
    stop()


@pytest.fixture(scope="module")
def setup(settings: Settings, replay: ReplayServer, bus):  # type: ignore[no-untyped-def]
    """An ingest app for a fresh tenant-less prefix: its own sources file and push token."""
    own = source_settings(settings, replay.base_url, google_push_token=PUSH_TOKEN)
    sources = parse_sources(
        f"""
tenants:
  - tenant: {TENANT}
    directory:
      locations: [{{id: midtown, name: Sample Imaging Midtown}}]
    sources:
      - id: gbp-midtown
        type: google
        location: midtown
        interval_s: 600
        params: {{location: accounts/900/locations/901, access_token: "${{TEST_GOOGLE_TOKEN}}"}}
      - id: city-news
        type: feed
        params: {{url: "https://news.example.invalid/feed"}}
""",
        env={"TEST_GOOGLE_TOKEN": "secret-google-token"},
    )
    app = create_app(own, bus=bus, sources=sources)
    return own, app.test_client(), make_store(own, bus)


def test_sources_lists_configured_sources_with_their_status_and_never_their_secrets(setup) -> None:  # type: ignore[no-untyped-def]
    _, client, store = setup
    now = datetime.now(UTC)
    state = SourceState(
        tenant=TENANT,
        source_id="gbp-midtown",
        type="google",
        cursor={"since": now.isoformat(), "token": "opaque"},
        last_run_at=now,
        last_success_at=now - timedelta(hours=1),
        last_error="unauthorized: mybusiness.googleapis.com/v4/... answered 401",
        last_error_at=now,
        next_run_at=now + timedelta(minutes=10),
        items_fetched=12,
        consecutive_failures=1,
    )
    store.save(state)
    store.save(SourceState(tenant=TENANT, source_id="gbp-midtown", type="google", backfill=True, items_fetched=40))
    store.save(SourceState(tenant="someone-else", source_id="theirs", type="yelp", items_fetched=3))

    response = client.get("/v1/sources", headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    views = {v["id"]: v for v in body["sources"]}
    # Other tests' sources of this tenant may have state too: they are listed as not configured.
    assert {i for i, v in views.items() if v["configured"]} == {"gbp-midtown", "city-news"}
    google = views["gbp-midtown"]
    assert google["status"]["state"] == "failing" and google["status"]["items_fetched"] == 12
    assert google["status"]["last_error"].startswith("unauthorized")
    assert google["backfill"] == {"completed": False, "items_fetched": 40, "last_run_at": None, "last_error": None}
    assert views["city-news"]["status"]["state"] == "never_run"
    text = response.get_data(as_text=True)
    assert "secret-google-token" not in text and "opaque" not in text

    assert client.get("/v1/sources").status_code == 401
    other = client.get("/v1/sources", headers=auth(OTHER_TENANT_KEY)).get_json()
    assert other == {"sources": []}


def envelope(data: object) -> dict[str, object]:
    encoded = base64.b64encode(json.dumps(data).encode()).decode()
    return {
        "message": {"data": encoded, "messageId": "1", "attributes": {}},
        "subscription": "projects/p/subscriptions/s",
    }


def test_push_fetches_the_review_and_publishes_it_and_a_gone_review_is_deleted(  # type: ignore[no-untyped-def]
    setup, replay: ReplayServer
) -> None:
    own, client, _ = setup
    review = fixture_json("google_page1.json")["reviews"][0] | {"name": "accounts/900/locations/901/reviews/push-1"}
    replay.script("/v4/accounts/900/locations/901/reviews/push-1", json_response(review))
    before = len(raw_mentions(own, TENANT))
    note = {"type": "NEW_REVIEW", "review": "accounts/900/locations/901/reviews/push-1"}
    response = client.post(f"/v1/sources/google/push?token={PUSH_TOKEN}", json=envelope(note))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "published", "reason": None, "mentions": 1}
    hit = replay.hits_for("/v4/accounts/900/locations/901/reviews/push-1")[0]
    assert hit.headers["Authorization"] == "Bearer secret-google-token"

    replay.script("/v4/accounts/900/locations/901/reviews/push-1", json_response({"error": {"code": 404}}, 404))
    updated = {
        "type": "UPDATED_REVIEW",
        "reviewName": "accounts/900/locations/901/reviews/push-1",  # the documented field name
        "locationName": "accounts/900/locations/901",
    }
    response = client.post("/v1/sources/google/push", json=envelope(updated), headers=auth(PUSH_TOKEN))
    assert response.status_code == 200
    mentions = raw_mentions(own, TENANT)[before:]
    created, deleted = [m for m in mentions if m.external_id == "accounts/900/locations/901/reviews/push-1"]
    assert created.id == deleted.id and created.location == "midtown" and created.rating == 2
    assert deleted.deleted_at is not None and deleted.text == "" and deleted.revision_time > created.revision_time


def test_push_refuses_bad_tokens_and_envelopes_and_ignores_what_it_cannot_use(setup, replay: ReplayServer) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    note = {"type": "NEW_REVIEW", "review": "accounts/900/locations/901/reviews/x"}
    assert client.post("/v1/sources/google/push?token=wrong", json=envelope(note)).status_code == 401
    assert client.post("/v1/sources/google/push", json=envelope(note)).status_code == 401
    bad = client.post(f"/v1/sources/google/push?token={PUSH_TOKEN}", json={"message": {"data": "%%%"}})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_envelope"
    other = {"type": "NEW_QUESTION", "question": "accounts/900/locations/901/questions/q"}
    ignored = client.post(f"/v1/sources/google/push?token={PUSH_TOKEN}", json=envelope(other))
    assert ignored.status_code == 200 and ignored.get_json()["status"] == "ignored"
    unknown = {"type": "NEW_REVIEW", "review": "accounts/1/locations/2/reviews/3"}
    ignored = client.post(f"/v1/sources/google/push?token={PUSH_TOKEN}", json=envelope(unknown))
    assert ignored.get_json()["reason"] == "no configured source for this location"

    replay.script("/v4/accounts/900/locations/901/reviews/x", json_response({}, 500))
    failed = client.post(f"/v1/sources/google/push?token={PUSH_TOKEN}", json=envelope(note))
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "30"


def test_push_is_off_without_a_token(ingest_client) -> None:  # type: ignore[no-untyped-def]
    response = ingest_client.post("/v1/sources/google/push", json=envelope({"type": "NEW_REVIEW"}))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "push_disabled"


def test_responses_match_the_openapi_document(setup, replay: ReplayServer) -> None:  # type: ignore[no-untyped-def]
    from tests.test_openapi import assert_response, document

    _, client, _ = setup
    doc = document(client)
    assert_response(doc, "/v1/sources", "get", client.get("/v1/sources", headers=auth(VIEWER_KEY)), 200)
    push = "/v1/sources/google/push"
    note = {"type": "NEW_REVIEW", "reviewName": "accounts/900/locations/901/reviews/doc-1"}
    review = fixture_json("google_page2.json")["reviews"][0] | {"name": "accounts/900/locations/901/reviews/doc-1"}
    replay.script("/v4/accounts/900/locations/901/reviews/doc-1", json_response(review))
    assert_response(doc, push, "post", client.post(f"{push}?token={PUSH_TOKEN}", json=envelope(note)), 200)
    assert_response(doc, push, "post", client.post(push, json=envelope(note)), 401)
    assert_response(doc, push, "post", client.post(f"{push}?token={PUSH_TOKEN}", json={"message": {}}), 422)
    replay.script("/v4/accounts/900/locations/901/reviews/doc-1", json_response({}, 500))
    assert_response(doc, push, "post", client.post(f"{push}?token={PUSH_TOKEN}", json=envelope(note)), 503)
