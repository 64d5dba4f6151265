"""OpenAPI description of ``/v1/keys``."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode

from common.auth import Role
from common.keys import RoleName
from common.openapi import BODY_ERRORS, Components, json_body, json_response, operation, path_parameter
from services.search.keys.api import KeyIn

KEY_TAGS = [{"name": "keys", "description": "The practice's API keys (admins)."}]


class KeyView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_id: str = Field(description="The key's fingerprint: the first 12 hex digits of its SHA-256.")
    role: RoleName
    name: str
    created_at: AwareDatetime
    created_by: str = Field(description="Fingerprint of the admin key that created it.")
    revoked_at: AwareDatetime | None
    revoked_by: str | None
    active: bool


class NewKey(KeyView):
    key: str = Field(description="The secret: shown once, stored nowhere.")


class KeyList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[KeyView] = Field(description="Newest first, revoked keys included.")


def key_models() -> list[tuple[Any, JsonSchemaMode]]:
    return [(KeyList, "serialization"), (NewKey, "serialization"), (KeyView, "serialization"), (KeyIn, "validation")]


def key_paths(components: Components) -> dict[str, Any]:
    unavailable = "The key table on Kafka is unavailable (code `bus_unavailable`); retry shortly."
    return {
        "/v1/keys": {
            "get": operation(
                components,
                operation_id="listKeys",
                summary="The practice's managed API keys",
                tags=["keys"],
                role=Role.admin,
                description="Keys created through this API (the deployment's `RADAR_API_KEYS` are not listed).",
                responses={200: json_response("The keys.", components.ref(KeyList)), 503: unavailable},
            ),
            "post": operation(
                components,
                operation_id="createKey",
                summary="Create an API key",
                tags=["keys"],
                role=Role.admin,
                description="A key for this practice with the given role. The secret is in this answer only; every "
                "service accepts it at once.",
                request_body=json_body(components, KeyIn),
                responses={
                    201: json_response("The key and its secret.", components.ref(NewKey)),
                    **BODY_ERRORS,
                    503: unavailable,
                },
            ),
        },
        "/v1/keys/{key_id}": {
            "delete": operation(
                components,
                operation_id="revokeKey",
                summary="Revoke an API key",
                tags=["keys"],
                role=Role.admin,
                description="Every service refuses the key within `RADAR_API_KEYS_REFRESH_S` seconds (5 by default). "
                "The record stays, marked revoked.",
                parameters=[path_parameter("key_id", {"type": "string", "pattern": "^[0-9a-f]{12}$"}, "The key id.")],
                responses={
                    200: json_response("The revoked key.", components.ref(KeyView)),
                    400: "Not a key id (code `invalid_id`).",
                    404: "No managed key with this id for this practice (code `not_found`).",
                    503: unavailable,
                },
            )
        },
    }
