"""The one HTTP client every connector uses, so no connector can forget a safeguard.

What it guarantees, whoever calls it:

* server-side request forgery guard: the host is resolved first and every address must be
  public (not private, loopback, link-local, multicast, reserved or unspecified) unless
  ``RADAR_SOURCE_ALLOW_PRIVATE_ADDRESSES`` is set.  The check runs in the socket layer
  (``GuardedBackend``), so the address checked is the address connected to and a DNS answer
  that changes between check and connect (rebinding) cannot slip through, while the URL, Host
  header, TLS SNI and connection pooling keep the name.  Redirects are followed by hand, and
  every new connection, whatever its hop, is checked the same way.
* bounded time and size: connect/read timeouts plus a deadline for the whole body, and a body
  read as a stream and refused as soon as it passes the cap (a 10 MB answer costs 5 MB at most);
  the cap counts decoded bytes, so a gzip bomb is refused too.
* retries with full-jitter exponential backoff (tenacity) on 5xx, timeouts and connection
  errors; a 429 waits ``Retry-After`` when given (capped), else backs off.  401/403/404 and
  other 4xx are not retried: they will not get better by asking again.

Error messages name the URL's host and path and the status, never a response body, because a
body can hold review text and names.
"""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from common.netguard import guarded_transport, is_public_address
from common.settings import Settings

Resolver = Callable[[str, int], list[str]]


class SourceError(Exception):
    """A source could not be read this time.  ``code`` is stable and shown in the status API."""

    code = "source_error"
    retryable = False


class BlockedAddress(SourceError):
    code = "blocked_address"


class SourceHttpError(SourceError):
    code = "http_error"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class SourceAuthError(SourceHttpError):
    """401/403: the credentials are wrong or lack access; retrying will not help."""

    code = "unauthorized"


class SourceNotFound(SourceHttpError):
    code = "not_found"


class SourceRateLimited(SourceHttpError):
    """429: wait ``retry_after`` seconds (None when the source did not say)."""

    code = "rate_limited"

    def __init__(self, message: str, status: int, retry_after: float | None, retryable: bool = True) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after
        self.retryable = retryable


class SourceUnavailable(SourceError):
    """5xx, timeout or connection failure: worth retrying later."""

    code = "unavailable"
    retryable = True


class ResponseTooLarge(SourceError):
    code = "response_too_large"


class BadPayload(SourceError):
    """The body is not what the source documents (truncated or malformed JSON, wrong shape)."""

    code = "bad_payload"


class RobotsDisallowed(SourceError):
    code = "robots_disallowed"


@dataclass(frozen=True)
class HttpPolicy:
    """The limits of one client, from settings (tests shrink them)."""

    user_agent: str
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 20.0
    total_timeout_s: float = 60.0
    max_bytes: int = 5 * 1024 * 1024
    retries: int = 3
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    retry_after_cap_s: float = 300.0
    allow_private: bool = False
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpPolicy:
        return cls(
            user_agent=settings.source_user_agent,
            connect_timeout_s=settings.source_connect_timeout_s,
            read_timeout_s=settings.source_read_timeout_s,
            total_timeout_s=settings.source_total_timeout_s,
            max_bytes=settings.source_max_response_bytes,
            retries=settings.source_retries,
            backoff_base_s=settings.source_backoff_base_s,
            backoff_cap_s=settings.source_backoff_cap_s,
            retry_after_cap_s=settings.source_retry_after_cap_s,
            allow_private=settings.source_allow_private_addresses,
        )


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            raise BadPayload(f"{_where(self.url)}: the body is not valid JSON") from exc

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise BadPayload(f"{_where(self.url)}: expected a JSON object")
        return value

    @property
    def text(self) -> str:
        charset = httpx.Response(200, headers=self.headers).charset_encoding or "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def _where(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.host}{parsed.path}"


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SourceUnavailable(f"cannot resolve {host}: {exc.strerror}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class SafeHttpClient:
    """GET with the safeguards above.  One per process is enough; it is thread-safe."""

    def __init__(
        self,
        policy: HttpPolicy,
        *,
        resolver: Resolver = system_resolver,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.policy = policy
        self._resolver = resolver
        self._sleep = sleep
        if transport is None:
            # The guard sits where the socket is opened (common/netguard.py).
            transport = guarded_transport(self.checked_address)
        self._client = httpx.Client(
            timeout=httpx.Timeout(
                connect=policy.connect_timeout_s,
                read=policy.read_timeout_s,
                write=policy.read_timeout_s,
                pool=policy.connect_timeout_s,
            ),
            follow_redirects=False,
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    # --- public ------------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        give_up_on_429: Callable[[HttpResponse], bool] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> HttpResponse:
        """GET ``url``; return a response whose status is in ``ok`` or raise a SourceError.

        ``give_up_on_429`` says whether a 429 is final (a daily quota, say), so it is not retried.
        ``sleep`` replaces the client's sleep between retries (a scheduler passes a stoppable one).
        """
        wait_sleep = sleep or self._sleep
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.retries + 1),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: isinstance(exc, SourceError) and exc.retryable),
            sleep=wait_sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                response = self._get_following_redirects(url, params, headers)
                return self._classify(response, ok, give_up_on_429)
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True always raises

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, SourceRateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.retry_after_cap_s)
        attempt = max(0, state.attempt_number - 1)
        return random.uniform(0, min(self.policy.backoff_cap_s, self.policy.backoff_base_s * 2**attempt))

    def _classify(
        self, response: HttpResponse, ok: tuple[int, ...], give_up_on_429: Callable[[HttpResponse], bool] | None
    ) -> HttpResponse:
        status, where = response.status, _where(response.url)
        if status in ok:
            return response
        if status in (401, 403):
            raise SourceAuthError(f"{where} answered {status}: check the source's credentials", status)
        if status in (404, 410):
            raise SourceNotFound(f"{where} answered {status}", status)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            final = bool(give_up_on_429 and give_up_on_429(response))
            if retry_after is not None and retry_after > self.policy.retry_after_cap_s:
                final = True
            raise SourceRateLimited(f"{where} answered 429 (rate limited)", status, retry_after, retryable=not final)
        if status >= 500:
            error = SourceHttpError(f"{where} answered {status}", status)
            error.retryable = True
            raise error
        raise SourceHttpError(f"{where} answered {status}", status)

    # --- one request -------------------------------------------------------------------------

    def _get_following_redirects(
        self, url: str, params: Mapping[str, Any] | None, headers: Mapping[str, str] | None
    ) -> HttpResponse:
        current = str(httpx.URL(url, params={k: v for k, v in (params or {}).items() if v is not None}))
        sent = dict(headers or {})
        for _ in range(self.policy.max_redirects + 1):
            response = self._get_once(current, sent)
            if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                following = urljoin(current, response.headers["location"])
                before, after = httpx.URL(current), httpx.URL(following)
                if before.scheme == "https" and after.scheme != "https":
                    raise BlockedAddress(f"{_where(current)}: refused a redirect from https to {after.scheme}")
                if (before.scheme, before.host, before.port) != (after.scheme, after.host, after.port):
                    # Credentials belong to the origin they were meant for (as browsers and httpx do).
                    sent = {k: v for k, v in sent.items() if k.lower() not in ("authorization", "cookie")}
                current = following
                continue
            return response
        raise SourceHttpError(f"{_where(url)}: more than {self.policy.max_redirects} redirects", 310)

    def checked_address(self, host: str, port: int) -> str:
        """The address to connect to for ``host``: every address it resolves to must be public."""
        if self.policy.allow_private:
            return host
        addresses = self._resolver(host, port)
        if not addresses:
            raise SourceUnavailable(f"{host} has no address")
        for address in addresses:
            if not is_public_address(address):
                raise BlockedAddress(f"{host} resolves to a non-public address; refused (server-side request forgery)")
        return addresses[0]

    def _get_once(self, url: str, headers: Mapping[str, str] | None) -> HttpResponse:
        target = httpx.URL(url)
        if target.scheme not in ("http", "https"):
            raise BlockedAddress(f"{target.scheme!r} URLs are not fetched")
        if not target.host:
            raise BlockedAddress("the URL has no host")
        request = self._client.build_request("GET", target, headers=dict(headers or {}))
        deadline = time.monotonic() + self.policy.total_timeout_s
        try:
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise SourceUnavailable(f"{_where(url)}: timed out") from exc
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"{_where(url)}: {type(exc).__name__}") from exc
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.policy.max_bytes:
                raise ResponseTooLarge(
                    f"{_where(url)}: body of {int(declared)} bytes is over the {self.policy.max_bytes}-byte cap"
                )
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.policy.max_bytes:
                        raise ResponseTooLarge(f"{_where(url)}: body over the {self.policy.max_bytes}-byte cap")
                    if time.monotonic() > deadline:
                        raise SourceUnavailable(f"{_where(url)}: body not read within {self.policy.total_timeout_s}s")
                    chunks.append(chunk)
            except httpx.TimeoutException as exc:
                raise SourceUnavailable(f"{_where(url)}: timed out reading the body") from exc
            except httpx.DecodingError as exc:
                raise BadPayload(f"{_where(url)}: the body could not be decoded") from exc
            except httpx.HTTPError as exc:
                raise SourceUnavailable(f"{_where(url)}: {type(exc).__name__} reading the body") from exc
            return HttpResponse(url=url, status=response.status_code, headers=response.headers, body=b"".join(chunks))
        finally:
            response.close()
