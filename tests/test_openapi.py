"""The OpenAPI documents: valid, complete, and true to what the services answer.

Each service serves ``/openapi.json``.  These tests check that each document is valid OpenAPI
3.1, that it describes exactly the Flask routes of its app (paths and methods, both ways), that
every authenticated operation answers 401 without a key, and that real responses (successes and
errors) validate against the documented schemas.  All against the real apps, Kafka, engine and
model.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from common.schema import Mention, MentionIn, ScoredMention, SentimentResult
from tests.conftest import MARKETER_KEY, TENANT, VIEWER_KEY, auth

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
SERVICES = ["ingest", "sentiment", "search"]


@pytest.fixture(scope="module")
def sentiment_client(settings, model, tagger):  # type: ignore[no-untyped-def]
    from services.sentiment.app import create_app

    return create_app(settings, model=model, tagger=tagger).test_client()


@pytest.fixture
def client(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The test client of the service named by the test's ``service`` parameter."""
    return request.getfixturevalue(f"{request.node.callspec.params['service']}_client")


def document(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get("/openapi.json")
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def response_schema(doc: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    schema: dict[str, Any] = responses[str(status)]["content"]["application/json"]["schema"]
    return schema


def schema_errors(doc: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    """Problems of ``instance`` against ``schema``, resolving ``#/components/...`` in ``doc``."""
    root = {**schema, "components": doc["components"]}
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def assert_matches(doc: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    errors = schema_errors(doc, schema, instance)
    assert not errors, "\n".join(errors)


def assert_response(doc: dict[str, Any], path: str, method: str, response, status: int) -> Any:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert_matches(doc, response_schema(doc, path, method, status), body)
    return body


def flask_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


# --- the documents themselves ------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_document_is_valid_openapi_and_public(client, service: str) -> None:  # type: ignore[no-untyped-def]
    doc = document(client)  # no API key
    validate_spec(doc)
    assert doc["openapi"].startswith("3.1")
    schemes = doc["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    assert any(s.get("name") == "X-API-Key" and s.get("in") == "header" for s in schemes.values())
    assert "Error" in doc["components"]["schemas"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_is_documented_and_every_documented_path_exists(client, service: str) -> None:  # type: ignore[no-untyped-def]
    doc = document(client)
    routes: dict[str, set[str]] = {}
    for rule in client.application.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith(("dashboard.", "metrics.")):
            continue  # the dashboard's HTML pages and Prometheus' /metrics are not API
        methods = {m.lower() for m in (rule.methods or set())} - {"head", "options"}
        routes.setdefault(flask_path(rule.rule), set()).update(methods)
    documented = {path: {m for m in item if m in HTTP_METHODS} for path, item in doc["paths"].items()}
    assert documented == routes
    for path, item in doc["paths"].items():
        for method in documented[path]:
            declared = {p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{([^}]+)}", path)), f"{method.upper()} {path}"


@pytest.mark.parametrize("service", SERVICES)
def test_operations_document_roles_and_their_errors(client, service: str) -> None:  # type: ignore[no-untyped-def]
    doc = document(client)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            statuses = set(op["responses"])
            if op["security"]:
                assert op["x-required-role"] in {"viewer", "marketer", "admin"}
                assert {"401", "500"} <= statuses, f"{method.upper()} {path}"
                assert ("403" in statuses) == (op["x-required-role"] != "viewer"), f"{method.upper()} {path}"
            else:
                # Besides probes and the public feed, only a webhook with its own shared token (Pub/Sub
                # cannot send an API key) goes without one; it must document its 401.
                webhook = path == "/v1/sources/google/push" and "401" in statuses
                assert path in {"/healthz", "/readyz", "/openapi.json"} or path.startswith("/public/") or webhook
            if "requestBody" in op:
                assert {"400", "413", "415", "422"} <= statuses, f"{method.upper()} {path}"
            error_ref = {"$ref": "#/components/schemas/Error"}
            for status, response in op["responses"].items():
                if int(status) >= 400 and path != "/readyz":  # a readiness probe answers its own body
                    assert response["content"]["application/json"]["schema"] == error_ref, f"{path} {status}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_a_documented_status_and_401_without_a_key(client, service: str) -> None:  # type: ignore[no-untyped-def]
    doc = document(client)
    for path, item in doc["paths"].items():
        url = path.replace("{mention_id}", "0" * 32)
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            response = client.open(url, method=method.upper())
            assert str(response.status_code) in op["responses"], f"{method.upper()} {path}: {response.status_code}"
            if op["security"]:
                assert_response(doc, path, method, response, 401)
            elif response.mimetype == "application/json":
                assert_response(doc, path, method, response, response.status_code)


def test_unknown_paths_and_methods_answer_the_error_schema(ingest_client) -> None:  # type: ignore[no-untyped-def]
    doc = document(ingest_client)
    error = {"$ref": "#/components/schemas/Error"}
    for response, status in ((ingest_client.get("/v1/nothing"), 404), (ingest_client.get("/v1/mentions"), 405)):
        assert response.status_code == status
        assert_matches(doc, error, response.get_json())


# --- ingest ------------------------------------------------------------------------------------


def test_ingest_responses_match_the_document(ingest_client, settings) -> None:  # type: ignore[no-untyped-def]
    doc = document(ingest_client)
    op = doc["paths"]["/v1/mentions"]["post"]
    body_schema = op["requestBody"]["content"]["application/json"]["schema"]
    unique = uuid.uuid4().hex[:10]
    mention = {"source": "google", "external_id": f"oa-{unique}", "rating": 4, "text": "Quick and kind."}
    payloads = [mention, [mention], {"mentions": [mention, mention]}]
    for payload in payloads:
        assert_matches(doc, body_schema, payload)  # the three documented body forms
        response = ingest_client.post("/v1/mentions", json=payload, headers=auth(MARKETER_KEY))
        accepted = assert_response(doc, "/v1/mentions", "post", response, 202)
        assert accepted["ids"] and accepted["accepted"] == 1
    too_many = {"mentions": [mention] * (settings.max_batch_items + 1)}
    assert schema_errors(doc, body_schema, too_many)  # the documented maxItems is the configured limit

    bad = {"mentions": [mention, {"source": "google", "rating": 9}]}
    invalid = assert_response(
        doc, "/v1/mentions", "post", ingest_client.post("/v1/mentions", json=bad, headers=auth(MARKETER_KEY)), 422
    )
    assert invalid["error"]["details"]
    unauthenticated = ingest_client.post("/v1/mentions", json=mention, headers={"X-API-Key": "no-such-key-" + unique})
    assert_response(doc, "/v1/mentions", "post", unauthenticated, 401)
    forbidden = ingest_client.post("/v1/mentions", json=mention, headers=auth(VIEWER_KEY))
    assert_response(doc, "/v1/mentions", "post", forbidden, 403)
    wrong_type = ingest_client.post(
        "/v1/mentions", data="{}", headers={**auth(MARKETER_KEY), "Content-Type": "text/plain"}
    )
    assert_response(doc, "/v1/mentions", "post", wrong_type, 415)
    unparseable = ingest_client.post(
        "/v1/mentions", data=b"{", headers={**auth(MARKETER_KEY), "Content-Type": "application/json"}
    )
    assert_response(doc, "/v1/mentions", "post", unparseable, 400)
    oversized = ingest_client.post("/v1/mentions", json=too_many, headers=auth(MARKETER_KEY))
    assert_response(doc, "/v1/mentions", "post", oversized, 413)
    assert_response(doc, "/readyz", "get", ingest_client.get("/readyz"), 200)
    assert_response(doc, "/healthz", "get", ingest_client.get("/healthz"), 200)


# --- search ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def indexed_mention(store) -> ScoredMention:  # type: ignore[no-untyped-def]
    """One scored mention of the test tenant, written through the store (the indexer's path)."""
    now = datetime.now(UTC)
    submitted = MentionIn(
        source="google",
        location="main-street",
        external_id="openapi-" + uuid.uuid4().hex[:10],
        text="The technologist explained the MRI and the report arrived the same day.",
        rating=5,
        published_at=now - timedelta(days=2),
    )
    mention = Mention.from_submission(submitted, tenant=TENANT, now=now)
    scored = ScoredMention(
        **mention.model_dump(),
        sentiment=SentimentResult(
            label="positive",
            probabilities={"negative": 0.05, "neutral": 0.1, "positive": 0.85},
            stars=4.6,
            topics=["technologist"],
            topic_scores={"technologist": 0.7},
            model="fixture",
            model_version="0",  # type: ignore[arg-type]
        ),
        scored_at=now,
    )
    report = store.upsert([scored])
    assert report.written == 1 and not report.failed
    store.refresh()
    return scored


def test_search_responses_match_the_document(search_client, indexed_mention: ScoredMention) -> None:  # type: ignore[no-untyped-def]
    doc = document(search_client)
    headers = auth(VIEWER_KEY)

    def get(path: str, **params: Any):  # type: ignore[no-untyped-def]
        return search_client.get(path, query_string=params, headers=headers)

    page = assert_response(doc, "/v1/mentions", "get", get("/v1/mentions", q="technologist", source="google"), 200)
    assert indexed_mention.id in {item["id"] for item in page["items"]}
    assert_response(doc, "/v1/mentions", "get", get("/v1/mentions", sentiment="negative,neutral", size=100), 200)
    empty = assert_response(doc, "/v1/mentions", "get", get("/v1/mentions", q="zzqx-" + uuid.uuid4().hex), 200)
    assert empty["items"] == [] and empty["next_cursor"] is None
    assert_response(doc, "/v1/mentions", "get", get("/v1/mentions", size=0), 400)
    assert_response(doc, "/v1/mentions", "get", get("/v1/mentions", cursor="not-a-cursor"), 400)

    one = assert_response(doc, "/v1/mentions/{mention_id}", "get", get(f"/v1/mentions/{indexed_mention.id}"), 200)
    assert one["id"] == indexed_mention.id
    assert_response(doc, "/v1/mentions/{mention_id}", "get", get("/v1/mentions/" + "f" * 32), 404)
    assert_response(doc, "/v1/mentions/{mention_id}", "get", get("/v1/mentions/NOT-AN-ID"), 400)

    stats = assert_response(
        doc, "/v1/stats", "get", get("/v1/stats", interval="week", time_zone="America/Chicago"), 200
    )
    assert stats["total"] >= 1 and stats["histogram"]
    assert_response(doc, "/v1/stats", "get", get("/v1/stats", time_zone="Mars/Olympus"), 400)
    assert_response(doc, "/v1/topics/negative", "get", get("/v1/topics/negative", days=30), 200)
    assert_response(doc, "/v1/reputation", "get", get("/v1/reputation", by="location"), 200)
    assert_response(doc, "/readyz", "get", search_client.get("/readyz"), 200)

    export = get("/v1/mentions/export.csv", q="technologist", limit=10)
    assert export.status_code == 200
    assert export.mimetype in doc["paths"]["/v1/mentions/export.csv"]["get"]["responses"]["200"]["content"]
    assert_response(doc, "/v1/mentions/export.csv", "get", get("/v1/mentions/export.csv", limit=0), 400)


def test_query_parameters_follow_the_query_models(search_client) -> None:  # type: ignore[no-untyped-def]
    from services.search.store.base import ExportRequest, SearchRequest, StatsRequest

    doc = document(search_client)
    for path, model in (("/v1/mentions", SearchRequest), ("/v1/stats", StatsRequest)):
        params = {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}
        assert set(params) == set(model.model_fields)
        assert params["source"]["schema"]["type"] == "array"
        assert params["source"]["style"] == "form" and params["source"]["explode"] is True
        assert "comma" in params["source"]["description"]
        assert params["sentiment"]["schema"]["items"]["enum"] == ["negative", "neutral", "positive"]
        assert params["rating_min"]["schema"] == {"minimum": 1, "maximum": 5, "type": "number"}
    export = {p["name"]: p for p in doc["paths"]["/v1/mentions/export.csv"]["get"]["parameters"]}
    assert set(export) == set(ExportRequest.model_fields)
    assert export["limit"]["schema"] == {"default": 10_000, "minimum": 1, "maximum": 100_000, "type": "integer"}
    search = {p["name"]: p for p in doc["paths"]["/v1/mentions"]["get"]["parameters"]}
    assert search["size"]["schema"]["maximum"] == 100


# --- sentiment ---------------------------------------------------------------------------------


def test_analyze_responses_match_the_document(sentiment_client) -> None:  # type: ignore[no-untyped-def]
    doc = document(sentiment_client)
    texts = [
        "Rude receptionist, two hour wait, and they lost my referral. Never again.",
        "",
        "La recepcionista fue muy grosera y esperé dos horas para mi resonancia magnética.",
    ]
    request_schema = doc["paths"]["/v1/analyze"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert_matches(doc, request_schema, {"texts": texts})
    response = sentiment_client.post("/v1/analyze", json={"texts": texts}, headers=auth(VIEWER_KEY))
    body = assert_response(doc, "/v1/analyze", "post", response, 200)
    assert [r["sentiment"] is None for r in body["results"]] == [False, True, True]

    invalid = sentiment_client.post("/v1/analyze", json={"texts": []}, headers=auth(VIEWER_KEY))
    assert_response(doc, "/v1/analyze", "post", invalid, 422)
    too_many = sentiment_client.post("/v1/analyze", json={"texts": ["fine"] * 65}, headers=auth(VIEWER_KEY))
    assert_response(doc, "/v1/analyze", "post", too_many, 413)
    assert_response(doc, "/v1/analyze", "post", sentiment_client.post("/v1/analyze", json={"texts": ["x"]}), 401)
    assert_response(doc, "/readyz", "get", sentiment_client.get("/readyz"), 200)
