"""The sentiment worker's processing strategy: raw mentions in, scored mentions out."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Protocol

from common.bus import Message, Record
from common.deadletter import dead_letter
from common.metrics.catalog import MODEL_LATENCY
from common.records import DecodeError, decode_record, describe_error
from common.schema import Mention, ScoredMention, SentimentLabel, SentimentResult
from common.settings import Topics
from services.sentiment.language import identify
from services.sentiment.model import Prediction

log = logging.getLogger(__name__)


class Predictor(Protocol):
    """What the worker needs from a model (``services.sentiment.model.SentimentModel``)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...


class Tagger(Protocol):
    """What the worker needs from the topic model (``services.sentiment.topics.TopicTagger``)."""

    def tag(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


class ScoringProcessor:
    """Decode, check the language, score with both models, encode.

    With ``concurrent_models`` (the default) the topic tagger runs on a helper thread while the
    sentiment model scores the same batch on the calling thread.  ONNX Runtime releases the GIL
    while it computes, so on two cores the two models (one intra-op thread each, see
    ``services.sentiment.worker.worker_model_threads``) overlap instead of taking turns: about
    twice the throughput of both models one after the other at two threads each
    (docs/benchmarks.md, "Whole scoring path").  The results are the same either way: each model
    scores each text on its own (batch 1), so neither thread count nor overlap changes a number.
    """

    def __init__(self, model: Predictor, tagger: Tagger, topics: Topics, *, concurrent_models: bool = True) -> None:
        self._model = model
        self._tagger = tagger
        self._topics = topics
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="topics") if concurrent_models else None

    def close(self) -> None:
        """Stop the helper thread (idempotent; also happens at interpreter exit)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def process(self, records: Sequence[Record]) -> Mapping[str, Sequence[Message]]:
        to_score: list[tuple[Record, Mention]] = []
        scored: list[Message] = []
        dead: list[Message] = []
        for record in records:
            try:
                mention = decode_record(record, Mention)
            except DecodeError as exc:
                dead.append(dead_letter(record, reason=describe_error(exc), stage="sentiment.decode"))
                continue
            if not mention.text.strip():
                # Nothing for the model to read: a rating-only review is labelled from its own
                # rating, and says so, rather than by the model guessing at an empty string.
                scored.append(self._message(record, mention, fallback_result(mention, [])))
                continue
            language = identify(mention.text, declared=mention.language)
            if language.code and not mention.language:
                mention = mention.model_copy(update={"language": language.code})
            if language.supported:
                to_score.append((record, mention))
            else:
                scored.append(self._message(record, mention, fallback_result(mention, ["unsupported_language"])))

        predicted, tags = self._score(to_score, dead)
        for ((record, mention), prediction), topics in zip(predicted, tags, strict=True):
            scored.append(self._message(record, mention, self._model_result(prediction, topics)))
        if dead:
            log.warning("dead-lettered %d record(s)", len(dead))
        return {self._topics.scored: scored, self._topics.dead_letter: dead}

    def _tag(self, texts: list[str]) -> list[dict[str, float] | None]:
        """Topic scores per text; None for a text the tagger cannot read.

        Topics are secondary to the sentiment: a text that breaks the tagger is still published,
        flagged ``topics_unavailable``, rather than failing its batch (which would be redelivered
        and fail again, stalling the partition)."""
        if not texts:
            return []
        try:
            with MODEL_LATENCY.labels("topics", "worker").time():
                return list(self._tagger.tag(texts))
        except Exception:  # noqa: BLE001 - isolate the text that breaks the tagger, keep the rest
            log.warning("topic tagging failed for a batch of %d; tagging one by one", len(texts))
        tags: list[dict[str, float] | None] = []
        for text in texts:
            try:
                tags.append(self._tagger.tag([text])[0])
            except Exception as exc:  # noqa: BLE001
                log.warning("topic tagging failed for one text (%s); published without topics", type(exc).__name__)
                tags.append(None)
        return tags

    def _score(
        self, to_score: list[tuple[Record, Mention]], dead: list[Message]
    ) -> tuple[list[tuple[tuple[Record, Mention], Prediction]], list[dict[str, float] | None]]:
        """Both models on the mentions to score; the tags belong to the mentions the sentiment model scored."""
        pool = self._pool
        if pool is None or not to_score:
            with MODEL_LATENCY.labels("sentiment", "worker").time():
                predicted = self._predict(to_score, dead)
            return predicted, self._tag([mention.text for (_, mention), _ in predicted])
        pending = pool.submit(self._tag, [mention.text for _, mention in to_score])
        try:
            with MODEL_LATENCY.labels("sentiment", "worker").time():
                predicted = self._predict(to_score, dead)
        except BaseException:
            wait([pending])  # never leave the tagger running into the next batch
            raise
        tags = pending.result()  # _tag isolates a text that breaks the tagger; it does not raise
        if len(predicted) == len(to_score):
            return predicted, tags
        kept = {id(item) for item, _ in predicted}  # _predict keeps the items themselves, in order
        return predicted, [t for item, t in zip(to_score, tags, strict=True) if id(item) in kept]

    def _predict(
        self, mentions: list[tuple[Record, Mention]], dead: list[Message]
    ) -> list[tuple[tuple[Record, Mention], Prediction]]:
        if not mentions:
            return []
        try:
            predictions = self._model.predict([m.text for _, m in mentions])
            return list(zip(mentions, predictions, strict=True))
        except Exception:  # noqa: BLE001 - isolate the record that breaks the model, keep the rest
            log.warning("batch scoring failed; scoring one by one to isolate the cause", exc_info=False)
        results = []
        for item in mentions:
            try:
                results.append((item, self._model.predict([item[1].text])[0]))
            except Exception as exc:  # noqa: BLE001
                dead.append(dead_letter(item[0], reason=f"model failed: {type(exc).__name__}", stage="sentiment.model"))
        return results

    def _model_result(self, prediction: Prediction, topics: dict[str, float] | None) -> SentimentResult:
        flags = ["topics_unavailable"] if topics is None else []
        topics = topics or {}
        return SentimentResult(
            label=prediction.sentiment,  # type: ignore[arg-type]
            probabilities=prediction.probabilities,  # type: ignore[arg-type]
            stars=prediction.stars,
            aspects=prediction.aspects,
            truncated=prediction.truncated,
            topics=sorted(topics, key=lambda t: -topics[t]),
            topic_scores=topics,
            basis="text",
            flags=flags,
            model=self._model.name,
            model_version=self._model.version,
        )

    @staticmethod
    def _message(record: Record, mention: Mention, result: SentimentResult) -> Message:
        scored = ScoredMention(**mention.model_dump(), sentiment=result, scored_at=datetime.now(UTC))
        return Message(key=record.key, value=scored.model_dump_json().encode())


def fallback_result(mention: Mention, flags: list[str]) -> SentimentResult:
    """For text the model cannot read: the source's own rating decides, or nothing does.

    The rating maps to a label with the training data's thresholds (<= 2 negative, < 3.7
    neutral); without a rating the label is null, which the dashboard shows as "needs review".
    """
    if mention.rating is None:
        return SentimentResult(label=None, basis="none", flags=flags, model="none", model_version="1")
    rating = mention.rating
    label: SentimentLabel = "negative" if rating <= 2 else "neutral" if rating < 3.7 else "positive"
    return SentimentResult(
        label=label,
        probabilities={label: 1.0},
        stars=rating,
        basis="rating",
        flags=flags,
        model="source-rating",
        model_version="1",
    )
