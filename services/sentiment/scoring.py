"""The sentiment worker's processing strategy: raw mentions in, scored mentions out."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from common.bus import Message, Record
from common.deadletter import dead_letter
from common.records import DecodeError, decode_record, describe_error
from common.schema import Mention, ScoredMention, SentimentResult
from common.settings import Topics

log = logging.getLogger(__name__)


class Predictor(Protocol):
    """What the worker needs from a model (``services.sentiment.model.SentimentModel``)."""

    name: str
    version: str

    def predict(self, texts: Sequence[str]) -> list: ...  # list[Prediction]


class ScoringProcessor:
    def __init__(self, model: Predictor, topics: Topics) -> None:
        self._model = model
        self._topics = topics

    def process(self, records: Sequence[Record]) -> Mapping[str, Sequence[Message]]:
        mentions: list[tuple[Record, Mention]] = []
        dead: list[Message] = []
        for record in records:
            try:
                mentions.append((record, decode_record(record, Mention)))
            except DecodeError as exc:
                dead.append(dead_letter(record, reason=describe_error(exc), stage="sentiment.decode"))

        scored: list[Message] = []
        for (record, mention), prediction in self._predict(mentions, dead):
            scored.append(Message(key=record.key, value=self._scored(mention, prediction).model_dump_json().encode()))
        if dead:
            log.warning("dead-lettered %d record(s)", len(dead))
        return {self._topics.scored: scored, self._topics.dead_letter: dead}

    def _predict(
        self, mentions: list[tuple[Record, Mention]], dead: list[Message]
    ) -> list[tuple[tuple[Record, Mention], object]]:
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

    def _scored(self, mention: Mention, prediction: object) -> ScoredMention:
        p = prediction
        result = SentimentResult(
            label=p.sentiment,  # type: ignore[attr-defined]
            probabilities=p.probabilities,  # type: ignore[attr-defined]
            stars=p.stars,  # type: ignore[attr-defined]
            aspects=p.aspects,  # type: ignore[attr-defined]
            truncated=p.truncated,  # type: ignore[attr-defined]
            model=self._model.name,
            model_version=self._model.version,
        )
        return ScoredMention(**mention.model_dump(), sentiment=result, scored_at=datetime.now(UTC))
