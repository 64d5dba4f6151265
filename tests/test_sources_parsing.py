"""Defensive parsing of outside content: hostile and broken markup never crashes a run."""

from __future__ import annotations

import pytest

from services.ingest.sources.schemaorg import normalise_rating, reviews_from_page, source_name_for
from services.ingest.sources.text import clean_text, html_to_text, parse_time, safe_url

PAGE = "https://reviews.example.com/dr-sample"


def test_absurdly_deep_json_ld_and_microdata_are_skipped_not_fatal() -> None:
    deep_json = "[" * 100_000 + "]" * 100_000
    deep_html = "<div itemscope itemtype='https://schema.org/Thing'>" + "<div><span itemprop='x'>" * 5000
    markup = (
        f'<html><head><script type="application/ld+json">{deep_json}</script></head><body>{deep_html}</body></html>'
    )
    items, aggregate = reviews_from_page(markup.encode(), PAGE)
    assert items == [] and aggregate is None


@pytest.mark.parametrize("markup", [b"", b"\x00\xff\xfe garbage", b"<html", b"<?xml version='1.0'?><x/>"])
def test_garbage_pages_yield_nothing(markup: bytes) -> None:
    assert reviews_from_page(markup, PAGE) == ([], None)


@pytest.mark.parametrize(
    ("rating", "expected"),
    [
        ({"ratingValue": "4"}, 4.0),
        ({"ratingValue": 8, "bestRating": 10, "worstRating": 0}, 4.2),
        ({"ratingValue": "100", "bestRating": "100"}, 5.0),
        ({"ratingValue": "11", "bestRating": "10"}, None),  # outside its own scale
        ({"ratingValue": "3", "bestRating": "1", "worstRating": "5"}, None),  # nonsense scale
        ({"ratingValue": "five"}, None),
        ("4.5", 4.5),
        (None, None),
    ],
)
def test_ratings_are_normalised_from_their_own_scale(rating: object, expected: float | None) -> None:
    assert normalise_rating(rating) == expected


def test_untrusted_text_is_reduced_to_plain_text() -> None:
    assert html_to_text("<p>one<br>two</p><script>x()</script><style>p{}</style><iframe>z</iframe>") == "one\ntwo"
    assert clean_text("a\x00b\x1bc\r\nd") == "abc\nd"
    assert safe_url("javascript:alert(1)") is None and safe_url("https://ok.example/x") == "https://ok.example/x"
    assert parse_time("2026-03-01T10:00:00Z") is not None and parse_time("yesterday") is None
    assert parse_time(1772700000) is not None and parse_time(float("inf")) is None


def test_source_names_come_from_the_site() -> None:
    assert source_name_for("https://www.healthgrades.com/physician/x") == "healthgrades"
    assert source_name_for("https://reviews.ratemds.com/doctor") == "ratemds"
    assert source_name_for("http://127.0.0.1:8080/page") == "web"
