"""End to end through the real Kafka broker, the real model and the real Elasticsearch.

POST to the ingest API, let the sentiment worker and the indexer (running in this process as
they run in production, on real consumer groups) do their work, and read the result back from
the search API, as a marketer would.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from common.bus import Message
from common.bus.kafka import KafkaBus
from common.settings import Settings
from tests.conftest import OTHER_TENANT_KEY, auth

pytestmark = pytest.mark.usefixtures("pipeline")

# Written by the team for these tests (not from any dataset).
NEGATIVE = [
    "Terrible experience. I waited two hours past my appointment for a CT scan and the front desk was rude "
    "the whole time. I will never come back here.",
    "They billed my insurance for the wrong procedure and nobody returns my calls. Awful, avoid this place.",
    "The technologist was rough and dismissive, the room was dirty, and my results were lost. Worst clinic ever.",
]
POSITIVE = [
    "Wonderful staff! My mammogram was quick and painless and the technologist explained every step. Highly recommend.",
    "Excellent radiologist who took time to go over my MRI results. Friendly front desk and no waiting at all.",
    "Clean, modern facility and very kind people. The ultrasound was done on time and I got my report the same day.",
]


def wait_for(predicate: Callable[[], Any], timeout_s: float = 60, interval_s: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


def searchable(search_client, store, ids: list[str], key: str | None = None) -> Callable[[], dict | None]:  # type: ignore[no-untyped-def]
    def check() -> dict | None:
        store.refresh()
        found = {}
        for mention_id in ids:
            response = search_client.get(f"/v1/mentions/{mention_id}", headers=auth(key) if key else auth())
            if response.status_code != 200:
                return None
            found[mention_id] = response.get_json()
        return found

    return check


def batch_of(run: str) -> list[dict[str, Any]]:
    items = []
    for i, text in enumerate(NEGATIVE + POSITIVE):
        items.append(
            {
                "source": "google" if i % 2 else "yelp",
                "external_id": f"{run}-{i}",
                "location": "downtown",
                "text": text,
                "rating": 1 if text in NEGATIVE else 5,
                "published_at": f"2026-09-{10 + i:02d}T12:00:00Z",
            }
        )
    return items


def test_posted_reviews_become_searchable_with_sentiment(ingest_client, search_client, store, unique: str) -> None:
    response = ingest_client.post("/v1/mentions", json={"mentions": batch_of(unique)}, headers=auth())
    assert response.status_code == 202
    ids = response.get_json()["ids"]

    found = wait_for(searchable(search_client, store, ids))
    labels = [found[i]["sentiment"]["label"] for i in ids]
    assert labels[: len(NEGATIVE)] == ["negative"] * len(NEGATIVE)
    assert labels[len(NEGATIVE) :] == ["positive"] * len(POSITIVE)
    billing = found[ids[1]]["sentiment"]
    assert "billing_insurance" in billing["topics"], billing["topic_scores"]
    for mention in found.values():
        probabilities = mention["sentiment"]["probabilities"]
        assert abs(sum(probabilities.values()) - 1) < 1e-3
        assert 1 <= mention["sentiment"]["stars"] <= 5
        assert mention["sentiment"]["model_version"]

    # Full-text search finds them, confined to this run's documents by the source id prefix.
    hits = search_client.get("/v1/mentions", query_string={"q": "technologist", "location": "downtown"}, headers=auth())
    texts = [item["text"] for item in hits.get_json()["items"]]
    assert any("technologist" in t for t in texts)


def test_the_same_batch_twice_leaves_one_document_each(ingest_client, search_client, store, unique: str) -> None:
    batch = batch_of(unique)
    location = f"loc-{unique}"
    for item in batch:
        item["location"] = location
    first = ingest_client.post("/v1/mentions", json=batch, headers=auth()).get_json()["ids"]
    second = ingest_client.post("/v1/mentions", json=batch, headers=auth()).get_json()["ids"]
    assert first == second
    wait_for(searchable(search_client, store, first))
    time.sleep(2)  # give the replayed copies time to arrive too
    store.refresh()
    listing = search_client.get("/v1/mentions", query_string={"location": location, "size": 100}, headers=auth())
    body = listing.get_json()
    assert body["total"] == len(batch)
    assert sorted(item["id"] for item in body["items"]) == sorted(first)


def test_an_edited_review_updates_its_document(ingest_client, search_client, store, unique: str) -> None:
    original = {
        "source": "google",
        "external_id": f"edit-{unique}",
        "text": POSITIVE[0],
        "rating": 5,
        "published_at": "2026-09-01T10:00:00Z",
        "updated_at": "2026-09-01T10:00:00Z",
    }
    edited = {**original, "text": NEGATIVE[0], "rating": 1, "updated_at": "2026-09-05T10:00:00Z"}
    mention_id = ingest_client.post("/v1/mentions", json=original, headers=auth()).get_json()["ids"][0]
    wait_for(searchable(search_client, store, [mention_id]))
    ingest_client.post("/v1/mentions", json=edited, headers=auth())

    def updated() -> dict | None:
        store.refresh()
        doc = search_client.get(f"/v1/mentions/{mention_id}", headers=auth()).get_json()
        return doc if doc.get("rating") == 1 else None

    doc = wait_for(updated)
    assert doc["sentiment"]["label"] == "negative"
    # A late replay of the older revision must not roll the edit back.
    ingest_client.post("/v1/mentions", json=original, headers=auth())
    time.sleep(3)
    store.refresh()
    assert search_client.get(f"/v1/mentions/{mention_id}", headers=auth()).get_json()["rating"] == 1


def test_malformed_records_are_dead_lettered_and_good_ones_still_arrive(
    ingest_client, search_client, store, bus: KafkaBus, settings: Settings, unique: str
) -> None:
    publisher = bus.publisher()
    key = b"northside-imaging"
    poison = [
        b"\xff\xfe not utf-8",
        b"{this is not json",
        json.dumps({"schema_version": 1, "id": "nope", "tenant": "northside-imaging"}).encode(),
        json.dumps({"schema_version": 99, "marker": unique}).encode(),
    ]
    publisher.publish(settings.topics.raw, [Message(key=key, value=value) for value in poison], timeout_s=10)
    good = ingest_client.post("/v1/mentions", json=batch_of(unique)[:2], headers=auth()).get_json()["ids"]
    wait_for(searchable(search_client, store, good))

    subscription = bus.subscribe([settings.topics.dead_letter], group=f"dlq-reader-{uuid.uuid4().hex[:6]}")
    letters: list[dict] = []

    def collected() -> bool:
        letters.extend(json.loads(r.value) for r in subscription.poll(100, timeout_s=1))
        return sum(1 for letter in letters if letter["stage"] == "sentiment.decode") >= len(poison)

    try:
        wait_for(collected, timeout_s=30)
    finally:
        subscription.close()
    reasons = {
        letter["value"] if letter["value_encoding"] == "utf-8" else "b64": letter["reason"] for letter in letters
    }
    assert any("not valid UTF-8" in r for r in reasons.values())
    assert any("not JSON" in r for r in reasons.values())
    assert any("invalid record" in r and "id" in r for r in reasons.values())
    assert any("unsupported schema_version 99" in r for r in reasons.values())
    b64 = [letter for letter in letters if letter["value_encoding"] == "base64"]
    assert b64, "bytes that are not UTF-8 are kept, base64-encoded, not dropped"


def test_another_practice_sees_none_of_it(ingest_client, search_client, store, unique: str) -> None:
    ids = ingest_client.post("/v1/mentions", json=batch_of(unique)[:1], headers=auth()).get_json()["ids"]
    wait_for(searchable(search_client, store, ids))
    assert search_client.get(f"/v1/mentions/{ids[0]}", headers=auth(OTHER_TENANT_KEY)).status_code == 404
    listing = search_client.get("/v1/mentions", headers=auth(OTHER_TENANT_KEY)).get_json()
    assert ids[0] not in {item["id"] for item in listing["items"]}


def test_rating_only_reviews_are_labelled_by_their_rating(ingest_client, search_client, store, unique: str) -> None:
    body = [
        {"source": "google", "external_id": f"stars-{unique}-1", "rating": 1},
        {"source": "google", "external_id": f"stars-{unique}-5", "rating": 5},
    ]
    ids = ingest_client.post("/v1/mentions", json=body, headers=auth()).get_json()["ids"]
    found = wait_for(searchable(search_client, store, ids))
    one, five = (found[i]["sentiment"] for i in ids)
    assert (one["label"], one["basis"], one["stars"]) == ("negative", "rating", 1)
    assert (five["label"], five["basis"]) == ("positive", "rating")
    assert one["model"] == "source-rating", "no model output is claimed for a text the model never read"


def test_non_english_reviews_are_flagged_not_scored(ingest_client, search_client, store, unique: str) -> None:
    spanish = "La recepcionista fue muy grosera y esperé dos horas para mi resonancia magnética."
    body = [
        {"source": "google", "external_id": f"es-{unique}-1", "rating": 1, "text": spanish},
        {"source": "google", "external_id": f"es-{unique}-2", "text": spanish + " Nunca más."},
    ]
    ids = ingest_client.post("/v1/mentions", json=body, headers=auth()).get_json()["ids"]
    found = wait_for(searchable(search_client, store, ids))
    rated, unrated = (found[i] for i in ids)
    assert rated["language"] == "es" and rated["sentiment"]["flags"] == ["unsupported_language"]
    assert (rated["sentiment"]["label"], rated["sentiment"]["basis"]) == ("negative", "rating")
    assert (unrated["sentiment"]["label"], unrated["sentiment"]["basis"]) == (None, "none")
    listing = search_client.get("/v1/mentions", query_string={"language": "es"}, headers=auth()).get_json()
    assert set(ids) <= {item["id"] for item in listing["items"]}
