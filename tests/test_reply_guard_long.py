"""Long replies are read whole by the learned model, or refused: never checked in part."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from common.phi import PhiDetector
from common.phi.replies import MAX_MODEL_WINDOWS, ReplyGuard, ReplyTooLongToCheck
from common.settings import Settings
from services.search.replies.classifier import LazyReplyClassifier
from tests.conftest import MARKETER_KEY, auth

THANKS = ", ".join(["thank you so much for the kind words"] * 12)
DISCLOSURE = "the repair went exactly as planned"


@pytest.fixture(scope="module")
def guard() -> ReplyGuard:
    settings = Settings()
    return ReplyGuard(
        PhiDetector([]), classifier=LazyReplyClassifier(settings.reply_model_dir, settings.topic_model_dir)
    )


@pytest.mark.parametrize(
    "reply",
    [f"{THANKS}, and {DISCLOSURE}.", f"{DISCLOSURE.capitalize()}, {THANKS}."],
    ids=["disclosure-at-the-end", "disclosure-at-the-start"],
)
def test_a_disclosure_inside_a_run_on_sentence_is_found(guard: ReplyGuard, reply: str) -> None:
    assert len(reply.split()) > 100  # past the encoder's 128 word pieces
    result = guard.check(reply)
    assert not result.safe
    finding = next(f for f in result.findings if f.source == "model")
    # the span is the whole sentence; the category is the model's best guess for its most unsafe window
    assert (finding.start, finding.end) == (0, len(reply))
    assert DISCLOSURE not in result.suggestion


def test_a_long_safe_sentence_passes(guard: ReplyGuard) -> None:
    assert guard.check(f"{THANKS}, we are always glad to hear from our community.").safe


@dataclass
class Verdict:
    category: str = "safe"
    unsafe_probability: float = 0.0
    flagged: bool = False


class CountingClassifier:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def classify(self, sentences: Sequence[str]) -> list[Verdict]:
        self.seen.extend(sentences)
        return [Verdict() for _ in sentences]


def test_a_reply_with_too_many_sentences_is_refused_not_checked_in_part() -> None:
    classifier = CountingClassifier()
    guard = ReplyGuard(PhiDetector([]), classifier=classifier)
    many = " ".join(f"Note {i}." for i in range(MAX_MODEL_WINDOWS + 1))
    with pytest.raises(ReplyTooLongToCheck):
        guard.check(many)
    assert classifier.seen == []
    guard.check(" ".join(f"Note {i}." for i in range(MAX_MODEL_WINDOWS)))  # at the limit: all read
    assert len(classifier.seen) == MAX_MODEL_WINDOWS


def test_the_api_answers_422_for_a_reply_too_long_to_check(search_client) -> None:  # type: ignore[no-untyped-def]
    reply = " ".join(f"Note {i}." for i in range(MAX_MODEL_WINDOWS + 1))
    assert len(reply) <= 5000
    response = search_client.post("/v1/replies/check", json={"reply": reply}, headers=auth(MARKETER_KEY))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "reply_too_long_to_check"
