"""The connectors' HTTP layer against a local replay server: limits, retries, SSRF guard.

No Kafka here: these are the safeguards every connector inherits.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from werkzeug.wrappers import Response

from services.ingest.sources.http import (
    BadPayload,
    BlockedAddress,
    HttpPolicy,
    ResponseTooLarge,
    RobotsDisallowed,
    SafeHttpClient,
    SourceAuthError,
    SourceHttpError,
    SourceRateLimited,
    SourceUnavailable,
    is_public_address,
    parse_retry_after,
)
from services.ingest.sources.robots import HostGate
from tests.sources_support import ReplayServer, json_response, raw_response, slow, start_replay

UA = "RadarTestBot/1.0 (+https://example.invalid/bot)"


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server, stop = start_replay()
    yield server
    stop()


def client(sleeps: list[float] | None = None, **overrides: object) -> SafeHttpClient:
    values: dict[str, object] = {
        "user_agent": UA,
        "connect_timeout_s": 1.0,
        "read_timeout_s": 0.5,
        "total_timeout_s": 5.0,
        "max_bytes": 5 * 1024 * 1024,
        "retries": 2,
        "backoff_base_s": 0.01,
        "backoff_cap_s": 0.02,
        "retry_after_cap_s": 30.0,
        "allow_private": True,
    }
    values.update(overrides)
    record = sleeps if sleeps is not None else []
    return SafeHttpClient(HttpPolicy(**values), sleep=record.append)  # type: ignore[arg-type]


def test_a_normal_answer_sends_an_honest_user_agent(replay: ReplayServer) -> None:
    replay.script("/ok", json_response({"fine": True}))
    response = client().get(f"{replay.base_url}/ok", params={"q": "mri", "skip": None})
    assert response.json() == {"fine": True}
    (hit,) = replay.hits_for("/ok")
    assert hit.headers["User-Agent"] == UA
    assert hit.args == {"q": "mri"}


def test_500_then_success_is_retried_with_backoff(replay: ReplayServer) -> None:
    replay.script("/flaky", json_response({"e": 1}, 500), json_response({"e": 2}, 503), json_response({"ok": 1}))
    sleeps: list[float] = []
    assert client(sleeps).get(f"{replay.base_url}/flaky").json() == {"ok": 1}
    assert len(replay.hits_for("/flaky")) == 3
    assert len(sleeps) == 2 and all(0 <= s <= 0.02 for s in sleeps)


def test_persistent_5xx_gives_up_after_the_retries(replay: ReplayServer) -> None:
    replay.script("/down", json_response({}, 502))
    with pytest.raises(SourceHttpError) as caught:
        client().get(f"{replay.base_url}/down")
    assert caught.value.status == 502
    assert len(replay.hits_for("/down")) == 3


def test_429_with_retry_after_waits_that_long(replay: ReplayServer) -> None:
    replay.script("/limited", json_response({}, 429, {"Retry-After": "7"}), json_response({"ok": 1}))
    sleeps: list[float] = []
    assert client(sleeps).get(f"{replay.base_url}/limited").json() == {"ok": 1}
    assert sleeps == [7.0]


def test_429_without_retry_after_backs_off(replay: ReplayServer) -> None:
    replay.script("/limited2", json_response({}, 429), json_response({"ok": 1}))
    sleeps: list[float] = []
    assert client(sleeps).get(f"{replay.base_url}/limited2").json() == {"ok": 1}
    assert len(sleeps) == 1 and sleeps[0] <= 0.02


def test_a_retry_after_beyond_the_cap_fails_the_run_at_once(replay: ReplayServer) -> None:
    replay.script("/quota", json_response({}, 429, {"Retry-After": "86400"}))
    with pytest.raises(SourceRateLimited) as caught:
        client().get(f"{replay.base_url}/quota")
    assert caught.value.retry_after == 86400 and not caught.value.retryable
    assert len(replay.hits_for("/quota")) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_not_retried(replay: ReplayServer, status: int) -> None:
    replay.script(f"/auth{status}", json_response({"error": "no"}, status))
    with pytest.raises(SourceAuthError):
        client().get(f"{replay.base_url}/auth{status}")
    assert len(replay.hits_for(f"/auth{status}")) == 1


def test_a_timeout_is_retried_then_reported(replay: ReplayServer) -> None:
    replay.script("/slow", slow(1.5, json_response({})))
    with pytest.raises(SourceUnavailable, match="timed out"):
        client(retries=1).get(f"{replay.base_url}/slow")
    assert len(replay.hits_for("/slow")) == 2


@pytest.mark.parametrize("body", ['{"reviews": [{"name": "a"', "<html>not json</html>", ""])
def test_truncated_or_malformed_json_is_a_bad_payload(replay: ReplayServer, body: str) -> None:
    replay.script("/broken", raw_response(body, content_type="application/json"))
    with pytest.raises(BadPayload):
        client().get(f"{replay.base_url}/broken").json()


def test_a_10_mb_body_is_refused_by_its_declared_length(replay: ReplayServer) -> None:
    replay.script("/huge", raw_response(b"x" * (10 * 1024 * 1024), content_type="application/octet-stream"))
    with pytest.raises(ResponseTooLarge):
        client().get(f"{replay.base_url}/huge")


def test_a_10_mb_streamed_body_is_refused_while_reading(replay: ReplayServer) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(160):
            yield b"y" * 65536  # 10 MiB, no Content-Length

    replay.script("/huge-stream", lambda _r: Response(chunks(), content_type="application/json"))
    with pytest.raises(ResponseTooLarge):
        client().get(f"{replay.base_url}/huge-stream")


def test_loopback_is_refused_unless_allowed(replay: ReplayServer) -> None:
    replay.script("/private", json_response({"secret": True}))
    with pytest.raises(BlockedAddress):
        client(allow_private=False).get(f"{replay.base_url}/private")
    assert replay.hits_for("/private") == []


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.5",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "224.0.0.1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "fc00::1",
    ],
)
def test_names_resolving_to_non_public_addresses_are_refused(address: str) -> None:
    guarded = SafeHttpClient(
        HttpPolicy(user_agent=UA, allow_private=False, retries=0), resolver=lambda host, port: [address]
    )
    with pytest.raises(BlockedAddress):
        guarded.get("https://reviews.example.com/page")
    assert not is_public_address(address)


def test_each_host_is_checked_by_its_own_resolution_at_connect_time() -> None:
    """Redirect hops open new connections and are checked the same way; public names pass."""
    answers = {"public.example.com": ["93.184.215.14"], "internal.example.com": ["10.0.0.7"]}
    guarded = SafeHttpClient(
        HttpPolicy(user_agent=UA, allow_private=False, retries=0), resolver=lambda host, port: answers[host]
    )
    with pytest.raises(BlockedAddress):
        guarded.checked_address("internal.example.com", 80)
    assert guarded.checked_address("public.example.com", 443) == "93.184.215.14"


def test_the_checked_address_is_the_one_connected_to_and_the_name_is_kept(
    replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name resolved by the guard is reached at the address it checked, with its own Host header."""
    replay.script("/pinned", json_response({"ok": True}))
    port = int(replay.base_url.rsplit(":", 1)[1])
    resolved: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    guarded = SafeHttpClient(HttpPolicy(user_agent=UA, allow_private=False, retries=0), resolver=resolver)
    with pytest.raises(BlockedAddress):
        guarded.get(f"http://reviews.example.com:{port}/pinned")  # loopback: refused before connecting
    assert resolved == ["reviews.example.com"] and replay.hits_for("/pinned") == []

    # Treat the replay server's address as public for a moment: the same request now connects to
    # exactly the address the guard resolved, and the server sees the original name.
    monkeypatch.setattr("services.ingest.sources.http.is_public_address", lambda address: True)
    assert guarded.get(f"http://reviews.example.com:{port}/pinned").json() == {"ok": True}
    (hit,) = replay.hits_for("/pinned")
    assert hit.headers["Host"] == f"reviews.example.com:{port}"


def test_only_http_and_https_are_fetched() -> None:
    with pytest.raises(BlockedAddress):
        client().get("file:///etc/passwd")


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_the_host_gate_spaces_requests_per_host_and_caches_robots(replay: ReplayServer) -> None:
    replay.script("/robots.txt", raw_response("User-agent: RadarTestBot\nDisallow: /nope\n", content_type="text/plain"))
    now = [100.0]
    waits: list[float] = []
    gate = HostGate(client(), UA, min_interval_s=2.0, clock=lambda: now[0])
    gate.check(f"{replay.base_url}/fine")
    with pytest.raises(RobotsDisallowed):
        gate.check(f"{replay.base_url}/nope/page")
    assert len(replay.hits_for("/robots.txt")) == 1  # fetched once, then cached
    gate.wait_turn("https://a.example/1", sleep=waits.append)
    gate.wait_turn("https://a.example/2", sleep=waits.append)
    gate.wait_turn("https://b.example/1", sleep=waits.append)  # another host: its own turn
    gate.wait_turn("https://a.example/3", sleep=waits.append)
    assert waits == [2.0, 4.0]


def test_an_unreachable_robots_txt_means_do_not_fetch(replay: ReplayServer) -> None:
    replay.script("/robots.txt", json_response({}, 503))
    gate = HostGate(client(retries=0), UA, min_interval_s=0)
    with pytest.raises(RobotsDisallowed):
        gate.check(f"{replay.base_url}/page")


def test_credentials_stay_with_their_origin_across_redirects(replay: ReplayServer) -> None:
    other_origin = replay.base_url.replace("127.0.0.1", "localhost")
    replay.script("/same", raw_response(b"", status=302, Location="/landing"))
    replay.script("/landing", json_response({"ok": True}))
    replay.script("/away", raw_response(b"", status=302, Location=f"{other_origin}/elsewhere"))
    replay.script("/elsewhere", json_response({"ok": True}))
    secret = {"Authorization": "Bearer source-token-123"}
    client().get(f"{replay.base_url}/same", headers=secret)
    assert replay.hits_for("/landing")[-1].headers.get("Authorization") == "Bearer source-token-123"
    client().get(f"{replay.base_url}/away", headers=secret)
    assert "Authorization" not in replay.hits_for("/elsewhere")[-1].headers, "never sent to another origin"
