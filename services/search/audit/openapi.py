"""OpenAPI description of the audit trail endpoint."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import JsonSchemaMode

from common.auth import Role
from common.openapi import Components, json_response, operation, query_parameters
from services.search.audit.models import AuditPage, AuditQuery

AUDIT_TAGS = [{"name": "audit", "description": "Who did what with the practice's data (append-only)."}]


def audit_models() -> list[tuple[Any, JsonSchemaMode]]:
    return [(AuditPage, "serialization")]


def audit_paths(components: Components) -> dict[str, Any]:
    return {
        "/v1/audit": {
            "get": operation(
                components,
                operation_id="listAudit",
                summary="The audit trail",
                tags=["audit"],
                role=Role.admin,
                description=(
                    "Every search, export, read of a mention, statistics read, curation action, authorisation "
                    "record and revocation, profile change and erasure, newest first: who (the key's fingerprint), "
                    "when, what (route, ids, enumerated parameters; free text never) and the answer's status. "
                    "Records are never changed or deleted and are kept at least six years."
                ),
                parameters=query_parameters(AuditQuery),
                responses={
                    200: json_response("One page of records.", components.ref(AuditPage)),
                    400: "Invalid query parameters or cursor (codes `invalid_query`, `invalid_cursor`).",
                    503: "The search engine is unavailable (code `search_unavailable`); retry shortly.",
                },
            )
        }
    }
