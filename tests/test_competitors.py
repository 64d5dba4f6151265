"""Practice profile and competitor comparison, on both engines.

A practice tracks competitor practices: their reviews share the practice's index (tagged with
``competitor``) so they can be compared side by side, and must never count as the practice's
own in search, statistics, reputation or testimonial candidates.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common.schema import Mention, MentionIn, ScoredMention, SentimentResult
from services.search.app import create_app

TENANT = "compare-" + uuid.uuid4().hex[:8]
OTHER = "compare-other-" + uuid.uuid4().hex[:8]
ADMIN = "compare-admin-" + uuid.uuid4().hex
VIEWER = "compare-viewer-" + uuid.uuid4().hex
OTHER_ADMIN = "compare-other-admin-" + uuid.uuid4().hex

BASE = datetime(2026, 5, 4, 15, tzinfo=UTC)  # a Monday

# (competitor, rating, label, days after BASE)
DOCS = [
    (None, 5, "positive", 0),
    (None, 4, "positive", 1),
    (None, 2, "negative", 8),
    ("lakeside-imaging", 1, "negative", 0),
    ("lakeside-imaging", 3, "neutral", 2),
    ("lakeside-imaging", 5, "positive", 9),
    ("lakeside-imaging", 2, "negative", 9),
    ("metro-radiology", 5, "positive", 3),
]


def scored(index: int, competitor: str | None, rating: float, label: str, days: int, tenant: str = TENANT):
    submitted = MentionIn(
        source="google",
        competitor=competitor,
        external_id=f"cmp-{index}",
        text=f"Review number {index} of a {label} visit with a very friendly technologist and clear report.",
        rating=rating,
        published_at=BASE + timedelta(days=days),
    )
    mention = Mention.from_submission(submitted, tenant=tenant, now=BASE + timedelta(days=days, hours=1))
    probabilities = {"negative": 0.05, "neutral": 0.05, "positive": 0.05}
    probabilities[label] = 0.9
    return ScoredMention(
        **mention.model_dump(),
        sentiment=SentimentResult(
            label=label,  # type: ignore[arg-type]
            probabilities=probabilities,  # type: ignore[arg-type]
            stars=rating,
            model="fixture",
            model_version="0",
        ),
        scored_at=BASE,
    )


@pytest.fixture(scope="module")
def client(settings, any_store):  # type: ignore[no-untyped-def]
    docs = [scored(i, *doc) for i, doc in enumerate(DOCS)]
    docs.append(scored(99, "lakeside-imaging", 1, "negative", 0, tenant=OTHER))
    report = any_store.upsert(docs)
    assert report.written == len(docs) and not report.failed
    any_store.refresh()
    keys = f"{ADMIN}={TENANT}:admin,{VIEWER}={TENANT}:viewer,{OTHER_ADMIN}={OTHER}:admin"
    return create_app(settings.model_copy(update={"api_keys": keys}), store=any_store).test_client()


def call(client, method: str, path: str, key: str = ADMIN, **kwargs):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, headers={"Authorization": f"Bearer {key}"}, **kwargs)


PROFILE = {
    "display_name": "Northside Imaging Center",
    "website": "https://northside.example/",
    "time_zone": "America/Chicago",
    "competitors": [
        {"id": "lakeside-imaging", "name": "Lakeside Imaging"},
        {"id": "metro-radiology", "name": "Metro Radiology"},
        {"id": "harbor-mri", "name": "Harbor MRI"},
    ],
}


@pytest.fixture(scope="module")
def profile(client):  # type: ignore[no-untyped-def]
    response = call(client, "PUT", "/v1/practice", json=PROFILE)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_new_practice_has_a_default_profile(client) -> None:  # type: ignore[no-untyped-def]
    body = call(client, "GET", "/v1/practice", key=OTHER_ADMIN).get_json()
    assert body["display_name"] == OTHER
    assert body["competitors"] == [] and body["updated_at"] is None


def test_the_profile_is_saved_and_read_back(client, profile) -> None:  # type: ignore[no-untyped-def]
    body = call(client, "GET", "/v1/practice", key=VIEWER).get_json()
    assert body["display_name"] == "Northside Imaging Center"
    assert [c["id"] for c in body["competitors"]] == ["lakeside-imaging", "metro-radiology", "harbor-mri"]
    assert body["time_zone"] == "America/Chicago" and body["updated_at"]
    assert "tenant" not in body
    # Another practice's profile is untouched.
    assert call(client, "GET", "/v1/practice", key=OTHER_ADMIN).get_json()["display_name"] == OTHER


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"competitors": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}, "competitors"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"competitors": [{"id": "Not A Slug!", "name": "X"}]}, "competitors[0].id"),
        ({"display_name": ""}, "display_name"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_profiles_get_422_naming_the_field(client, change, field) -> None:  # type: ignore[no-untyped-def]
    response = call(client, "PUT", "/v1/practice", json={**PROFILE, **change})
    assert response.status_code == 422
    assert field in [d["field"] for d in response.get_json()["error"]["details"]]


def test_only_an_admin_changes_the_profile(client) -> None:  # type: ignore[no-untyped-def]
    response = call(client, "PUT", "/v1/practice", key=VIEWER, json=PROFILE)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_competitors_never_count_as_the_practice_itself(client) -> None:  # type: ignore[no-untyped-def]
    own = [d for d in DOCS if d[0] is None]
    assert call(client, "GET", "/v1/mentions").get_json()["total"] == len(own)
    stats = call(client, "GET", "/v1/stats").get_json()
    assert stats["total"] == len(own)
    assert stats["average_rating"] == pytest.approx(sum(d[1] for d in own) / len(own))
    theirs = call(client, "GET", "/v1/mentions", query_string={"competitor": "lakeside-imaging"}).get_json()
    assert theirs["total"] == 4 and {m["competitor"] for m in theirs["items"]} == {"lakeside-imaging"}


def test_comparison_shows_share_of_voice_ratings_and_trend(client, profile) -> None:  # type: ignore[no-untyped-def]
    response = call(
        client,
        "GET",
        "/v1/competitors/compare",
        key=VIEWER,
        query_string={"interval": "week", "time_zone": "UTC", "date_from": "2026-05-01T00:00:00Z"},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    rows = {row["competitor"]: row for row in body["practices"]}
    assert body["practices"][0]["own"] and body["practices"][0]["name"] == "Northside Imaging Center"
    assert body["total"] == len(DOCS), "the other practice's copy of a competitor review is not counted"
    assert rows[None]["mentions"] == 3 and rows[None]["share_of_voice"] == pytest.approx(3 / 8)
    lakeside = rows["lakeside-imaging"]
    assert lakeside["name"] == "Lakeside Imaging"
    assert lakeside["share_of_voice"] == pytest.approx(4 / 8)
    assert lakeside["average_rating"] == pytest.approx((1 + 3 + 5 + 2) / 4)
    assert lakeside["negative_share"] == pytest.approx(2 / 4)
    assert [(p["mentions"], p["average_rating"]) for p in lakeside["trend"]] == [(2, 2.0), (2, 3.5)]
    assert rows["metro-radiology"]["mentions"] == 1
    harbor = rows["harbor-mri"]
    assert harbor["mentions"] == 0 and harbor["share_of_voice"] == 0 and harbor["average_rating"] is None
    assert sum(row["share_of_voice"] for row in body["practices"]) == pytest.approx(1)


def test_comparison_can_be_limited_to_some_competitors(client, profile) -> None:  # type: ignore[no-untyped-def]
    body = call(client, "GET", "/v1/competitors/compare", query_string={"competitor": "metro-radiology"}).get_json()
    assert [row["competitor"] for row in body["practices"]] == [None, "metro-radiology"]
    assert body["total"] == 4


def test_comparison_rejects_bad_parameters(client) -> None:  # type: ignore[no-untyped-def]
    response = call(client, "GET", "/v1/competitors/compare", query_string={"interval": "fortnight"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_query"


def test_the_public_feed_names_the_practice_by_its_display_name(client, profile) -> None:  # type: ignore[no-untyped-def]
    feed = client.get(f"/public/{TENANT}/testimonials.json").get_json()
    assert feed["practice"] == TENANT and feed["practice_name"] == "Northside Imaging Center"


def test_testimonial_candidates_never_include_competitors(client) -> None:  # type: ignore[no-untyped-def]
    response = call(client, "GET", "/v1/testimonials/candidates", query_string={"limit": 50})
    assert response.status_code == 200, response.get_json()
    assert all(item["mention"]["competitor"] is None for item in response.get_json()["items"])
    assert len(response.get_json()["items"]) >= 1


def test_me_names_the_keys_practice_and_role(client) -> None:  # type: ignore[no-untyped-def]
    assert call(client, "GET", "/v1/me", key=VIEWER).get_json() == {"tenant": TENANT, "role": "viewer"}
    assert call(client, "GET", "/v1/me", key=OTHER_ADMIN).get_json() == {"tenant": OTHER, "role": "admin"}
    assert client.get("/v1/me").status_code == 401
