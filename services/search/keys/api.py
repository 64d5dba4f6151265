"""``/v1/keys`` (admin): create, list and revoke the practice's API keys.

The secret is shown once, in the answer to the POST, and stored nowhere (only its SHA-256);
listing shows ids, labels, roles and who created or revoked what.  Keys from ``RADAR_API_KEYS``
are the deployment's bootstrap and cannot be listed or revoked here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field

from common.auth import Role
from common.bus import BusUnavailable
from common.http import ApiError, current_principal, read_model_body, requires
from common.keys import KeyDirectory, KeyIssuer, ManagedKey, RoleName
from common.schema import DisplayName

blueprint = Blueprint("keys", __name__)

_HEX = set("0123456789abcdef")


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayName = Field(description="A label: who or what uses the key.")
    role: RoleName


def key_view(key: ManagedKey) -> dict[str, Any]:
    view = key.model_dump(mode="json", exclude={"digest", "tenant"})
    view["active"] = key.active
    return view


def _directory() -> KeyDirectory:
    directory: KeyDirectory = current_app.extensions["radar.api_keys"]
    return directory


def _issuer() -> KeyIssuer:
    issuer: KeyIssuer = current_app.extensions["radar.key_issuer"]
    return issuer


def _unavailable() -> ApiError:
    return ApiError(503, "bus_unavailable", "the key table on Kafka is unavailable; retry shortly")


@blueprint.get("/v1/keys")
@requires(Role.admin)
def list_keys() -> Response:
    try:
        keys = _directory().keys_of(current_principal().tenant)
    except BusUnavailable:
        raise _unavailable() from None
    return jsonify({"items": [key_view(k) for k in keys]})


@blueprint.post("/v1/keys")
@requires(Role.admin)
def create_key() -> tuple[Response, int]:
    body = read_model_body(KeyIn)
    principal = current_principal()
    try:
        key, secret = _issuer().create(principal.tenant, body.role, body.name, principal.key_id)
    except BusUnavailable:
        raise _unavailable() from None
    return jsonify({**key_view(key), "key": secret}), 201


@blueprint.delete("/v1/keys/<key_id>")
@requires(Role.admin)
def revoke_key(key_id: str) -> Response:
    if len(key_id) != 12 or not set(key_id) <= _HEX:
        raise ApiError(400, "invalid_id", "a key id is 12 lower-case hexadecimal characters")
    principal = current_principal()
    try:
        key = _directory().get(principal.tenant, key_id)
        if key is None:
            raise ApiError(404, "not_found", "no managed key with this id for this practice")
        revoked = _issuer().revoke(key, principal.key_id)
    except BusUnavailable:
        raise _unavailable() from None
    return jsonify(key_view(revoked))
