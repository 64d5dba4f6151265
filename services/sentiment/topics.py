"""Runtime topic tagger: topics of a review from a sentence encoder + linear heads.  No torch.

    tagger = TopicTagger.load(Path("models/topic-embedder"), intra_op_threads=2)
    tagger.tag(["The technologist was gentle.", "Waited 2 hours and they billed me twice."])
    # -> [{"technologist": 0.93, ...}, {"waiting_time": 0.98, "billing_insurance": 0.97}]  (probabilities)

Method (see models/topic-embedder/MODEL_CARD.md and training/topics/README.md):

1. ``prepare_text`` (shared with the sentiment model) sanitises the text: lone surrogates become
   U+FFFD and texts over 20 000 characters keep their first 5 000 and last 15 000 characters.
2. :func:`split_sentences` cuts the review into sentences (regex on ``.!?``/newlines, common
   abbreviations such as "Dr." do not end a sentence); a sentence longer than
   ``MAX_WORDS_PER_SEGMENT`` words is cut into consecutive word windows, and only the first
   ``MAX_SEGMENTS`` (40) segments of a review are scored, which bounds the cost of a 100 kB paste.
   Every segment is tokenised and truncated to 128 word pieces including [CLS]/[SEP].
3. The int8 ONNX graph (all-MiniLM-L6-v2, mean pooling + L2 normalisation inside the graph)
   embeds each segment *one at a time*: dynamic int8 quantisation derives activation scales from
   the whole input tensor, so batching would make a sentence's embedding depend on its
   batch-mates.  One-at-a-time makes ``tag`` give identical results alone or in any batch.
4. Zero-shot similarity of a topic = max over segments of max over the topic's prototype phrases
   of the cosine similarity (prototype embeddings are computed once at load by the same graph).
5. Heads mode (manifest ``heads_file``, the shipped model): review features = [max over segments,
   mean over segments] of the segment embeddings + the 9 zero-shot similarities (777 values,
   :data:`FEATURE_SPEC`); per topic a logistic head (``heads.npz``, trained by weak supervision
   from keyword labelling functions, training/topics/train_heads.py) gives a probability; the
   topic is returned when probability >= its threshold (``heads.npz``, tuned on hand labels).
   Without ``heads_file`` (zero-shot mode) the similarity is compared with the thresholds of
   ``topics.json`` instead.

The model directory's files (graph, tokenizer, topics.json, heads.npz) are checked against the
sha256 values of its manifest.json by :func:`services.sentiment.model.verify_directory` before use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from services.sentiment.model import ManifestModel, ModelIntegrityError, cpu_session
from services.sentiment.preprocess import prepare_text

MAX_SEGMENTS = 40
MAX_WORDS_PER_SEGMENT = 60
MAX_TOKENS = 128
# Feature layout the heads were trained on (checked against heads.npz at load).
FEATURE_SPEC = "max_segments_384+mean_segments_384+zero_shot_scores_9"

# Sentence ends: one or more of . ! ? (optionally followed by closing quotes/brackets) then
# whitespace, or any line break.
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*[\r\n]+\s*")
# A fragment ending like this is not a sentence end ("Dr. Smith", "e.g. this").
_ABBREV = re.compile(
    r"(?:\b(?:dr|drs|mr|mrs|ms|st|vs|jr|sr|mt|no|approx|appt|dept|etc|e\.g|i\.e|a\.m|p\.m)|\b[a-z])\.$",
    re.IGNORECASE,
)
_HAS_WORD = re.compile(r"\w")


def split_sentences(text: str, *, max_segments: int = MAX_SEGMENTS) -> list[str]:
    """Split a (prepared) review into at most ``max_segments`` non-empty segments, in order."""
    parts = [p.strip() for p in _SPLIT.split(text) if p and p.strip()]
    merged: list[str] = []
    for p in parts:
        if merged and _ABBREV.search(merged[-1]):
            merged[-1] = merged[-1] + " " + p
        else:
            merged.append(p)
    out: list[str] = []
    for s in merged:
        if not _HAS_WORD.search(s):
            continue  # punctuation / emoji-only fragments carry no topic
        words = s.split()
        for i in range(0, len(words), MAX_WORDS_PER_SEGMENT):
            out.append(" ".join(words[i : i + MAX_WORDS_PER_SEGMENT]))
            if len(out) >= max_segments:
                return out
    return out


class TopicTagger(ManifestModel):
    """Multi-label topic tagger (linear heads or zero-shot).  Thread-safe for concurrent ``tag`` calls."""

    def __init__(
        self,
        directory: Path,
        manifest: dict[str, Any],
        *,
        intra_op_threads: int | None = None,
        spin_wait: bool = False,
    ):
        from tokenizers import Tokenizer

        self._dir = Path(directory)
        self._manifest = manifest
        try:
            cfg = json.loads((self._dir / manifest["topics_file"]).read_text(encoding="utf-8"))
            self._topics: list[str] = [t["id"] for t in cfg["topics"]]
            self._thresholds = np.array([float(t["threshold"]) for t in cfg["topics"]], dtype=np.float64)
            prototypes = [list(t["prototypes"]) for t in cfg["topics"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelIntegrityError(f"{manifest.get('topics_file')}: unreadable topics file ({exc})") from exc
        text = manifest.get("text", {})
        self._max_tokens = int(text.get("max_tokens", MAX_TOKENS))
        self._max_segments = int(text.get("max_segments", MAX_SEGMENTS))

        self._tokenizer = Tokenizer.from_file(str(self._dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self._max_tokens)
        self._session = cpu_session(self._dir / manifest["onnx"], intra_op_threads, spin_wait=spin_wait)
        self.intra_op_threads = self._session.get_session_options().intra_op_num_threads

        # Prototype matrix [P, 384] and the topic index of each row.
        flat = [p for ps in prototypes for p in ps]
        self._proto_topic = np.array([k for k, ps in enumerate(prototypes) for _ in ps], dtype=np.int64)
        self._protos = self.embed(flat)
        self._sim_thresholds = self._thresholds.copy()

        # Linear heads (weak supervision, train_heads.py): probability = sigmoid(features @ W.T + b).
        self._weight: np.ndarray | None = None
        self._bias: np.ndarray | None = None
        heads_file = manifest.get("heads_file")
        if heads_file:
            try:
                with np.load(self._dir / heads_file, allow_pickle=False) as z:
                    weight = np.asarray(z["weight"], dtype=np.float64)
                    bias = np.asarray(z["bias"], dtype=np.float64)
                    thresholds = np.asarray(z["threshold"], dtype=np.float64)
                    head_topics = [str(t) for t in z["topics"]]
                    spec = str(z["features"])
            except (OSError, ValueError, KeyError) as exc:
                raise ModelIntegrityError(f"{heads_file}: unreadable heads file ({exc})") from exc
            n_feat = 2 * int(self._protos.shape[1]) + len(self._topics)
            if (
                head_topics != self._topics
                or spec != FEATURE_SPEC
                or weight.shape != (len(self._topics), n_feat)
                or bias.shape != (len(self._topics),)
                or thresholds.shape != (len(self._topics),)
            ):
                raise ModelIntegrityError(f"{heads_file}: heads do not match topics.json / the feature spec")
            self._weight, self._bias, self._thresholds = weight, bias, thresholds

    @property
    def topics(self) -> list[str]:
        return list(self._topics)

    @property
    def mode(self) -> str:
        """``"heads"`` (linear heads, probabilities) or ``"zero-shot"`` (prototype cosine)."""
        return "heads" if self._weight is not None else "zero-shot"

    @property
    def thresholds(self) -> dict[str, float]:
        return {t: float(v) for t, v in zip(self._topics, self._thresholds, strict=True)}

    # ------------------------------------------------------------------------------ inference
    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        """Unit-norm embeddings [n, dim] of already-split sentences, computed one at a time."""
        out = []
        for s in sentences:
            ids = np.asarray(self._tokenizer.encode(s).ids, dtype=np.int64)[None, :]
            out.append(self._session.run(["embedding"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0])
        if not out:
            return np.zeros((0, self._session.get_outputs()[0].shape[-1] or 384), dtype=np.float32)
        return np.stack(out).astype(np.float32)

    def segments(self, text: str) -> list[str]:
        clean, _ = prepare_text(text)
        return split_sentences(clean, max_segments=self._max_segments)

    def _embed_review(self, text: str) -> np.ndarray:
        return self.embed(self.segments(text))

    def _similarities(self, emb: np.ndarray) -> np.ndarray:
        """Zero-shot topic scores [n_topics] of one review's segment embeddings (-1 if none)."""
        out = np.full(len(self._topics), -1.0, dtype=np.float32)
        if len(emb) == 0:
            return out
        best = (emb @ self._protos.T).max(axis=0)  # per prototype
        for k in range(len(self._topics)):
            out[k] = best[self._proto_topic == k].max()
        return out

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """Review features [n, 2*dim + n_topics]: [max over segments, mean over segments, zero-shot scores].

        A text without segments gets all-zero pooled embeddings and zero-shot scores of -1.
        """
        if isinstance(texts, str):
            raise TypeError("features() takes a sequence of texts, not a single str")
        dim = int(self._protos.shape[1])
        out = np.zeros((len(texts), 2 * dim + len(self._topics)), dtype=np.float32)
        for i, text in enumerate(texts):
            emb = self._embed_review(text)
            if len(emb):
                out[i, :dim] = emb.max(axis=0)
                out[i, dim : 2 * dim] = emb.mean(axis=0)
            out[i, 2 * dim :] = self._similarities(emb)
        return out

    def similarity(self, texts: Sequence[str]) -> np.ndarray:
        """Zero-shot scores [n, n_topics]: max cosine over segments and prototypes; -1 for no segments."""
        if isinstance(texts, str):
            raise TypeError("similarity() takes a sequence of texts, not a single str")
        scores = np.full((len(texts), len(self._topics)), -1.0, dtype=np.float32)
        for i, text in enumerate(texts):
            scores[i] = self._similarities(self._embed_review(text))
        return scores

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Head probabilities [n, n_topics] in [0, 1] of :meth:`features` rows (heads mode only)."""
        if self._weight is None or self._bias is None:
            raise RuntimeError("this model has no linear heads (zero-shot mode)")
        z = np.asarray(features, dtype=np.float64) @ self._weight.T + self._bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Topic scores [n, n_topics] compared with the thresholds by :meth:`tag`.

        Heads mode: the heads' probabilities in [0, 1] (0 for a text without segments).
        Zero-shot mode: :meth:`similarity` (max cosine; -1 for a text without segments).
        """
        if isinstance(texts, str):
            raise TypeError("score() takes a sequence of texts, not a single str")
        if self._weight is None:
            return self.similarity(texts)
        feats = self.features(texts)
        probs = self.probabilities(feats)
        dim = int(self._protos.shape[1])
        probs[np.all(feats[:, 2 * dim :] == -1.0, axis=1)] = 0.0  # no segments: no topic
        return probs.astype(np.float32)

    def tag(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Per text: {topic: score} for the topics at or above their threshold ({} if none).

        The score is the head's probability in [0, 1] (heads mode) or the cosine (zero-shot mode).
        """
        if isinstance(texts, str):
            raise TypeError("tag() takes a sequence of texts, not a single str")
        scores = self.score(texts)
        return [
            {t: round(float(row[k]), 4) for k, t in enumerate(self._topics) if row[k] >= self._thresholds[k]}
            for row in scores
        ]
