"""Outbound HTTP that cannot be aimed at the inside of the network (server-side request forgery).

Two parts of the product fetch URLs that a tenant controls: the source connectors (review pages,
feeds) and the alert webhooks.  Both connect only to public addresses, checked where the socket
is opened (``GuardedBackend``): the address checked is the address connected to, so a DNS answer
that changes between a check and the connection (rebinding) cannot slip through, while the URL,
the Host header, TLS SNI and connection pooling keep the name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

Resolver = Callable[[str, int], list[str]]


class BlockedTarget(Exception):
    """The host resolves to a non-public address (or is not a network host at all)."""


def is_public_address(address: str) -> bool:
    """Whether ``address`` is globally routable, looking through IPv4 embedded in IPv6 forms."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def public_address_checker(resolver: Resolver = system_resolver) -> Callable[[str, int], str]:
    """A check for ``GuardedBackend``: every address of the host must be public; connect to the first."""

    def check(host: str, port: int) -> str:
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise BlockedTarget(f"cannot resolve {host}: {type(exc).__name__}") from exc
        if not addresses:
            raise BlockedTarget(f"{host} has no address")
        for address in addresses:
            if not is_public_address(address):
                raise BlockedTarget(f"{host} resolves to a non-public address; refused (server-side request forgery)")
        return addresses[0]

    return check


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket layer with the address check in front of every connection."""

    def __init__(self, check: Callable[[str, int], str]) -> None:
        self._check = check
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = self._check(host, port)
        return self._inner.connect_tcp(
            address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise BlockedTarget("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_transport(check: Callable[[str, int], str] | None, *, max_connections: int = 20) -> httpx.HTTPTransport:
    """An httpx transport whose connections pass ``check`` (None: no check, for tests on loopback)."""
    transport = httpx.HTTPTransport(trust_env=False)
    if check is None:
        return transport
    # httpx has no public hook for the network backend; ``_pool`` is stable within the pinned
    # 0.28 series (pyproject), and the SSRF tests fail loudly if that changes.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=GuardedBackend(check),
        max_connections=max_connections,
        max_keepalive_connections=max_connections // 2,
        keepalive_expiry=5.0,
    )
    return transport
