"""API keys an admin manages through the API, shared by every service through a compacted topic.

Keys from ``RADAR_API_KEYS`` are the deployment's bootstrap (the first admin key); keys created
with ``POST /v1/keys`` live in the log-compacted topic ``<prefix>.api-keys``, one record per key
(its id, practice, role, label and the SHA-256 of the secret, never the secret), so every
service of every host learns about them without a second datastore, and a revocation is a new
record for the same key.  Each process keeps the table in memory and re-reads it in the
background every ``RADAR_API_KEYS_REFRESH_S`` seconds; a key it has not seen yet triggers one
immediate re-read (at most once a second), so a new key works at once everywhere and a revoked
one stops working within the refresh interval.  If Kafka is unreachable the last table read
stays in force and the environment keys keep working.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from common.auth import ApiKeyRegistry, Principal, Role, key_fingerprint
from common.bus import Bus, BusUnavailable, Message, Publisher
from common.schema import DisplayName, Slug

log = logging.getLogger(__name__)

RoleName = Literal["viewer", "marketer", "admin"]
SECRET_PREFIX = "rdr_"
FORCED_INTERVAL_S = 0.2


class ManagedKey(BaseModel):
    """One key as stored on the topic: everything but the secret."""

    model_config = ConfigDict(extra="forbid")

    key_id: str = Field(description="The key's fingerprint: the first 12 hex digits of the secret's SHA-256.")
    tenant: Slug
    role: RoleName
    name: DisplayName = Field(description="A label, e.g. who or what uses the key.")
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the secret.")
    created_at: AwareDatetime
    created_by: str
    revoked_at: AwareDatetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def principal(self) -> Principal:
        return Principal(tenant=self.tenant, role=Role[self.role], key_id=self.key_id)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class KeyDirectory:
    """Authenticates presented keys against the environment's keys and the managed ones."""

    def __init__(
        self,
        static: ApiKeyRegistry,
        bus: Bus | None,
        topic: str,
        *,
        refresh_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.static = static
        self._bus = bus
        self._topic = topic
        self._refresh_s = refresh_s
        self._clock = clock
        self._by_digest: dict[str, ManagedKey] = {}
        self._by_id: dict[str, ManagedKey] = {}
        self._loaded_at: float | None = None
        self._forced_at = float("-inf")
        self._lock = threading.Lock()
        self._force_lock = threading.Lock()
        self._refresher: threading.Thread | None = None

    @property
    def manages_keys(self) -> bool:
        return self._bus is not None

    def __len__(self) -> int:
        return len(self.static) + sum(1 for k in self._by_id.values() if k.active)

    # ------------------------------------------------------------------------- reading
    def authenticate(self, presented: str | None) -> Principal | None:
        found = self.static.authenticate(presented)
        if found is not None or not presented or self._bus is None:
            return found
        self._start_refresher()
        digest = secret_digest(presented)
        key = self._by_digest.get(digest)
        if key is None:
            key = self._forced_lookup(digest)
        return key.principal() if key is not None and key.active else None

    def _forced_lookup(self, digest: str) -> ManagedKey | None:
        """A key this process has not seen, perhaps created a moment ago on another host: re-read.

        Forced reads are serialised and spaced ``FORCED_INTERVAL_S`` apart, so a flood of made-up
        keys costs the broker a few reads a second and delays only the requests that carry them.
        """
        with self._force_lock:
            key = self._by_digest.get(digest)  # another request may have re-read meanwhile
            if key is not None:
                return key
            wait = self._forced_at + FORCED_INTERVAL_S - self._clock()
            if wait > 0:
                time.sleep(wait)
            self._forced_at = self._clock()
            self.refresh()
            return self._by_digest.get(digest)

    def keys_of(self, tenant: str) -> list[ManagedKey]:
        """The practice's managed keys (revoked ones too), newest first, from a fresh read."""
        self.refresh(raise_errors=True)
        return sorted((k for k in self._by_id.values() if k.tenant == tenant), key=lambda k: k.created_at, reverse=True)

    def get(self, tenant: str, key_id: str) -> ManagedKey | None:
        self.refresh(raise_errors=True)
        key = self._by_id.get(key_id)
        return key if key is not None and key.tenant == tenant else None

    def refresh(self, raise_errors: bool = False) -> None:
        if self._bus is None:
            return
        try:
            table = self._bus.read_table(self._topic, timeout_s=5.0)
        except BusUnavailable:
            if raise_errors:
                raise
            log.warning("could not read the API key table; the last one read stays in force")
            return
        by_id: dict[str, ManagedKey] = {}
        for value in table.values():
            try:
                key = ManagedKey.model_validate_json(value)
            except ValidationError:
                log.warning("ignoring an unreadable API key record")
                continue
            by_id[key.key_id] = key
        with self._lock:
            # A record this process published after the read began (a revocation) must not be
            # rolled back by the older table: the newer state of each key wins.
            for key_id, known in self._by_id.items():
                read = by_id.get(key_id)
                if read is None or (known.revoked_at is not None and read.revoked_at is None):
                    by_id[key_id] = known
            self._by_id = by_id
            self._by_digest = {k.digest: k for k in by_id.values()}
            self._loaded_at = self._clock()

    def remember(self, key: ManagedKey) -> None:
        """Apply a record this process just published, without waiting for the next read."""
        with self._lock:
            self._by_id = {**self._by_id, key.key_id: key}
            self._by_digest = {k.digest: k for k in self._by_id.values()}

    def _start_refresher(self) -> None:
        if self._refresher is not None:
            return
        with self._lock:
            if self._refresher is not None:
                return
            self._refresher = threading.Thread(target=self._refresh_forever, name="api-key-refresh", daemon=True)
            self._refresher.start()

    def _refresh_forever(self) -> None:
        while True:
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - the refresher must outlive any client error
                log.error("API key table refresh failed", extra={"exc_type": type(exc).__name__})
            time.sleep(self._refresh_s)


class KeyIssuer:
    """Creates and revokes managed keys (the search service's ``/v1/keys``)."""

    def __init__(
        self,
        directory: KeyDirectory,
        bus: Bus,
        publisher: Publisher,
        topic: str,
        *,
        replication: int = 1,
        timeout_s: float = 10.0,
    ) -> None:
        self._directory = directory
        self._bus = bus
        self._publisher = publisher
        self._topic = topic
        self._replication = replication
        self._timeout_s = timeout_s
        self._topic_ready = False

    def create(self, tenant: str, role: RoleName, name: str, actor: str) -> tuple[ManagedKey, str]:
        """A new key and its secret; the secret is returned this once and stored nowhere."""
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        key = ManagedKey(
            key_id=key_fingerprint(secret),
            tenant=tenant,
            role=role,
            name=name,
            digest=secret_digest(secret),
            created_at=datetime.now(UTC),
            created_by=actor,
        )
        self._publish(key)
        return key, secret

    def revoke(self, key: ManagedKey, actor: str) -> ManagedKey:
        if not key.active:
            return key
        revoked = key.model_copy(update={"revoked_at": datetime.now(UTC), "revoked_by": actor})
        self._publish(revoked)
        return revoked

    def _publish(self, key: ManagedKey) -> None:
        if not self._topic_ready:
            self._bus.ensure_compacted_topic(self._topic, partitions=1, replication=self._replication)
            self._topic_ready = True
        message = Message(key=key.key_id.encode("ascii"), value=key.model_dump_json().encode("utf-8"))
        self._publisher.publish(self._topic, [message], timeout_s=self._timeout_s)
        self._directory.remember(key)
