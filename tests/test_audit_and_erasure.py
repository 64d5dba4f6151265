"""The audit trail and erasure, against the real Elasticsearch (and, end to end, the real Kafka).

Audit: every authenticated read and action leaves a record with who, what and when, and none
of them holds review text or what was typed in the search box.  Erasure: an erased mention is
gone from every store the search service owns, and nothing (a replay, a connector fetching it
again) can bring it back.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common.auth import key_fingerprint
from common.schema import Mention, MentionIn, ScoredMention, SentimentResult
from services.search.audit.recorder import AUDITED, NOT_AUDITED
from tests.conftest import ADMIN_KEY, MARKETER_KEY, OTHER_TENANT_KEY, TENANT, VIEWER_KEY, auth
from tests.test_pipeline_e2e import wait_for

PLANTED = "Zephyrine Quillfeather"  # a name planted in review text and in a search box; never in audit


def scored(text: str, external_id: str, label: str = "positive") -> ScoredMention:
    published = datetime.now(UTC) - timedelta(days=1)
    submitted = MentionIn(source="google", external_id=external_id, text=text, rating=5, published_at=published)
    mention = Mention.from_submission(submitted, tenant=TENANT, now=published)
    return ScoredMention(
        **mention.model_dump(),
        sentiment=SentimentResult(
            label=label,  # type: ignore[arg-type]
            probabilities={"negative": 0.02, "neutral": 0.03, "positive": 0.95},
            stars=5,
            topics=["technologist"],
            aspects={"staff": 4.9},
            model="fixture",
            model_version="0",
        ),
        scored_at=published,
    )


def audit(client, key: str = ADMIN_KEY, **params):  # type: ignore[no-untyped-def]
    client.application.extensions["radar.audit"].engine.refresh(client.application.extensions["radar.audit"].alias)
    response = client.get("/v1/audit", query_string=params, headers=auth(key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def raw_audit_documents(client) -> str:  # type: ignore[no-untyped-def]
    log = client.application.extensions["radar.audit"]
    log.engine.refresh(log.alias)
    hits = log.engine.search(log.alias, {"query": {"match_all": {}}, "size": 1000})["hits"]["hits"]
    return json.dumps([h["_source"] for h in hits])


# --- audit ---------------------------------------------------------------------------------------------


def test_every_authenticated_endpoint_is_audited_or_deliberately_not(search_client) -> None:  # type: ignore[no-untyped-def]
    public = {"search.healthz", "search.readyz", "static", "openapi.openapi_json"}
    for rule in search_client.application.url_map.iter_rules():
        endpoint = rule.endpoint
        if endpoint in public or endpoint.startswith(("dashboard.", "testimonials_public.", "metrics.")):
            continue
        assert endpoint in AUDITED or endpoint in NOT_AUDITED, f"{endpoint} is neither audited nor exempt"


def test_a_search_is_recorded_without_what_was_typed(search_client, store) -> None:  # type: ignore[no-untyped-def]
    store.upsert([scored(f"{PLANTED} was a wonderful technologist, calm and kind.", "audit-" + uuid.uuid4().hex)])
    store.refresh()
    response = search_client.get(
        "/v1/mentions", query_string={"q": PLANTED, "sentiment": "positive", "size": 5}, headers=auth(MARKETER_KEY)
    )
    assert response.status_code == 200 and response.get_json()["total"] >= 1  # the text was found...
    records = audit(search_client, action="mentions.search", actor=key_fingerprint(MARKETER_KEY))["items"]
    latest = records[0]
    assert latest["role"] == "marketer" and latest["status"] == 200 and latest["route"] == "/v1/mentions"
    assert latest["parameters"] == {"q": ["(given)"], "sentiment": ["positive"], "size": ["5"]}
    assert latest["request_id"]
    # ...but neither the query nor the review text is anywhere in the audit index.
    raw = raw_audit_documents(search_client)
    assert "Zephyrine" not in raw and "technologist, calm" not in raw


def test_curation_actions_and_refused_attempts_are_recorded(search_client, store) -> None:  # type: ignore[no-untyped-def]
    mention = scored("The technologist explained every step of my MRI and the staff were lovely.", uuid.uuid4().hex)
    store.upsert([mention])
    store.refresh()
    path = f"/v1/testimonials/{mention.id}/decision"
    refused = search_client.post(path, json={"decision": "approve"}, headers=auth(VIEWER_KEY))
    assert refused.status_code == 403
    approved = search_client.post(path, json={"decision": "approve"}, headers=auth(MARKETER_KEY))
    assert approved.status_code == 201, approved.get_json()
    records = audit(search_client, target=mention.id)["items"]
    assert [(r["action"], r["status"], r["role"], r["detail"]) for r in records] == [
        ("testimonials.decide", 201, "marketer", {"decision": "approve"}),
        ("testimonials.decide", 403, "viewer", {"decision": "approve"}),
    ]
    assert all(r["targets"] == [mention.id] for r in records)


def test_only_admins_read_the_trail_of_their_own_practice(search_client) -> None:  # type: ignore[no-untyped-def]
    search_client.get("/v1/stats", headers=auth(VIEWER_KEY))
    for key in (VIEWER_KEY, MARKETER_KEY):
        assert search_client.get("/v1/audit", headers=auth(key)).status_code == 403
    mine = audit(search_client)["items"]
    assert mine and all(r["tenant"] == TENANT for r in mine)
    theirs = audit(search_client, key=OTHER_TENANT_KEY)["items"]
    assert all(r["tenant"] != TENANT for r in theirs)


def test_the_trail_pages_with_a_cursor_and_rejects_bad_ones(search_client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        search_client.get("/v1/reputation", headers=auth(VIEWER_KEY))
    first = audit(search_client, size=2)
    second = audit(search_client, size=2, cursor=first["next_cursor"])
    assert {r["id"] for r in first["items"]}.isdisjoint({r["id"] for r in second["items"]})
    for cursor in ("nonsense", "WyJ4IiwieSJd"):  # the second is ["x","y"]: valid base64 JSON, not a cursor
        bad = search_client.get("/v1/audit", query_string={"cursor": cursor}, headers=auth())
        assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_cursor"
    unknown = search_client.get("/v1/audit", query_string={"action": "mentions.shred"}, headers=auth())
    assert unknown.status_code == 400


# --- erasure -------------------------------------------------------------------------------------------


def test_an_erased_mention_is_gone_from_every_store(search_client, store) -> None:  # type: ignore[no-untyped-def]
    planted = f"Erase-me {uuid.uuid4().hex[:8]}"
    mention = scored(f"{planted}: the ultrasound technologist was gentle and explained everything.", uuid.uuid4().hex)
    store.upsert([mention])
    store.refresh()
    approved = search_client.post(
        f"/v1/testimonials/{mention.id}/decision", json={"decision": "approve"}, headers=auth(MARKETER_KEY)
    )
    assert approved.status_code == 201  # the curation record now holds a copy of the text

    assert search_client.delete(f"/v1/mentions/{mention.id}", headers=auth(MARKETER_KEY)).status_code == 403
    assert search_client.delete(f"/v1/mentions/{mention.id}", headers=auth(OTHER_TENANT_KEY)).status_code == 404
    erased = search_client.delete(f"/v1/mentions/{mention.id}", headers=auth(ADMIN_KEY))
    assert erased.status_code == 200, erased.get_json()
    assert erased.get_json()["removed_from"] == ["index", "testimonials"]

    assert search_client.get(f"/v1/mentions/{mention.id}", headers=auth()).status_code == 404
    found = search_client.get("/v1/mentions", query_string={"q": planted.split()[1]}, headers=auth()).get_json()
    assert found["total"] == 0
    assert search_client.get(f"/v1/testimonials/{mention.id}", headers=auth()).status_code == 404
    # The engine itself holds only the marker: no text, author or rating anywhere.
    raw = store.engine.get_document(store.alias, mention.id)["_source"]
    assert set(raw) == {"id", "tenant", "erased_at", "ingested_at"}
    assert planted not in json.dumps(raw)
    # A replay (the indexer re-reading Kafka, a connector fetching the review again) is stale.
    newer = mention.model_copy(update={"updated_at": datetime.now(UTC)})
    assert store.upsert([mention, newer]).stale == 2
    store.refresh()
    assert search_client.get(f"/v1/mentions/{mention.id}", headers=auth()).status_code == 404
    # Erasing again is harmless (a retry after a partial failure finishes the job); the other
    # practice still finds nothing; the audit trail names the id, not the text.
    again = search_client.delete(f"/v1/mentions/{mention.id}", headers=auth())
    assert again.status_code == 200 and again.get_json()["removed_from"] == ["index"]
    assert search_client.delete(f"/v1/mentions/{mention.id}", headers=auth(OTHER_TENANT_KEY)).status_code == 404
    assert search_client.delete(f"/v1/mentions/{'0' * 32}", headers=auth()).status_code == 404
    records = audit(search_client, action="mentions.erase", target=mention.id)["items"]
    assert [r["status"] for r in records] == [200, 200, 403]  # newest first; the other practice's tries are theirs
    assert planted not in raw_audit_documents(search_client)


def test_erasure_rejects_bad_ids(search_client) -> None:  # type: ignore[no-untyped-def]
    response = search_client.delete("/v1/mentions/not-an-id", headers=auth())
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_id"


@pytest.mark.usefixtures("pipeline")
def test_an_erased_mention_stays_erased_when_it_arrives_again_through_kafka(  # type: ignore[no-untyped-def]
    ingest_client, search_client, store, unique
) -> None:
    review = {
        "source": "google",
        "external_id": f"erase-{unique}",
        "text": "The MRI team was kind and quick, and the radiologist explained my report clearly.",
        "rating": 5,
        "published_at": "2026-11-01T10:00:00Z",
    }
    mention_id = ingest_client.post("/v1/mentions", json=review, headers=auth()).get_json()["ids"][0]

    def visible(mid: str):  # type: ignore[no-untyped-def]
        def check() -> bool:
            store.refresh()
            return search_client.get(f"/v1/mentions/{mid}", headers=auth()).status_code == 200

        return check

    wait_for(visible(mention_id))
    assert search_client.delete(f"/v1/mentions/{mention_id}", headers=auth()).status_code == 200
    # The source edits the review and it arrives again, then a later mention on the same partition.
    edited = {**review, "text": review["text"] + " Edited.", "updated_at": "2026-11-20T10:00:00Z"}
    assert ingest_client.post("/v1/mentions", json=edited, headers=auth()).status_code == 202
    later = {**review, "external_id": f"erase-later-{unique}"}
    later_id = ingest_client.post("/v1/mentions", json=later, headers=auth()).get_json()["ids"][0]
    wait_for(visible(later_id))  # same tenant key, same partition: the edit was processed before it
    time.sleep(0.5)
    store.refresh()
    assert search_client.get(f"/v1/mentions/{mention_id}", headers=auth()).status_code == 404
