"""The synchronous analyze endpoint, with the real model."""

from __future__ import annotations

import pytest

from services.sentiment.api import MAX_ANALYZE_TEXTS
from tests.conftest import VIEWER_KEY, auth


@pytest.fixture(scope="module")
def client(settings, model, tagger):  # type: ignore[no-untyped-def]
    from services.sentiment.app import create_app

    return create_app(settings, model=model, tagger=tagger).test_client()


def analyze(client, body: object, key: str = VIEWER_KEY):  # type: ignore[no-untyped-def]
    return client.post("/v1/analyze", json=body, headers=auth(key))


def test_scores_texts_in_order_and_skips_blank_ones(client) -> None:  # type: ignore[no-untyped-def]
    texts = [
        "Rude receptionist, two hour wait, and they lost my referral. Never again.",
        "",
        "The sonographer was gentle and explained everything. Wonderful visit!",
        "   ",
    ]
    response = analyze(client, {"texts": texts})
    assert response.status_code == 200
    body = response.get_json()
    results = body["results"]
    assert [r["sentiment"] for r in results] == ["negative", None, "positive", None]
    assert results[1]["skipped"] == "empty text"
    assert body["model"] and body["model_version"]
    assert set(results[0]["aspects"]) == {"staff", "punctuality", "helpfulness", "knowledge"}


def test_non_english_text_is_skipped_with_its_language(client) -> None:  # type: ignore[no-untyped-def]
    spanish = "La recepcionista fue muy grosera y esperé dos horas para mi resonancia magnética."
    result = analyze(client, {"texts": [spanish]}).get_json()["results"][0]
    assert result == {"sentiment": None, "skipped": "unsupported language", "language": "es"}


def test_emoji_and_very_long_text(client) -> None:  # type: ignore[no-untyped-def]
    long_text = "The staff were lovely. " * 4000  # ~92 kB
    results = analyze(client, {"texts": ["😀👍 great MRI 🙏", long_text]}).get_json()["results"]
    assert results[1]["truncated"] is True
    for result in results:
        assert abs(sum(result["probabilities"].values()) - 1) < 1e-6


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"texts": ["ok"] * (MAX_ANALYZE_TEXTS + 1)}, 413),
        ({"texts": []}, 422),
        ({"texts": "one string"}, 422),
        ({"texts": [1, 2]}, 422),
        ({"text": ["wrong key"]}, 422),
        ({"texts": ["x" * 100_001]}, 422),
    ],
)
def test_bad_requests(client, body: object, status: int) -> None:  # type: ignore[no-untyped-def]
    response = analyze(client, body)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


def test_needs_a_key(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/v1/analyze", json={"texts": ["hi"]}).status_code == 401
    assert client.get("/readyz").get_json()["status"] == "ready"
