"""The scheduler: concurrency (a slow source blocks nobody), cursors across a restart, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from common.settings import REPO_ROOT, Settings
from services.ingest.scheduler import Scheduler
from services.ingest.sources.config import SourcesFile
from services.ingest.sources.http import HttpPolicy, SafeHttpClient
from services.ingest.sources.state import SourceStateStore, state_key
from tests.sources_support import (
    ReplayServer,
    fixture_json,
    json_response,
    new_tenant,
    raw_mentions,
    slow,
    source_settings,
    start_replay,
)


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server, stop = start_replay()
    yield server
    stop()


def wait_for(condition: Callable[[], bool], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def sources_for(tenant: str, base_url: str) -> SourcesFile:
    return SourcesFile.model_validate(
        {
            "tenants": [
                {
                    "tenant": tenant,
                    "sources": [
                        {"id": "sky", "type": "bluesky", "interval_s": 1, "params": {"query": "sample"}},
                        {
                            "id": "slow-google",
                            "type": "google",
                            "interval_s": 1,
                            "params": {"location": "accounts/5/locations/6", "access_token": "t"},
                        },
                    ],
                }
            ]
        }
    )


def start(settings: Settings, sources: SourcesFile, bus) -> tuple[Scheduler, threading.Thread]:  # type: ignore[no-untyped-def]
    http = SafeHttpClient(HttpPolicy.from_settings(settings))
    scheduler = Scheduler(settings, sources, bus, bus.publisher(), http)
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    return scheduler, thread


def stop(scheduler: Scheduler, thread: threading.Thread) -> float:
    began = time.monotonic()
    scheduler.stop.set()
    scheduler.wake_event.set()
    thread.join(timeout=20)
    assert not thread.is_alive()
    return time.monotonic() - began


def test_a_slow_source_blocks_nobody_and_cursors_survive_a_restart(  # type: ignore[no-untyped-def]
    replay: ReplayServer, settings: Settings, bus
) -> None:
    tenant = new_tenant()
    own = source_settings(settings, replay.base_url, source_read_timeout_s=10.0, source_retries=0, source_workers=4)
    page1, page2 = fixture_json("bluesky_page1.json"), fixture_json("bluesky_page2.json")
    replay.script(
        "/xrpc/app.bsky.feed.searchPosts",
        lambda r: json_response(page2 if r.args.get("cursor") == "bsky-page-2" else page1),
    )
    replay.script("/v4/accounts/5/locations/6/reviews", slow(4.0, json_response({})))
    sources = sources_for(tenant, replay.base_url)

    scheduler, thread = start(own, sources, bus)
    reader = SourceStateStore(bus, bus.publisher(), own.topics.source_state, own.produce_timeout_s)
    try:
        # The Bluesky source runs (twice, its interval is 1 s) while the Google one hangs in its request.
        assert wait_for(lambda: len(replay.hits_for("/xrpc/app.bsky.feed.searchPosts")) >= 3, 10)
        assert len(replay.hits_for("/v4/accounts/5/locations/6/reviews")) == 1
    finally:
        stopped_in = stop(scheduler, thread)
    assert stopped_in < 8  # the hanging request finishes (4 s), nothing new starts

    states = reader.load()
    sky = states[state_key(tenant, "sky")]
    assert sky.cursor["since"].startswith("2026-03-04T10:00:00") and sky.items_fetched == 3
    assert sky.next_run_at is not None and sky.last_error is None
    published = raw_mentions(own, tenant)
    assert len(published) == 3  # the second and later runs found nothing new

    # Restart: the cursor comes back from the compacted topic; re-runs publish nothing new.
    hits_before = len(replay.hits_for("/xrpc/app.bsky.feed.searchPosts"))
    replay.script("/v4/accounts/5/locations/6/reviews", json_response({}))
    scheduler, thread = start(own, sources, bus)
    try:
        assert wait_for(lambda: len(replay.hits_for("/xrpc/app.bsky.feed.searchPosts")) >= hits_before + 2, 10)
    finally:
        stop(scheduler, thread)
    assert len(raw_mentions(own, tenant)) == 3
    first_hit_after_restart = replay.hits_for("/xrpc/app.bsky.feed.searchPosts")[hits_before]
    assert "cursor" not in first_hit_after_restart.args  # a fresh pass from the top, stopping at `since`
    assert reader.load()[state_key(tenant, "sky")].items_fetched == 3


def test_the_scheduler_process_stops_cleanly_on_sigterm(
    replay: ReplayServer, settings: Settings, tmp_path: Path
) -> None:
    tenant = new_tenant()
    replay.script("/xrpc/app.bsky.feed.searchPosts", json_response({"posts": []}))
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"tenants:\n  - tenant: {tenant}\n    sources:\n"
        "      - {id: sky, type: bluesky, interval_s: 1, params: {query: sample}}\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "RADAR_TOPIC_PREFIX": settings.topic_prefix,
        "RADAR_SOURCES_FILE": str(config),
        "RADAR_BLUESKY_URL": replay.base_url,
        "RADAR_SOURCE_ALLOW_PRIVATE_ADDRESSES": "true",
        "RADAR_LOG_LEVEL": "INFO",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.ingest.scheduler"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: len(replay.hits_for("/xrpc/app.bsky.feed.searchPosts")) >= 1, 30)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr[-2000:]
    assert '"msg": "scheduler stopped"' in stderr


def test_the_circuit_breaker_stops_calling_a_failing_source(replay: ReplayServer, settings: Settings, bus) -> None:  # type: ignore[no-untyped-def]
    tenant = new_tenant()
    own = source_settings(settings, replay.base_url, source_breaker_failures=2, source_breaker_cooldown_s=600)
    replay.script("/xrpc/app.bsky.feed.searchPosts", json_response({"error": "AuthRequired"}, 401))
    sources = SourcesFile.model_validate(
        {
            "tenants": [
                {
                    "tenant": tenant,
                    "sources": [{"id": "sky", "type": "bluesky", "interval_s": 1, "params": {"query": "x"}}],
                }
            ]
        }
    )
    scheduler, thread = start(own, sources, bus)
    try:
        assert wait_for(lambda: len(replay.hits_for("/xrpc/app.bsky.feed.searchPosts")) >= 2, 10)
        time.sleep(3)  # three more intervals: an open breaker makes no call
        assert len(replay.hits_for("/xrpc/app.bsky.feed.searchPosts")) == 2
    finally:
        stop(scheduler, thread)
    state = SourceStateStore(bus, bus.publisher(), own.topics.source_state, own.produce_timeout_s).load()[
        state_key(tenant, "sky")
    ]
    assert state.consecutive_failures == 2 and state.breaker_open_until is not None
    assert state.last_error is not None and state.last_error.startswith("unauthorized")
