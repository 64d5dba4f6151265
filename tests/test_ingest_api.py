"""Ingest API validation: every bad input gets the right status and a message naming the problem."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ADMIN_KEY, MARKETER_KEY, OTHER_TENANT, TENANT, VIEWER_KEY, auth


def review(unique: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "source": "google",
        "external_id": f"g-{unique}",
        "location": "main-street",
        "author": "J. Patient",
        "text": "Quick MRI, friendly technologist, results the next day.",
        "rating": 5,
        "published_at": "2026-10-01T09:30:00Z",
    }
    body.update(overrides)
    return body


def post(client, body: object, key: str = ADMIN_KEY, **kwargs):  # type: ignore[no-untyped-def]
    return client.post("/v1/mentions", json=body, headers=auth(key), **kwargs)


def error_of(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.is_json, response.data[:200]
    return response.get_json()["error"]


def test_single_mention_is_accepted_with_its_stable_id(ingest_client, unique: str) -> None:
    first = post(ingest_client, review(unique))
    again = post(ingest_client, review(unique, text="Edited: quick MRI, results the next day."))
    assert first.status_code == 202, first.get_json()
    assert first.get_json()["accepted"] == 1
    assert len(first.get_json()["ids"][0]) == 32
    # An edit of the same source review keeps its id: it updates the mention, it is not a new one.
    assert again.get_json()["ids"] == first.get_json()["ids"]


def test_batch_forms_and_in_batch_duplicates(ingest_client, unique: str) -> None:
    batch = [review(f"{unique}-a"), review(f"{unique}-b"), review(f"{unique}-a")]
    as_object = post(ingest_client, {"mentions": batch})
    as_list = post(ingest_client, batch)
    for response in (as_object, as_list):
        assert response.status_code == 202
        body = response.get_json()
        assert body["accepted"] == 2 and body["duplicates_in_batch"] == 1
        assert body["ids"][0] == body["ids"][2] != body["ids"][1]


def test_mentions_without_external_id_get_content_ids(ingest_client, unique: str) -> None:
    text = f"Loved the ultrasound team {unique}"
    a = post(ingest_client, review(unique, external_id=None, text=text)).get_json()["ids"][0]
    b = post(ingest_client, review(unique, external_id=None, text=f"  loved the  ULTRASOUND team {unique} ")).get_json()
    assert a == b["ids"][0], "whitespace and case changes must not make a new mention"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthenticated"),
        ({"Authorization": "Bearer not-a-real-key-at-all"}, 401, "unauthenticated"),
        (auth(VIEWER_KEY), 403, "forbidden"),
    ],
)
def test_authentication_and_roles(ingest_client, unique: str, headers: dict, status: int, code: str) -> None:
    response = ingest_client.post("/v1/mentions", json=review(unique), headers=headers)
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_marketer_may_post_and_x_api_key_header_works(ingest_client, unique: str) -> None:
    response = ingest_client.post("/v1/mentions", json=review(unique), headers={"X-API-Key": MARKETER_KEY})
    assert response.status_code == 202


def test_a_key_cannot_write_into_another_practice(ingest_client, unique: str) -> None:
    response = post(ingest_client, {"mentions": [review(unique), review(unique, tenant=OTHER_TENANT)]})
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "wrong_tenant"
    assert error["details"][0]["field"] == "mentions[1].tenant"
    assert post(ingest_client, review(unique, tenant=TENANT)).status_code == 202


def test_wrong_content_type_is_415(ingest_client, unique: str) -> None:
    response = ingest_client.post(
        "/v1/mentions", data=json.dumps(review(unique)), headers={**auth(), "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert "application/json" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"{not json", "invalid_json"), (b"", "empty_body"), (b'{"text": "\xff\xfe"}', "invalid_encoding")],
)
def test_unparseable_bodies_are_400(ingest_client, data: bytes, code: str) -> None:
    response = ingest_client.post("/v1/mentions", data=data, headers={**auth(), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["code"] == code


def test_too_many_mentions_is_413(ingest_client, settings, unique: str) -> None:
    batch = [review(f"{unique}-{i}") for i in range(settings.max_batch_items + 1)]
    response = post(ingest_client, batch)
    assert response.status_code == 413
    assert str(settings.max_batch_items) in error_of(response)["message"]


def test_oversized_body_is_413(ingest_client, settings, unique: str) -> None:
    response = post(ingest_client, review(unique, text="x" * (settings.max_body_bytes + 10)))
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_entity_too_large"


def test_every_bad_field_is_named_and_nothing_is_accepted(ingest_client, unique: str) -> None:
    batch = [
        review(f"{unique}-ok"),
        review(f"{unique}-1", rating=6),
        review(f"{unique}-2", source=None),
        review(f"{unique}-3", published_at="2026-10-01 09:30"),  # no time zone
        review(f"{unique}-4", url="not a url"),
        review(f"{unique}-5", text="", rating=None),
        review(f"{unique}-6", colour="blue"),
        review(f"{unique}-7", kind="rumour"),
        review(f"{unique}-8", text="bad \x00 byte"),
        review(f"{unique}-9", location="Main Street!"),
    ]
    response = post(ingest_client, batch)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_failed"
    fields = {d["field"] for d in error["details"]}
    assert {
        "mentions[1].rating",
        "mentions[2].source",
        "mentions[3].published_at",
        "mentions[4].url",
        "mentions[5]",
        "mentions[6].colour",
        "mentions[7].kind",
        "mentions[8].text",
        "mentions[9].location",
    } <= fields
    assert not any(f.startswith("mentions[0]") for f in fields)
    # Values are never echoed back (they may be health information).
    assert "bad \x00 byte" not in response.get_data(as_text=True)


def test_text_longer_than_the_limit_is_422(ingest_client, settings, unique: str) -> None:
    from services.ingest.app import create_app

    small = settings.model_copy(update={"max_text_chars": 20})
    client = create_app(small, bus=ingest_client.application.extensions["radar.bus"]).test_client()
    response = post(client, review(unique, text="This review is longer than twenty characters."))
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "text"


def test_non_object_payloads_are_422(ingest_client) -> None:
    for body in (42, "text", {"mentions": "nope"}, []):
        response = post(ingest_client, body)
        assert response.status_code == 422, body
        assert error_of(response)["message"]


def test_unknown_paths_and_methods_answer_json(ingest_client) -> None:
    missing = ingest_client.get("/v1/nothing-here")
    wrong_method = ingest_client.get("/v1/mentions", headers=auth())
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    assert wrong_method.status_code == 405 and error_of(wrong_method)["code"] == "method_not_allowed"


def test_health_and_readiness(ingest_client) -> None:
    assert ingest_client.get("/healthz").get_json() == {"status": "ok"}
    ready = ingest_client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["kafka"] == "ok"


def test_deeply_nested_json_is_a_400_not_a_crash(ingest_client) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import auth

    response = ingest_client.post("/v1/mentions", data=b"[" * 100_000, content_type="application/json", headers=auth())
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json"
