"""API keys, tenants and roles.

Every request is authorised by tenant: a key belongs to exactly one practice and carries one
role.  Keys are compared by SHA-256 digest in constant time so the configured secrets are not
kept in memory in a form that a timing side channel could probe.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import IntEnum


class Role(IntEnum):
    """Ordered: a higher role can do everything a lower one can."""

    viewer = 1
    marketer = 2
    admin = 3


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str
    role: Role
    key_id: str = ""  # a non-secret name of the key (see key_fingerprint), for audit records

    def can(self, needed: Role) -> bool:
        return self.role >= needed


class ApiKeyError(ValueError):
    """The configured key list is malformed (a deployment error, reported at start-up)."""


class ApiKeyRegistry:
    def __init__(self, entries: dict[bytes, Principal]) -> None:
        self._entries = entries

    @classmethod
    def parse(cls, spec: str) -> ApiKeyRegistry:
        """Parse ``KEY=TENANT:ROLE,KEY=TENANT:ROLE``."""
        entries: dict[bytes, Principal] = {}
        for position, raw in enumerate(filter(None, (p.strip() for p in spec.split(","))), 1):
            key, sep, grant = raw.partition("=")
            tenant, sep2, role = grant.partition(":")
            if not (sep and sep2 and key and tenant and role):
                raise ApiKeyError(f"API key entry {position} is not KEY=TENANT:ROLE")
            if len(key) < 16:
                raise ApiKeyError(f"API key entry {position} is shorter than 16 characters")
            if role not in Role.__members__:
                raise ApiKeyError(f"API key entry {position} has unknown role {role!r}")
            entries[_digest(key)] = Principal(tenant=tenant.lower(), role=Role[role], key_id=key_fingerprint(key))
        return cls(entries)

    def authenticate(self, presented: str | None) -> Principal | None:
        if not presented:
            return None
        digest = _digest(presented)
        found: Principal | None = None
        for candidate, principal in self._entries.items():
            if hmac.compare_digest(candidate, digest):
                found = principal
        return found

    def __len__(self) -> int:
        return len(self._entries)


def key_fingerprint(key: str) -> str:
    """A non-secret name for an API key: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()
