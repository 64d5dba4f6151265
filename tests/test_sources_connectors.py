"""Every connector against the replay server, with mentions asserted on the real Kafka raw topic.

Each test uses its own tenant, so reading the raw topic from the beginning and keeping that
tenant's messages sees exactly what the test produced.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from werkzeug.wrappers import Response

from common.settings import Settings
from services.ingest.sources.base import SourceContext
from services.ingest.sources.config import SourceConfig
from services.ingest.sources.registry import connector_for
from services.ingest.sources.runner import run_source
from services.ingest.sources.state import SourceStateStore
from tests.sources_support import (
    ReplayServer,
    fixture_json,
    fixture_text,
    json_response,
    make_context,
    make_store,
    new_tenant,
    raw_mentions,
    raw_response,
    slow,
    source_settings,
    start_replay,
    tenant_with,
)

GOOGLE_PATH = "/v4/accounts/111/locations/222/reviews"


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server, stop = start_replay()
    yield server
    stop()


@pytest.fixture(scope="module")
def src_settings(settings: Settings, replay: ReplayServer) -> Settings:
    return source_settings(settings, replay.base_url)


@pytest.fixture(scope="module")
def ctx(src_settings: Settings) -> SourceContext:
    return make_context(src_settings)


@pytest.fixture(scope="module")
def state_store(src_settings: Settings, bus) -> SourceStateStore:  # type: ignore[no-untyped-def]
    return make_store(src_settings, bus)


def run(tenant: str, source: SourceConfig, ctx: SourceContext, store: SourceStateStore, bus, **kw):  # type: ignore[no-untyped-def]
    return run_source(
        tenant_with(tenant, source, directory=kw.pop("directory", None)),
        source,
        connector_for(source.type),
        ctx,
        store,
        bus.publisher(),
        **kw,
    )


def google_source(**params: object) -> SourceConfig:
    return SourceConfig(
        id="gbp-main",
        type="google",
        location="midtown",
        params={"location": "accounts/111/locations/222", "access_token": "test-token", **params},
    )


def test_google_reviews_across_pages_reach_kafka_and_a_rerun_adds_nothing(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus, src_settings: Settings
) -> None:
    tenant = new_tenant()
    page1, page2 = fixture_json("google_page1.json"), fixture_json("google_page2.json")
    replay.script(
        GOOGLE_PATH,
        lambda r: json_response(page2 if r.args.get("pageToken") == "page-2-token" else page1),
    )
    state, result = run(tenant, google_source(), ctx, state_store, bus)
    assert result.error is None and result.published == 3 and result.pages == 2

    hits = replay.hits_for(GOOGLE_PATH)
    assert hits[0].args == {"pageSize": "50", "orderBy": "updateTime desc"}
    assert hits[0].headers["Authorization"] == "Bearer test-token"
    assert hits[1].args["pageToken"] == "page-2-token"

    mentions = {m.external_id: m for m in raw_mentions(src_settings, tenant)}
    assert set(mentions) == {f"accounts/111/locations/222/reviews/rev-{x}" for x in "abc"}
    c, a = mentions["accounts/111/locations/222/reviews/rev-c"], mentions["accounts/111/locations/222/reviews/rev-a"]
    assert (c.rating, c.author, c.source, c.location) == (2, "Sample Reviewer C", "google", "midtown")
    assert c.updated_at == datetime(2026, 3, 3, 9, 0, 0, 123000, tzinfo=UTC)
    assert (a.rating, a.author, a.text) == (3, None, "")  # anonymous, rating only
    assert state.cursor["since"].startswith("2026-03-03T09:00:00.123")
    assert state.items_fetched == 3 and state.last_success_at is not None

    # Nothing new upstream: the rerun stops at the first page and publishes nothing.
    _, again = run(tenant, google_source(), ctx, state_store, bus)
    assert again.published == 0
    assert len(raw_mentions(src_settings, tenant)) == 3


def test_an_edited_google_review_updates_the_same_mention(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus, src_settings: Settings
) -> None:
    tenant = new_tenant()
    page = fixture_json("google_page2.json")
    replay.script(GOOGLE_PATH, json_response(page))
    run(tenant, google_source(), ctx, state_store, bus)
    edited = copy.deepcopy(page)
    edited["reviews"][0].update(
        starRating="FOUR", comment="Fictional edit: they called back and fixed it.", updateTime="2026-03-05T08:00:00Z"
    )
    replay.script(GOOGLE_PATH, json_response(edited))
    _, result = run(tenant, google_source(), ctx, state_store, bus)
    assert result.published == 1
    first, second = raw_mentions(src_settings, tenant)
    assert first.id == second.id
    assert (second.rating, second.text) == (4, "Fictional edit: they called back and fixed it.")
    assert second.revision_time > first.revision_time


def test_google_401_is_reported_in_the_status_and_opens_the_breaker(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus, src_settings: Settings
) -> None:
    tenant = new_tenant()
    replay.script(GOOGLE_PATH, json_response({"error": {"code": 401, "status": "UNAUTHENTICATED"}}, 401))
    state, result = run(tenant, google_source(), ctx, state_store, bus)
    assert result.error is not None and result.error.startswith("unauthorized")
    assert state.consecutive_failures == 1 and state.breaker_open_until is None
    state, _ = run(tenant, google_source(), ctx, state_store, bus)
    assert state.consecutive_failures == 2 and state.breaker_open(datetime.now(UTC))
    assert raw_mentions(src_settings, tenant) == []


def test_google_empty_result_and_malformed_json(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus
) -> None:
    tenant = new_tenant()
    replay.script(GOOGLE_PATH, json_response({}))
    state, result = run(tenant, google_source(), ctx, state_store, bus)
    assert result.error is None and result.published == 0 and state.last_success_at is not None
    replay.script(GOOGLE_PATH, raw_response('{"reviews": [{"name": ', content_type="application/json"))
    state, result = run(tenant, google_source(), ctx, state_store, bus)
    assert result.error is not None and result.error.startswith("bad_payload")
    assert "Fictional" not in result.error  # errors never quote bodies


def test_yelp_excerpts_and_its_two_429_codes(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus, src_settings: Settings
) -> None:
    tenant = new_tenant()
    path = "/v3/businesses/sample-imaging-city/reviews"
    source = SourceConfig(id="yelp", type="yelp", params={"business_id": "sample-imaging-city", "api_key": "k"})
    per_second = {"error": {"code": "TOO_MANY_REQUESTS_PER_SECOND", "description": "slow down"}}
    replay.script(
        path,
        json_response(per_second, 429, {"Retry-After": "0"}),
        json_response(
            fixture_json("yelp_reviews.json"),
            headers={"RateLimit-DailyLimit": "5000", "RateLimit-Remaining": "4999", "RateLimit-ResetTime": "x"},
        ),
    )
    state, result = run(tenant, source, ctx, state_store, bus)
    assert result.error is None and result.published == 3
    assert state.cursor["quota"]["remaining"] == "4999"
    mentions = {m.external_id: m for m in raw_mentions(src_settings, tenant)}
    assert mentions["yelp-rev-1"].rating == 1 and mentions["yelp-rev-1"].source == "yelp"
    # Pacific time (PST, UTC-8, in March before DST) converted to an aware time.
    assert mentions["yelp-rev-1"].published_at == datetime(2026, 3, 5, 2, 15, tzinfo=UTC)
    assert mentions["yelp-rev-3"].url is None  # javascript: links are dropped

    daily = {"error": {"code": "ACCESS_LIMIT_REACHED", "description": "daily limit"}}
    replay.script(path, json_response(daily, 429))
    state, result = run(tenant, source, ctx, state_store, bus)
    assert result.error is not None and result.error.startswith("rate_limited")
    assert len(replay.hits_for(path)) == 1  # the daily quota is final: not retried


def test_schemaorg_json_ld_with_scripts_normalises_ratings_and_matches_the_provider(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus, src_settings: Settings
) -> None:
    tenant = new_tenant()
    replay.script("/robots.txt", raw_response("User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    replay.script("/doctors/alex-sample", raw_response(fixture_text("schemaorg_jsonld.html"), ETag='"v1"'))
    source = SourceConfig(id="profiles", type="schemaorg", params={"urls": [f"{replay.base_url}/doctors/alex-sample"]})
    directory = {
        "providers": [{"id": "dr-sample", "name": "Alex Sample", "npi": "1234567890", "location": "midtown"}],
        "locations": [{"id": "midtown", "name": "Sample Imaging Midtown"}],
    }
    state, result = run(tenant, source, ctx, state_store, bus, directory=directory)
    assert result.error is None and result.published == 2
    mentions = sorted(raw_mentions(src_settings, tenant), key=lambda m: m.published_at or datetime.min)
    assert [m.rating for m in mentions] == [5.0, 3.0]  # 10/10 and 5/10 on a 0-10 scale
    assert all(m.provider == "dr-sample" and m.location == "midtown" for m in mentions)
    assert mentions[0].author == "Fictional Patient One"
    assert mentions[0].source == "web"  # the site's name when the source names none (an address has none)
    page_state = state.cursor["pages"][f"{replay.base_url}/doctors/alex-sample"]
    assert page_state["etag"] == '"v1"' and page_state["aggregate"] == {"rating": 4.4, "count": 2.0}

    # Unchanged page: the conditional request answers 304 and nothing is published.
    replay.script(
        "/doctors/alex-sample",
        lambda r: raw_response("", 304) if r.headers.get("If-None-Match") == '"v1"' else raw_response("changed"),
    )
    _, again = run(tenant, source, ctx, state_store, bus, directory=directory)
    assert again.error is None and again.published == 0
    assert len(raw_mentions(src_settings, tenant)) == 2


def test_schemaorg_microdata_and_robots_txt(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus, src_settings: Settings
) -> None:
    tenant = new_tenant()
    replay.script("/robots.txt", raw_response("User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    replay.script("/site/reviews", raw_response(fixture_text("schemaorg_microdata.html")))
    replay.script("/private/reviews", raw_response(fixture_text("schemaorg_microdata.html")))
    source = SourceConfig(
        id="own-site", type="schemaorg", source="practice-site", params={"urls": [f"{replay.base_url}/site/reviews"]}
    )
    directory = {"locations": [{"id": "midtown", "name": "Sample Imaging Midtown", "aliases": ["Midtown"]}]}
    _, result = run(tenant, source, ctx, state_store, bus, directory=directory)
    assert result.error is None
    (mention,) = raw_mentions(src_settings, tenant)
    assert (mention.rating, mention.author, mention.source, mention.location) == (
        4.0,
        "Fictional Reviewer M",
        "practice-site",
        "midtown",
    )
    assert "alert" not in mention.text and mention.text.startswith("Fictional test text")

    blocked = source.model_copy(update={"id": "blocked", "params": {"urls": [f"{replay.base_url}/private/reviews"]}})
    _, result = run(tenant, blocked, ctx, state_store, bus)
    assert result.error is not None and result.error.startswith("robots_disallowed")
    assert replay.hits_for("/private/reviews") == []


@pytest.mark.parametrize(("fixture", "count"), [("feed_rss.xml", 2), ("feed_atom.xml", 1)])
def test_rss_and_atom_feeds(  # type: ignore[no-untyped-def]
    replay: ReplayServer,
    ctx: SourceContext,
    state_store: SourceStateStore,
    bus,
    src_settings: Settings,
    fixture: str,
    count: int,
) -> None:
    tenant = new_tenant()
    path = f"/feeds/{fixture}"
    replay.script(
        path,
        raw_response(
            fixture_text(fixture), content_type="application/xml", Last_Modified="Wed, 04 Mar 2026 06:00:00 GMT"
        ),
    )
    source = SourceConfig(id="alerts", type="feed", params={"url": f"{replay.base_url}{path}"})
    state, result = run(tenant, source, ctx, state_store, bus)
    assert result.error is None and result.published == count
    mentions = raw_mentions(src_settings, tenant)
    assert all(m.kind == "post" and m.source == "news" for m in mentions)
    assert all("<" not in m.text and "alert(1)" not in m.text for m in mentions)
    assert state.cursor["modified"] == "Wed, 04 Mar 2026 06:00:00 GMT"
    replay.script(path, lambda r: raw_response("", 304) if r.headers.get("If-Modified-Since") else raw_response("x"))
    _, again = run(tenant, source, ctx, state_store, bus)
    assert again.published == 0 and len(raw_mentions(src_settings, tenant)) == count


def test_reddit_pages_and_a_removed_post_is_marked_deleted(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus, src_settings: Settings
) -> None:
    tenant = new_tenant()
    page1, page2 = fixture_json("reddit_page1.json"), fixture_json("reddit_page2.json")
    replay.script("/r/samplecity/new.json", lambda r: json_response(page2 if r.args.get("after") else page1))
    source = SourceConfig(id="city-sub", type="reddit", params={"subreddit": "samplecity"})
    _, result = run(tenant, source, ctx, state_store, bus)
    assert result.error is None and result.published == 3
    mentions = {m.external_id: m for m in raw_mentions(src_settings, tenant)}
    assert mentions["t3_post2"].deleted_at is not None and mentions["t3_post2"].text == ""
    assert mentions["t3_post3"].updated_at is not None and mentions["t3_post3"].url.startswith(replay.base_url)  # type: ignore[union-attr]
    assert replay.hits_for("/r/samplecity/new.json")[0].headers["User-Agent"] == src_settings.source_user_agent


def test_mastodon_html_becomes_text_and_polling_moves_forward(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus, src_settings: Settings
) -> None:
    tenant = new_tenant()
    path = "/api/v1/timelines/tag/radiology"
    replay.script(path, lambda r: json_response([] if r.args.get("min_id") else fixture_json("mastodon_tag.json")))
    source = SourceConfig(id="tag", type="mastodon", params={"instance": replay.base_url, "tag": "#radiology"})
    state, result = run(tenant, source, ctx, state_store, bus)
    assert result.published == 2 and state.cursor == {"since_id": "113000000000000002"}
    texts = {m.author: m.text for m in raw_mentions(src_settings, tenant)}
    assert texts["Fictional Tester"] == "Fictional toot: #radiology at Sample Imaging was great\nsecond line"
    assert texts["other@elsewhere.invalid"].startswith("health\n\nFictional toot: waited long for an ultrasound & the")
    _, again = run(tenant, source, ctx, state_store, bus)
    assert again.published == 0
    assert replay.hits_for(path)[-1].args["min_id"] == "113000000000000002"


def test_bluesky_search_pages_by_cursor(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus, src_settings: Settings
) -> None:
    tenant = new_tenant()
    path = "/xrpc/app.bsky.feed.searchPosts"
    page1, page2 = fixture_json("bluesky_page1.json"), fixture_json("bluesky_page2.json")
    replay.script(path, lambda r: json_response(page2 if r.args.get("cursor") == "bsky-page-2" else page1))
    source = SourceConfig(id="sky", type="bluesky", params={"query": '"Sample Imaging"'})
    state, result = run(tenant, source, ctx, state_store, bus)
    assert result.published == 3 and state.cursor["since"].startswith("2026-03-04T10:00:00")
    mentions = {m.external_id: m for m in raw_mentions(src_settings, tenant)}
    post = mentions["at://did:plc:fictional1/app.bsky.feed.post/3kaaa3"]
    assert post.url == "https://bsky.app/profile/tester.bsky.social/post/3kaaa3" and post.language == "en"
    assert json.loads(post.model_dump_json())["source"] == "bluesky"
    _, again = run(tenant, source, ctx, state_store, bus)
    assert again.published == 0


def _big_json() -> Response:
    return Response(b'{"posts": [' + b" " * (10 * 1024 * 1024) + b"]}", content_type="application/json")


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ([lambda: json_response({"error": "AuthMissing"}, 401)], "unauthorized"),
        ([lambda: json_response({"error": "Forbidden"}, 403)], "unauthorized"),
        ([lambda: json_response({}, 429), lambda: json_response(fixture_json("bluesky_page2.json"))], None),
        (
            [
                lambda: json_response({}, 429, {"Retry-After": "0"}),
                lambda: json_response(fixture_json("bluesky_page2.json")),
            ],
            None,
        ),
        ([lambda: json_response({}, 500), lambda: json_response(fixture_json("bluesky_page2.json"))], None),
        ([lambda: slow(1.5, json_response({}))], "unavailable"),
        ([lambda: raw_response('{"posts": [{"uri": "at://x', content_type="application/json")], "bad_payload"),
        ([lambda: json_response({"posts": "not a list"})], "bad_payload"),
        ([_big_json], "response_too_large"),
    ],
    ids=[
        "401",
        "403",
        "429-then-ok",
        "429-retry-after-then-ok",
        "500-then-ok",
        "timeout",
        "truncated",
        "wrong-shape",
        "10mb",
    ],
)
def test_failures_are_reported_by_code_and_publish_nothing(  # type: ignore[no-untyped-def]
    replay: ReplayServer, ctx: SourceContext, state_store: SourceStateStore, bus, src_settings: Settings, answers, error
) -> None:
    tenant = new_tenant()
    replay.script("/xrpc/app.bsky.feed.searchPosts", *[make() for make in answers])
    source = SourceConfig(id="sky", type="bluesky", params={"query": "sample"})
    state, result = run(tenant, source, ctx, state_store, bus)
    published = raw_mentions(src_settings, tenant)
    if error is None:
        assert result.error is None and len(published) == 1 and state.consecutive_failures == 0
    else:
        assert result.error is not None and result.error.split(":", 1)[0] == error
        assert published == [] and state.cursor == {} and state.last_error == result.error
