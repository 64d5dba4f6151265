"""Backfill: the whole history, resumable after an interruption, without duplicates in Kafka."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.wrappers import Request, Response

from common.settings import Settings
from services.ingest.backfill import BackfillError, run_backfill
from services.ingest.sources.config import SourcesFile
from services.ingest.sources.state import SourceStateStore, state_key
from tests.sources_support import (
    ReplayServer,
    fixture_json,
    json_response,
    new_tenant,
    raw_mentions,
    source_settings,
    start_replay,
)

PATH = "/v4/accounts/7/locations/8/reviews"


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server, stop = start_replay()
    yield server
    stop()


def three_pages(fail_page: str | None = None):  # type: ignore[no-untyped-def]
    """Page 1 -> page-2-token -> page-3-token -> end, each page a review of its own."""
    base = fixture_json("google_page2.json")["reviews"][0]

    def page(number: int, token: str | None) -> dict[str, object]:
        review = base | {
            "name": f"accounts/7/locations/8/reviews/r{number}",
            "updateTime": f"2026-0{4 - number}-01T00:00:00Z",
            "createTime": f"2026-0{4 - number}-01T00:00:00Z",
        }
        return {"reviews": [review], **({"nextPageToken": token} if token else {})}

    def handler(request: Request) -> Response:
        token = request.args.get("pageToken")
        if fail_page is not None and token == fail_page:
            return json_response({"error": "backend"}, 500)
        if token == "page-2-token":
            return json_response(page(2, "page-3-token"))
        if token == "page-3-token":
            return json_response(page(3, None))
        return json_response(page(1, "page-2-token"))

    return handler


def test_an_interrupted_backfill_resumes_where_it_stopped_without_duplicates(  # type: ignore[no-untyped-def]
    replay: ReplayServer, settings: Settings, bus
) -> None:
    tenant = new_tenant()
    own = source_settings(settings, replay.base_url, source_retries=0)
    sources = SourcesFile.model_validate(
        {
            "tenants": [
                {
                    "tenant": tenant,
                    "sources": [
                        {
                            "id": "gbp",
                            "type": "google",
                            "params": {"location": "accounts/7/locations/8", "access_token": "t"},
                        }
                    ],
                }
            ]
        }
    )
    replay.script(PATH, three_pages(fail_page="page-3-token"))
    first = run_backfill(own, sources, bus, tenant, "gbp", progress=False, attempts=1)
    assert first.error is not None and first.error.startswith("http_error") and not first.completed
    assert first.published == 2 and first.pages == 2

    replay.script(PATH, three_pages())
    second = run_backfill(own, sources, bus, tenant, "gbp", progress=False, attempts=1)
    assert second.completed and second.error is None and second.published == 1
    assert replay.hits_for(PATH)[0].args["pageToken"] == "page-3-token"  # resumed, not restarted

    mentions = raw_mentions(own, tenant)
    assert sorted(m.external_id or "" for m in mentions) == [f"accounts/7/locations/8/reviews/r{i}" for i in (1, 2, 3)]

    store = SourceStateStore(bus, bus.publisher(), own.topics.source_state, own.produce_timeout_s)
    states = store.load()
    assert states[state_key(tenant, "gbp", backfill=True)].items_fetched == 3
    assert state_key(tenant, "gbp") not in states  # the scheduler's own cursor is untouched

    # Running it again after completion reads from the top down to the mark: nothing new.
    third = run_backfill(own, sources, bus, tenant, "gbp", progress=False, attempts=1)
    assert third.completed and third.published == 0
    assert len(raw_mentions(own, tenant)) == 3


def test_an_unknown_source_is_refused(settings: Settings, bus) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BackfillError):
        run_backfill(settings, SourcesFile(), bus, "nobody", "nothing", progress=False)


def test_mastodon_backfill_walks_back_with_max_id_and_polling_forward_with_min_id(  # type: ignore[no-untyped-def]
    replay: ReplayServer, settings: Settings, bus
) -> None:
    tenant = new_tenant()
    own = source_settings(settings, replay.base_url)
    statuses = fixture_json("mastodon_tag.json")  # ids ...002 (newer) and ...001
    path = "/api/v1/timelines/tag/imaging"

    def timeline(request: Request) -> Response:
        max_id = request.args.get("max_id")
        if max_id == "113000000000000002":
            return json_response([statuses[1]])
        if max_id == "113000000000000001":
            return json_response([])
        return json_response([statuses[0]])  # the newest page

    replay.script(path, timeline)
    sources = SourcesFile.model_validate(
        {
            "tenants": [
                {
                    "tenant": tenant,
                    "sources": [
                        {"id": "tag", "type": "mastodon", "params": {"instance": replay.base_url, "tag": "imaging"}}
                    ],
                }
            ]
        }
    )
    report = run_backfill(own, sources, bus, tenant, "tag", progress=False, attempts=1)
    assert report.completed and report.published == 2 and report.pages == 3
    assert [h.args.get("max_id") for h in replay.hits_for(path)] == [None, "113000000000000002", "113000000000000001"]
    assert len(raw_mentions(own, tenant)) == 2


def test_reddit_search_within_a_subreddit_sends_its_query(  # type: ignore[no-untyped-def]
    replay: ReplayServer, settings: Settings, bus
) -> None:
    tenant = new_tenant()
    own = source_settings(settings, replay.base_url)
    replay.script("/r/samplecity/search.json", json_response(fixture_json("reddit_page2.json")))
    sources = SourcesFile.model_validate(
        {
            "tenants": [
                {
                    "tenant": tenant,
                    "sources": [
                        {
                            "id": "q",
                            "type": "reddit",
                            "params": {"subreddit": "samplecity", "query": '"Sample Imaging"'},
                        }
                    ],
                }
            ]
        }
    )
    report = run_backfill(own, sources, bus, tenant, "q", progress=False, attempts=1)
    assert report.completed and report.published == 1
    (hit,) = replay.hits_for("/r/samplecity/search.json")
    assert hit.args["q"] == '"Sample Imaging"' and hit.args["restrict_sr"] == "1" and hit.args["sort"] == "new"


def test_ctrl_c_stops_after_the_page_in_flight_and_the_next_run_resumes(  # type: ignore[no-untyped-def]
    replay: ReplayServer, settings: Settings, bus
) -> None:
    tenant = new_tenant()
    own = source_settings(settings, replay.base_url)
    stop = threading.Event()
    pages = three_pages()

    def interrupting(request: Request) -> Response:
        if request.args.get("pageToken") == "page-2-token":
            stop.set()  # as the SIGINT handler does, while page 2 is being fetched
        return pages(request)

    replay.script(PATH, interrupting)
    sources = SourcesFile.model_validate(
        {
            "tenants": [
                {
                    "tenant": tenant,
                    "sources": [
                        {
                            "id": "gbp",
                            "type": "google",
                            "params": {"location": "accounts/7/locations/8", "access_token": "t"},
                        }
                    ],
                }
            ]
        }
    )
    first = run_backfill(own, sources, bus, tenant, "gbp", progress=False, attempts=1, stop=stop)
    assert first.interrupted and not first.completed and first.published == 2  # page 2 finished and stored

    replay.script(PATH, three_pages())
    second = run_backfill(own, sources, bus, tenant, "gbp", progress=False, attempts=1)
    assert second.completed and second.published == 1
    assert replay.hits_for(PATH)[0].args["pageToken"] == "page-3-token"
    assert len(raw_mentions(own, tenant)) == 3
