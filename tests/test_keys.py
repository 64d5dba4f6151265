"""API keys managed through ``/v1/keys``: created once, accepted by every service, revocable.

The key table is the real compacted Kafka topic; each service (ingest, search, sentiment) reads
it on its own, as separate processes would.
"""

from __future__ import annotations

import pytest

from common.auth import ApiKeyRegistry
from common.keys import KeyDirectory
from tests.conftest import ADMIN_KEY, MARKETER_KEY, OTHER_TENANT_KEY, TENANT, VIEWER_KEY, auth
from tests.test_pipeline_e2e import wait_for


@pytest.fixture(scope="module")
def sentiment_client(settings, model, tagger, bus):  # type: ignore[no-untyped-def]
    from services.sentiment.app import create_app

    return create_app(settings, model=model, tagger=tagger, bus=bus).test_client()


def create(search_client, name: str = "front desk tablet", role: str = "marketer", key: str = ADMIN_KEY):  # type: ignore[no-untyped-def]
    return search_client.post("/v1/keys", json={"name": name, "role": role}, headers=auth(key))


def test_a_new_key_works_at_once_on_every_service(search_client, ingest_client, sentiment_client, unique) -> None:  # type: ignore[no-untyped-def]
    response = create(search_client, name=f"kiosk {unique}")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    secret = body["key"]
    assert secret.startswith("rdr_") and len(secret) > 40
    assert body["role"] == "marketer" and body["active"] and "digest" not in body and "tenant" not in body

    assert search_client.get("/v1/me", headers=auth(secret)).get_json() == {"tenant": TENANT, "role": "marketer"}
    posted = ingest_client.post(
        "/v1/mentions",
        json={"source": "google", "text": f"Quick and kind staff {unique}", "rating": 5},
        headers=auth(secret),
    )
    assert posted.status_code == 202, posted.get_json()
    analysed = sentiment_client.post("/v1/analyze", json={"texts": ["Friendly technologist."]}, headers=auth(secret))
    assert analysed.status_code == 200, analysed.get_json()


def test_keys_are_listed_without_secrets_per_practice(search_client, unique) -> None:  # type: ignore[no-untyped-def]
    created = create(search_client, name=f"reporting {unique}", role="viewer").get_json()
    listed = search_client.get("/v1/keys", headers=auth()).get_json()["items"]
    mine = next(k for k in listed if k["key_id"] == created["key_id"])
    assert mine["name"] == f"reporting {unique}" and mine["role"] == "viewer"
    assert "key" not in mine and "digest" not in mine
    theirs = search_client.get("/v1/keys", headers=auth(OTHER_TENANT_KEY)).get_json()["items"]
    assert created["key_id"] not in {k["key_id"] for k in theirs}


def test_only_admins_manage_keys(search_client) -> None:  # type: ignore[no-untyped-def]
    for key in (MARKETER_KEY, VIEWER_KEY):
        assert create(search_client, key=key).status_code == 403
        assert search_client.get("/v1/keys", headers=auth(key)).status_code == 403
    assert search_client.post("/v1/keys", json={"name": "x", "role": "viewer"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "x", "role": "owner"}, "role"), ({"role": "viewer"}, "name"), ({"name": "", "role": "viewer"}, "name")],
)
def test_invalid_key_requests_get_422(search_client, body, field) -> None:  # type: ignore[no-untyped-def]
    response = search_client.post("/v1/keys", json=body, headers=auth())
    assert response.status_code == 422
    assert field in [d["field"] for d in response.get_json()["error"]["details"]]


def test_a_revoked_key_is_refused_everywhere(search_client, ingest_client, unique) -> None:  # type: ignore[no-untyped-def]
    created = create(search_client, name=f"temp {unique}").get_json()
    secret, key_id = created["key"], created["key_id"]
    mention = {"source": "google", "text": f"Friendly and quick {unique}", "rating": 5}
    assert ingest_client.post("/v1/mentions", json=mention, headers=auth(secret)).status_code == 202

    assert search_client.delete(f"/v1/keys/{key_id}", headers=auth(OTHER_TENANT_KEY)).status_code == 404
    revoked = search_client.delete(f"/v1/keys/{key_id}", headers=auth())
    assert revoked.status_code == 200 and revoked.get_json()["active"] is False
    assert revoked.get_json()["revoked_by"]
    assert search_client.get("/v1/me", headers=auth(secret)).status_code == 401
    # The ingest service learns of it within its refresh interval (5 s by default).
    wait_for(lambda: ingest_client.post("/v1/mentions", json=mention, headers=auth(secret)).status_code == 401, 15)
    listed = search_client.get("/v1/keys", headers=auth()).get_json()["items"]
    assert next(k for k in listed if k["key_id"] == key_id)["active"] is False


def test_key_creation_is_audited_by_id_never_by_secret(search_client) -> None:  # type: ignore[no-untyped-def]
    created = create(search_client, name="audited").get_json()
    log = search_client.application.extensions["radar.audit"]
    log.engine.refresh(log.alias)
    records = search_client.get(
        "/v1/audit", query_string={"action": "keys.create", "target": created["key_id"]}, headers=auth()
    ).get_json()["items"]
    assert len(records) == 1 and records[0]["status"] == 201
    assert created["key"] not in str(records)


def test_revoking_checks_the_id(search_client) -> None:  # type: ignore[no-untyped-def]
    assert search_client.delete("/v1/keys/nothex", headers=auth()).status_code == 400
    assert search_client.delete("/v1/keys/0123456789ab", headers=auth()).status_code == 404


def test_keys_survive_in_the_topic_for_a_new_process(search_client, settings, bus) -> None:  # type: ignore[no-untyped-def]
    secret = create(search_client, name="survivor").get_json()["key"]
    fresh = KeyDirectory(ApiKeyRegistry.parse(""), bus, settings.topics.api_keys)
    principal = fresh.authenticate(secret)
    assert principal is not None and principal.tenant == TENANT and principal.role.name == "marketer"
    assert fresh.authenticate("rdr_not-a-key-at-all-" + "x" * 30) is None
