"""Search API against the real Elasticsearch: filters, sorting, cursors, statistics, validation.

Documents are written through the store (the indexer's own write path) with known sentiments,
so these assertions do not depend on the model.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common.schema import Mention, MentionIn, ScoredMention, SentimentResult
from services.search.app import create_app

TENANT = "search-" + uuid.uuid4().hex[:8]
KEY = "search-key-" + uuid.uuid4().hex
VIEWER = "search-viewer-" + uuid.uuid4().hex

BASE = datetime(2026, 3, 1, 12, tzinfo=UTC)

DOCS = [
    # (source, location, rating, label, days after BASE, text)
    ("google", "downtown", 1, "negative", 0, "The MRI machine was broken and I waited three hours."),
    ("google", "downtown", 5, "positive", 1, "Great magnetic resonance experience, calm technologist."),
    ("yelp", "uptown", 2, "negative", 2, "Billing charged me twice for one ultrasound."),
    ("yelp", "uptown", 4, "positive", 3, "Friendly staff, my sonogram was quick."),
    ("healthgrades", "downtown", 3, "neutral", 10, "Average visit. The CT scan was fine, parking was not."),
    ("google", "uptown", 5, "positive", 40, "The radiologist's report was clear and arrived the same day."),
]


def scored(index: int, source: str, location: str, rating: float, label: str, days: int, text: str) -> ScoredMention:
    submitted = MentionIn(
        source=source,
        location=location,
        external_id=f"doc-{index}",
        text=text,
        rating=rating,
        published_at=BASE + timedelta(days=days),
    )
    mention = Mention.from_submission(submitted, tenant=TENANT, now=BASE + timedelta(days=days, hours=1))
    probabilities = {"negative": 0.1, "neutral": 0.1, "positive": 0.1}
    probabilities[label] = 0.8  # type: ignore[index]
    return ScoredMention(
        **mention.model_dump(),
        sentiment=SentimentResult(
            label=label,
            probabilities=probabilities,
            stars=rating,
            aspects={"staff": float(rating), "knowledge": 5.0},
            topics=["billing_insurance"] if "Billing" in text else [],
            model="fixture",
            model_version="0",  # type: ignore[arg-type]
        ),
        scored_at=BASE,
    )


@pytest.fixture(scope="module")
def store(any_store):  # type: ignore[no-untyped-def]
    return any_store


@pytest.fixture(scope="module")
def client(settings, store):  # type: ignore[no-untyped-def]
    report = store.upsert([scored(i, *doc) for i, doc in enumerate(DOCS)])
    assert report.written == len(DOCS) and not report.failed
    store.refresh()
    keys = f"{KEY}={TENANT}:admin,{VIEWER}={TENANT}:viewer,{settings.api_keys}"
    return create_app(settings.model_copy(update={"api_keys": keys}), store=store).test_client()


def get(client, path: str, key: str = KEY, **params):  # type: ignore[no-untyped-def]
    return client.get(path, query_string=params, headers={"Authorization": f"Bearer {key}"})


def texts(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_json()
    return [item["text"] for item in response.get_json()["items"]]


def test_replaying_the_same_documents_changes_nothing(client, store) -> None:  # type: ignore[no-untyped-def]
    report = store.upsert([scored(i, *doc) for i, doc in enumerate(DOCS)])
    store.refresh()
    assert report.failed == {}
    assert get(client, "/v1/mentions").get_json()["total"] == len(DOCS)


def test_full_text_finds_words_and_highlights_them(client) -> None:  # type: ignore[no-untyped-def]
    response = get(client, "/v1/mentions", q="billing")
    assert texts(response) == ["Billing charged me twice for one ultrasound."]
    assert response.get_json()["items"][0]["highlights"] == [
        "<mark>Billing</mark> charged me twice for one ultrasound."
    ]
    assert texts(get(client, "/v1/mentions", q='"same day"')) == [DOCS[5][5]]
    assert texts(get(client, "/v1/mentions", q="billing -ultrasound")) == []


def test_full_text_uses_stemming_and_radiology_synonyms(client, store) -> None:  # type: ignore[no-untyped-def]
    if not store.full_text_analysis:
        pytest.skip(f"{store.engine.name} here lacks analysis-common (Elastic's minimal test distribution)")
    mri = get(client, "/v1/mentions", q="mri")
    found = texts(mri)
    assert any("MRI machine" in t for t in found)
    assert any("magnetic resonance" in t for t in found), "MRI and magnetic resonance are synonyms"
    assert any("sonogram" in t for t in texts(get(client, "/v1/mentions", q="ultrasound")))
    assert any("waited" in t for t in texts(get(client, "/v1/mentions", q="waiting")))  # stemming


def test_filters_combine(client) -> None:  # type: ignore[no-untyped-def]
    assert len(texts(get(client, "/v1/mentions", sentiment="negative"))) == 2
    assert len(texts(get(client, "/v1/mentions", source="google,yelp", location="uptown"))) == 3
    assert len(texts(get(client, "/v1/mentions", rating_min=2, rating_max=4))) == 3
    window = get(client, "/v1/mentions", date_from="2026-03-02T00:00:00Z", date_to="2026-03-05T00:00:00Z")
    assert len(texts(window)) == 3


def test_sorting_by_rating_and_date(client) -> None:  # type: ignore[no-untyped-def]
    by_rating = get(client, "/v1/mentions", sort="rating", order="asc").get_json()["items"]
    assert [item["rating"] for item in by_rating] == sorted(item["rating"] for item in by_rating)
    by_date = get(client, "/v1/mentions").get_json()["items"]
    dates = [item["published_at"] for item in by_date]
    assert dates == sorted(dates, reverse=True)


def test_cursor_pagination_walks_every_document_once(client) -> None:  # type: ignore[no-untyped-def]
    seen, cursor = [], None
    while True:
        params = {"size": 4, **({"cursor": cursor} if cursor else {})}
        body = get(client, "/v1/mentions", **params).get_json()
        seen.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == len(DOCS)


def test_stats_count_by_sentiment_source_and_day(client) -> None:  # type: ignore[no-untyped-def]
    body = get(client, "/v1/stats").get_json()
    assert body["total"] == len(DOCS)
    assert {b["key"]: b["count"] for b in body["by_sentiment"]} == {"positive": 3, "negative": 2, "neutral": 1}
    assert {b["key"]: b["count"] for b in body["by_source"]} == {"google": 3, "yelp": 2, "healthgrades": 1}
    days = [b for b in body["histogram"] if b["count"]]
    assert len(days) == 6 and days[0]["start"].startswith("2026-03-01")
    assert body["average_rating"] == pytest.approx(sum(d[2] for d in DOCS) / len(DOCS))
    monthly = get(client, "/v1/stats", interval="month", time_zone="America/New_York").get_json()
    assert [b["count"] for b in monthly["histogram"]] == [5, 1]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sentiment": "furious"}, "sentiment[0]"),
        ({"rating_min": "9"}, "rating_min"),
        ({"size": "1000"}, "size"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"sort": "random"}, "sort"),
        ({"bogus": "1"}, "bogus"),
    ],
)
def test_bad_query_parameters_are_400_and_named(client, params: dict, field: str) -> None:  # type: ignore[no-untyped-def]
    response = get(client, "/v1/mentions", **params)
    assert response.status_code == 400
    assert field in {d["field"] for d in response.get_json()["error"]["details"]}


def test_bad_cursor_and_bad_id(client) -> None:  # type: ignore[no-untyped-def]
    assert get(client, "/v1/mentions", cursor="garbage").get_json()["error"]["code"] == "invalid_cursor"
    assert get(client, "/v1/mentions/not-an-id").status_code == 400
    assert get(client, "/v1/mentions/" + "0" * 32).status_code == 404


def test_keys_and_tenants(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/v1/mentions").status_code == 401
    assert get(client, "/v1/mentions", key="wrong-key-wrong-key").status_code == 401
    assert get(client, "/v1/mentions", key=VIEWER).status_code == 200
    from tests.conftest import ADMIN_KEY

    other = get(client, "/v1/mentions", key=ADMIN_KEY, q="MRI").get_json()
    assert not any("MRI machine" in item["text"] for item in other["items"])


def test_csv_export_of_a_filtered_search(client) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    response = get(client, "/v1/mentions/export.csv", location="downtown")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert len(rows) == 3
    assert {row["location"] for row in rows} == {"downtown"}
    assert {row["sentiment"] for row in rows} == {"negative", "positive", "neutral"}
    limited = get(client, "/v1/mentions/export.csv", limit=2).get_data(as_text=True)
    assert len(list(csv.DictReader(io.StringIO(limited.lstrip("\ufeff"))))) == 2


def test_csv_export_rejects_bad_parameters_as_json(client) -> None:  # type: ignore[no-untyped-def]
    response = get(client, "/v1/mentions/export.csv", limit=0)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "limit"


def test_csv_cells_cannot_smuggle_spreadsheet_formulas() -> None:
    from services.search.export import safe_cell

    assert safe_cell('=HYPERLINK("http://x","click")') == '\'=HYPERLINK("http://x","click")'
    assert safe_cell("-1 stars") == "'-1 stars"
    assert safe_cell("Great staff") == "Great staff"
    assert safe_cell(4.5) == 4.5


def test_stats_break_down_by_location_and_topic(client) -> None:  # type: ignore[no-untyped-def]
    body = get(client, "/v1/stats").get_json()
    assert {b["key"]: b["count"] for b in body["by_location"]} == {"downtown": 3, "uptown": 3}
    assert body["by_topic"] == [{"key": "billing_insurance", "count": 1, "negative": 1}]
    assert texts(get(client, "/v1/mentions", topic="billing_insurance")) == [DOCS[2][5]]
    bad = get(client, "/v1/stats", time_zone="Mars/Olympus_Mons")
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "time_zone"


def test_reputation_ranks_locations(client) -> None:  # type: ignore[no-untyped-def]
    body = get(client, "/v1/reputation", by="location").get_json()
    scores = {s["key"]: s for s in body["scores"]}
    assert [s["key"] for s in body["scores"]] == ["uptown", "downtown"]
    assert scores["downtown"]["reviews"] == 3 and scores["downtown"]["raw_average"] == pytest.approx(3.0)
    assert scores["uptown"]["raw_average"] == pytest.approx(11 / 3, abs=1e-3)
    assert get(client, "/v1/reputation", by="planet").status_code == 400


def test_negative_topics_this_period_against_the_last(client) -> None:  # type: ignore[no-untyped-def]
    # DOCS[2] (billing, negative) is dated 2026-03-03: inside a 5-day period ending 03-05.
    now = get(client, "/v1/topics/negative", days=5, date_to="2026-03-05T00:00:00Z").get_json()
    assert now["topics"] == [
        {"topic": "billing_insurance", "negative": 1, "negative_previous": 0, "mentions": 1, "change": 1}
    ]
    later = get(client, "/v1/topics/negative", days=5, date_to="2026-03-10T00:00:00Z").get_json()
    assert later["topics"][0] == {
        "topic": "billing_insurance",
        "negative": 0,
        "negative_previous": 1,
        "mentions": 0,
        "change": -1,
    }
    assert get(client, "/v1/topics/negative", days=0).status_code == 400


@pytest.mark.parametrize(
    "q", ['"unbalanced', "(MRI AND", "wait~2 ^3 -", "*", "\\", "a:b OR c:[1 TO", "<script>", "x" * 500, "🙂"]
)
def test_query_strings_with_engine_syntax_never_fail(client, q: str) -> None:  # type: ignore[no-untyped-def]
    response = get(client, "/v1/mentions", q=q)
    assert response.status_code == 200, response.get_json()
    assert get(client, "/v1/mentions", q=q + "x" * 501).status_code == 400  # over the length limit


def test_query_syntax_documented_in_the_readme(client) -> None:  # type: ignore[no-untyped-def]
    assert len(texts(get(client, "/v1/mentions", q="billing | parking"))) == 2
    assert texts(get(client, "/v1/mentions", q="billing parking")) == []


def test_aspect_scores_filter_the_results(client) -> None:  # type: ignore[no-untyped-def]
    low_staff = get(client, "/v1/mentions", aspect="staff", aspect_max=2)
    assert sorted(m["rating"] for m in low_staff.get_json()["items"]) == [1, 2]
    both = get(client, "/v1/mentions", aspect="staff,knowledge", aspect_min=4.5)
    assert sorted(m["rating"] for m in both.get_json()["items"]) == [5, 5]
    assert get(client, "/v1/stats", aspect="staff", aspect_max=2).get_json()["total"] == 2


@pytest.mark.parametrize(
    "params",
    [{"aspect_max": 2}, {"aspect": "bedside_manner"}, {"aspect": "staff", "aspect_min": 4, "aspect_max": 2}],
)
def test_bad_aspect_filters_get_400(client, params) -> None:  # type: ignore[no-untyped-def]
    response = get(client, "/v1/mentions", **params)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_query"


def test_dates_with_offsets_beyond_the_engines_range_are_converted(client) -> None:  # type: ignore[no-untyped-def]
    # ISO 8601 allows +23:08; java.time (the engines) stops at +18:00.
    response = get(client, "/v1/reputation", date_to="0061-07-18T09:20:49.7+23:08")
    assert response.status_code == 200 and response.get_json()["scores"] == []
    assert get(client, "/v1/mentions", date_from="2026-03-01T00:00:00+23:30").status_code == 200
    assert get(client, "/v1/mentions", date_to="0001-01-01T00:00:00+01:00").status_code == 400
