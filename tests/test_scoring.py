"""The sentiment worker's processing strategy (ScoringProcessor) without a broker.

The two models run at the same time on a helper thread (``concurrent_models``); these tests pin
that this changes nothing in what is published, including when a model fails.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from common.bus import Record
from common.schema import Mention
from common.settings import Settings, Topics
from services.sentiment.model import Prediction, SentimentModel
from services.sentiment.scoring import ScoringProcessor
from services.sentiment.topics import TopicTagger
from services.sentiment.worker import model_threads, worker_model_threads

TOPICS = Topics("scoring-test")
NOW = datetime(2026, 11, 28, tzinfo=UTC)

TEXTS = [
    "The technologist was gentle and explained every step of the MRI.",
    "Waited two hours past my appointment. The front desk was rude and they billed me twice.",
    "Great experience.",
    "Dr. Smith went over my results with me. The radiologist called the next day!",
    "The machine was loud and the room was cold, but the staff gave me a blanket.\n\nWould come back.",
    "Parking was impossible. Scheduling took three phone calls. " * 12,
    "",  # rating-only: scored from the rating, not by the models
    "Très bon accueil, personnel très gentil et rapide, je recommande ce cabinet de radiologie.",
]


def records(texts: Sequence[str]) -> list[Record]:
    out = []
    for i, text in enumerate(texts):
        mention = Mention(id=f"{i:032x}", tenant="t", source="s", text=text, rating=4, fetched_at=NOW, ingested_at=NOW)
        out.append(Record("raw", 0, i, b"k", mention.model_dump_json().encode(), 0))
    return out


def published(processor: ScoringProcessor, batch: list[Record]) -> dict[str, list[dict]]:
    out = processor.process(batch)
    result = {}
    for topic, messages in out.items():
        rows = [json.loads(m.value) for m in messages]
        for row in rows:
            row.pop("scored_at", None)
        result[topic] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    return result


def test_concurrent_models_publish_exactly_what_sequential_ones_do(model, tagger) -> None:  # type: ignore[no-untyped-def]
    batch = records(TEXTS)
    concurrent = ScoringProcessor(model, tagger, TOPICS)
    try:
        assert published(concurrent, batch) == published(
            ScoringProcessor(model, tagger, TOPICS, concurrent_models=False), batch
        )
    finally:
        concurrent.close()
    assert published(concurrent, batch)[TOPICS.scored]  # closed: falls back to sequential, still works


def test_one_thread_per_model_gives_the_same_numbers_as_two(model, tagger, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    texts = [t for t in TEXTS if t]
    one = SentimentModel.load(settings.model_dir, intra_op_threads=1)
    one_tagger = TopicTagger.load(settings.topic_model_dir, intra_op_threads=1)
    raw1, raw2 = one.infer_raw(texts), model.infer_raw(texts)
    for key in ("logits", "stars", "aspects"):
        assert (raw1[key] == raw2[key]).all(), key
    assert (one_tagger.score(texts) == tagger.score(texts)).all()


class FakeModel:
    name = "fake"
    version = "1"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if any("BOOM" in t for t in texts):
            raise RuntimeError("model broke")
        return [
            Prediction("positive", {"negative": 0.0, "neutral": 0.0, "positive": 1.0}, 5.0, {}, False) for _ in texts
        ]


class FakeTagger:
    def __init__(self, *, breaks_on: str | None = None) -> None:
        self.breaks_on = breaks_on
        self.calls: list[list[str]] = []

    def tag(self, texts: Sequence[str]) -> list[dict[str, float]]:
        self.calls.append(list(texts))
        if self.breaks_on and any(self.breaks_on in t for t in texts):
            raise RuntimeError("tagger broke")
        return [{"length": float(len(t))} for t in texts]


def _scored_by_text(out: dict[str, list[dict]]) -> dict[str, dict]:
    return {row["text"]: row["sentiment"] for row in out[TOPICS.scored]}


@pytest.mark.parametrize("concurrent", [True, False])
def test_tags_stay_with_their_mention_when_the_sentiment_model_dead_letters_one(concurrent: bool) -> None:
    texts = ["first review", "BOOM breaks the sentiment model", "a third, longer review"]
    processor = ScoringProcessor(FakeModel(), FakeTagger(), TOPICS, concurrent_models=concurrent)
    out = published(processor, records(texts))
    processor.close()
    assert [r["reason"] for r in out[TOPICS.dead_letter]] == ["model failed: RuntimeError"]
    scored = _scored_by_text(out)
    assert set(scored) == {texts[0], texts[2]}
    for text, result in scored.items():
        assert result["topic_scores"] == {"length": float(len(text))}


@pytest.mark.parametrize("concurrent", [True, False])
def test_a_text_that_breaks_both_models_is_dead_lettered_and_the_rest_are_tagged(concurrent: bool) -> None:
    texts = ["first review", "BOOM breaks both models", "a third review"]
    tagger = FakeTagger(breaks_on="BOOM")
    processor = ScoringProcessor(FakeModel(), tagger, TOPICS, concurrent_models=concurrent)
    out = published(processor, records(texts))
    processor.close()
    assert len(out[TOPICS.dead_letter]) == 1
    scored = _scored_by_text(out)
    assert set(scored) == {texts[0], texts[2]}
    for text, result in scored.items():  # the survivors keep their own tags
        assert result["topic_scores"] == {"length": float(len(text))}
        assert result["flags"] == []


@pytest.mark.parametrize("concurrent", [True, False])
def test_a_text_that_breaks_only_the_tagger_is_published_without_topics(concurrent: bool) -> None:
    processor = ScoringProcessor(FakeModel(), FakeTagger(breaks_on="tagger"), TOPICS, concurrent_models=concurrent)
    texts = ["fine", "this breaks the tagger", "also fine"]
    out = published(processor, records(texts))
    processor.close()
    assert out[TOPICS.dead_letter] == []
    scored = _scored_by_text(out)
    assert set(scored) == set(texts)  # nothing lost, the partition keeps moving
    assert scored[texts[1]]["label"] == "positive"
    assert scored[texts[1]]["topic_scores"] == {}
    assert scored[texts[1]]["flags"] == ["topics_unavailable"]
    assert scored[texts[0]]["topic_scores"] == {"length": 4.0} and scored[texts[0]]["flags"] == []


def test_worker_splits_the_cores_between_its_two_models(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    monkeypatch.setattr("common.cpus.cgroup_cpu_limit", lambda: None)  # the CI machine's own quota
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1})
    assert (worker_model_threads(settings), model_threads(settings)) == (1, 2)
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0})
    assert worker_model_threads(settings) == 1
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(8)))
    assert worker_model_threads(settings) == 4
    configured = settings.model_copy(update={"model_threads": 3})
    assert (worker_model_threads(configured), model_threads(configured)) == (3, 3)
