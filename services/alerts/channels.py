"""Delivery channels: Slack-compatible webhooks, signed generic webhooks, and e-mail over SMTP.

Each delivery carries the message's idempotency key (``Idempotency-Key`` header, or the
``Message-ID`` of an e-mail), so a receiver can drop a retry it already processed.  A failure
is ``retryable`` when trying again later can help (timeouts, 408, 429, 5xx, an SMTP server that
is down) and permanent otherwise (4xx, a refused target), which dead-letters at once.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import smtplib
import ssl
import time
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx

from common.netguard import BlockedTarget, guarded_transport, is_public_address, public_address_checker
from services.alerts.messages import AlertMessage, email_text, slack_blocks
from services.alerts.rules import EmailChannel, SlackChannel, WebhookChannel

SIGNATURE_HEADER = "X-Radar-Signature"
TIMESTAMP_HEADER = "X-Radar-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "radar-alerts/1"


class DeliveryError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class TargetRefused(ValueError):
    """A webhook target on a loopback, private, link-local or otherwise internal address."""


def check_literal_target(url: str, allow_private: bool) -> None:
    """Refuse URLs whose host is an internal IP literal or ``localhost`` (no DNS lookup: API-time check).

    The send-time check is in the connection itself (``common/netguard.py``): every address the
    host resolves to must be public, and the one checked is the one connected to.
    """
    if allow_private:
        return
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host or host == "localhost" or host.endswith(".localhost"):
        raise TargetRefused("webhook targets on loopback or private addresses are not allowed")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if not is_public_address(str(address)):
        raise TargetRefused("webhook targets on loopback or private addresses are not allowed")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 over ``timestamp + "." + body`` (see docs/alerts.md to verify)."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


class HttpSender:
    """POSTs to Slack and generic webhooks through one pooled, address-guarded httpx client."""

    def __init__(self, timeout_s: float, allow_private: bool, transport: httpx.BaseTransport | None = None) -> None:
        self._allow_private = allow_private
        if transport is None:
            transport = guarded_transport(None if allow_private else public_address_checker())
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False, transport=transport, trust_env=False)

    def send_slack(self, channel: SlackChannel, message: AlertMessage) -> None:
        body = _json_bytes(slack_blocks(message))
        self._post(str(channel.url), body, {IDEMPOTENCY_HEADER: message.key})

    def send_webhook(self, channel: WebhookChannel, message: AlertMessage) -> None:
        body = message.body_bytes()
        timestamp = str(int(time.time()))
        headers = {
            IDEMPOTENCY_HEADER: message.key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(channel.secret, timestamp, body),
        }
        self._post(str(channel.url), body, headers)

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            check_literal_target(url, self._allow_private)
            response = self._client.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
            )
        except (TargetRefused, BlockedTarget) as exc:
            raise DeliveryError(str(exc), retryable=False) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}", retryable=True) from None
        status = response.status_code
        if 200 <= status < 300:
            return
        retryable = status in (408, 425, 429) or status >= 500
        raise DeliveryError(f"webhook answered {status}", retryable=retryable)


def _json_bytes(payload: object) -> bytes:
    import json

    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class SmtpSender:
    """Sends e-mail alerts; STARTTLS (certificate verified) when configured, login when given."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool,
        username: str = "",
        password: str = "",
        timeout_s: float = 10,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._starttls = starttls
        self._username = username
        self._password = password
        self._timeout_s = timeout_s
        self._tls_context = tls_context

    def send(self, channel: EmailChannel, message: AlertMessage) -> None:
        if not self._host:
            raise DeliveryError("no SMTP server configured (RADAR_SMTP_HOST)", retryable=False)
        email = EmailMessage()
        email["From"] = self._sender
        email["To"] = ", ".join(channel.to)
        email["Subject"] = message.title
        # A stable Message-ID: a retried send is the same message to the mail system.
        email["Message-ID"] = f"<{hashlib.sha256(message.key.encode()).hexdigest()[:32]}@radar.alerts>"
        email["X-Radar-Idempotency-Key"] = message.key
        email.set_content(email_text(message))
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
                smtp.ehlo()
                if self._starttls:
                    smtp.starttls(context=self._tls_context or ssl.create_default_context())
                    smtp.ehlo()
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError("SMTP server refused every recipient", retryable=False) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP server answered {exc.smtp_code}", retryable=exc.smtp_code >= 400 and exc.smtp_code < 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP failed: {type(exc).__name__}", retryable=True) from exc


class Channels:
    """Routes a message to the sender of each channel type."""

    def __init__(self, http: HttpSender, smtp: SmtpSender) -> None:
        self.http = http
        self.smtp = smtp

    def send(self, channel: SlackChannel | WebhookChannel | EmailChannel, message: AlertMessage) -> None:
        if isinstance(channel, SlackChannel):
            self.http.send_slack(channel, message)
        elif isinstance(channel, WebhookChannel):
            self.http.send_webhook(channel, message)
        else:
            self.smtp.send(channel, message)
