"""The outbound-address guard shared by the source connectors and the alert webhooks."""

from __future__ import annotations

import pytest

from common.netguard import BlockedTarget, guarded_transport, is_public_address, public_address_checker
from services.alerts.channels import DeliveryError, HttpSender
from services.alerts.rules import SlackChannel
from tests.test_alerts_delivery import sample_message


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",  # cloud metadata
        "100.100.100.200",  # carrier-grade NAT (a metadata service on one cloud)
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "2002:a9fe:a9fe::1",  # 6to4 around 169.254.169.254
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo around 127.0.0.1
        "0.0.0.0",
        "224.0.0.1",
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are(address: str) -> None:
    assert is_public_address(address)


def test_a_host_with_any_internal_address_is_refused() -> None:
    check = public_address_checker(lambda host, port: ["93.184.215.14", "10.0.0.7"])
    with pytest.raises(BlockedTarget):
        check("mixed.example", 443)
    assert public_address_checker(lambda host, port: ["93.184.215.14"])("ok.example", 443) == "93.184.215.14"


def test_a_webhook_host_that_resolves_inside_is_refused_at_connect_time() -> None:
    """The name passes the save-time check; the connection itself is refused, and never retried."""
    transport = guarded_transport(public_address_checker(lambda host, port: ["169.254.169.254"]))
    sender = HttpSender(5, allow_private=False, transport=transport)
    with pytest.raises(DeliveryError) as info:
        sender.send_slack(SlackChannel(type="slack", url="https://hooks.example.com/x"), sample_message())  # type: ignore[arg-type]
    assert not info.value.retryable and "non-public" in str(info.value)
