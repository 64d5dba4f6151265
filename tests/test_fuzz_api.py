"""Property-based fuzzing of every documented operation (schemathesis over /openapi.json).

Inputs are generated from the OpenAPI documents, valid and invalid alike; whatever arrives, the
services must answer with a documented status and body, and never with a 5xx.
"""

from __future__ import annotations

import hypothesis
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.conftest import auth

SETTINGS = hypothesis.settings(
    max_examples=30, deadline=None, suppress_health_check=list(hypothesis.HealthCheck), derandomize=True
)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def fuzz(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Run every operation of ``app``'s document; return the operations exercised."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    exercised = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @SETTINGS
        @hypothesis.given(case=operation.as_strategy())
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=auth(), checks=CHECKS)

        check()
        exercised.append(operation.label)
    return exercised


def test_search_api_answers_only_documented_statuses(search_client) -> None:  # type: ignore[no-untyped-def]
    assert "GET /v1/mentions" in fuzz(search_client.application)


def test_ingest_api_answers_only_documented_statuses(ingest_client) -> None:  # type: ignore[no-untyped-def]
    assert "POST /v1/mentions" in fuzz(ingest_client.application)
