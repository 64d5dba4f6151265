"""The reply guard's learned component: a sentence classifier for unsafe reply content.

Each sentence of a draft reply is embedded by the sentence encoder the project already ships
(``models/topic-embedder``: int8 ONNX all-MiniLM-L6-v2, loaded and checksum-verified by
:class:`services.sentiment.topics.TopicTagger`) and a small head (``models/reply-guard/head.npz``,
trained by ``training/reply_guard/train.py``: a softmax layer, since model v9 after one ReLU layer)
gives the probability of each category: the six kinds of disclosure the rules look for, and ``safe``.  Beside
the embedding the head reads a few cues the rules compute (``common.phi.replies.CONTEXT_FEATURES``:
does the sentence speak of a particular person, of an event, of policy for anyone).  A
sentence is flagged when ``1 - P(safe) >= threshold`` (the threshold is chosen by cross-validation
on the training splits, see the manifest); its category is the most probable unsafe class.

Runtime needs onnxruntime, tokenizers and numpy only.  Both model directories are checked
against the sha256 values of their manifests before use; a corrupt or missing file raises
:class:`~services.sentiment.model.ModelIntegrityError`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.phi.replies import (
    APPOINTMENT,
    CLINICAL,
    CONFIRMATION,
    CONTEXT_FEATURES,
    FINANCIAL,
    NAMING,
    PUBLIC,
    context_features,
)
from services.sentiment.model import ModelIntegrityError, verify_directory

SAFE = "safe"
# The head's output order (head.npz stores it too, and loading checks that the two agree).
CATEGORIES = (CONFIRMATION, CLINICAL, APPOINTMENT, FINANCIAL, NAMING, PUBLIC, SAFE)
EMBEDDING_DIM = 384
FEATURES = (
    f"topic-embedder sentence embedding ({EMBEDDING_DIM}, unit norm), then the guard's context cues "
    f"({', '.join(CONTEXT_FEATURES)}; 0 or 1) when the head was trained with them"
)


def sentence_features(embeddings: np.ndarray, sentences: Sequence[str], with_context: bool) -> np.ndarray:
    """The head's input: the embeddings, and the context cues of each sentence when the head uses them."""
    if not with_context:
        return embeddings
    cues = np.array([context_features(s) for s in sentences], dtype=np.float64).reshape(len(sentences), -1)
    return np.hstack([embeddings, cues])


@dataclass(frozen=True)
class Head:
    """The classifier on top of the sentence features: softmax(weight · h + bias), where h is the
    input itself (a multinomial logistic regression) or, with ``hidden_weight``, one ReLU layer of it.

    The hidden layer is there because the context cues change what the words mean: "results" with
    "past tense" and "addresses the reader" is a disclosure, "results" with "policy" is not, and a
    linear head can only add the two up."""

    weight: np.ndarray  # [categories, inputs] or [categories, hidden]
    bias: np.ndarray  # [categories]
    threshold: float
    hidden_weight: np.ndarray | None = None  # [hidden, inputs]
    hidden_bias: np.ndarray | None = None  # [hidden]

    @property
    def input_width(self) -> int:
        return int((self.weight if self.hidden_weight is None else self.hidden_weight).shape[1])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """[n, len(CATEGORIES)] class probabilities of the [n, input_width] features ``x``."""
        if self.hidden_weight is not None:
            x = np.maximum(x @ self.hidden_weight.T + self.hidden_bias, 0.0)
        return softmax(x @ self.weight.T + self.bias)

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {
            "weight": self.weight,
            "bias": self.bias,
            "threshold": np.float64(self.threshold),
            "categories": np.array(CATEGORIES),
        }
        if self.hidden_weight is not None:
            arrays |= {"hidden_weight": self.hidden_weight, "hidden_bias": self.hidden_bias}
        with path.open("wb") as fh:
            np.savez(fh, **arrays)


@dataclass(frozen=True)
class SentenceVerdict:
    category: str  # the most probable unsafe category
    unsafe_probability: float  # 1 - P(safe)
    flagged: bool


class ReplyClassifier:
    """Sentence-level classifier; thread-safe (the ONNX session is, the head is read-only)."""

    def __init__(self, encoder: Any, head: Head, version: str) -> None:
        self._encoder = encoder
        self._head = head
        self.threshold = head.threshold
        self.version = version

    @classmethod
    def load(cls, directory: Path, encoder_directory: Path, *, intra_op_threads: int | None = 1) -> ReplyClassifier:
        """Verify both directories' checksums, then load the encoder and the head."""
        from services.sentiment.topics import TopicTagger

        manifest = verify_directory(Path(directory))
        head = load_head(Path(directory) / manifest["head_file"])
        if float(manifest.get("threshold", head.threshold)) != head.threshold:
            raise ModelIntegrityError(f"{directory}: manifest and head disagree on the threshold")
        encoder = TopicTagger.load(Path(encoder_directory), intra_op_threads=intra_op_threads)
        return cls(encoder, head, str(manifest.get("version", "")))

    def probabilities(self, sentences: Sequence[str]) -> np.ndarray:
        """[n, len(CATEGORIES)] class probabilities."""
        if not sentences:
            return np.zeros((0, len(CATEGORIES)))
        embeddings = self._encoder.embed(list(sentences)).astype(np.float64)
        x = sentence_features(embeddings, sentences, self._head.input_width > EMBEDDING_DIM)
        return self._head.probabilities(x)

    def classify(self, sentences: Sequence[str]) -> list[SentenceVerdict]:
        out = []
        for p in self.probabilities(sentences):
            unsafe = 1.0 - float(p[-1])
            category = CATEGORIES[int(np.argmax(p[:-1]))]
            out.append(SentenceVerdict(category, unsafe, unsafe >= self.threshold))
        return out


def load_head(path: Path) -> Head:
    """The head in ``path``, its shapes checked against the categories and the encoder."""
    try:
        with np.load(path, allow_pickle=False) as z:
            weight = np.asarray(z["weight"], dtype=np.float64)
            bias = np.asarray(z["bias"], dtype=np.float64)
            threshold = float(z["threshold"])
            categories = tuple(str(c) for c in z["categories"])
            hidden = "hidden_weight" in z.files
            hidden_weight = np.asarray(z["hidden_weight"], dtype=np.float64) if hidden else None
            hidden_bias = np.asarray(z["hidden_bias"], dtype=np.float64) if hidden else None
    except (OSError, ValueError, KeyError) as exc:
        raise ModelIntegrityError(f"{path.name}: unreadable head file ({exc})") from exc
    widths = (EMBEDDING_DIM, EMBEDDING_DIM + len(CONTEXT_FEATURES))  # without or with the context cues
    first = weight if hidden_weight is None else hidden_weight
    fits_encoder = first.ndim == 2 and first.shape[1] in widths
    if categories != CATEGORIES or weight.shape[0] != len(CATEGORIES) or not fits_encoder:
        raise ModelIntegrityError(f"{path.name}: head does not match the categories / the {EMBEDDING_DIM}-dim encoder")
    if hidden_weight is not None and (
        hidden_bias is None
        or hidden_bias.shape != (hidden_weight.shape[0],)
        or weight.shape[1] != hidden_weight.shape[0]
    ):
        raise ModelIntegrityError(f"{path.name}: the head's hidden layer does not fit its output layer")
    if bias.shape != (len(CATEGORIES),):
        raise ModelIntegrityError(f"{path.name}: head bias does not match the categories")
    return Head(weight, bias, threshold, hidden_weight, hidden_bias)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


_shared: dict[tuple[str, str], ReplyClassifier] = {}
_lock = threading.Lock()


def shared_classifier(directory: Path, encoder_directory: Path) -> ReplyClassifier:
    """One loaded classifier per process (the encoder is 23 MB and takes about a second to load)."""
    key = (str(directory), str(encoder_directory))
    with _lock:
        if key not in _shared:
            _shared[key] = ReplyClassifier.load(directory, encoder_directory)
        return _shared[key]


class LazyReplyClassifier:
    """Loads the shared classifier on the first ``classify`` (so services that only need the PHI
    detector never pay for the encoder); a corrupt model raises ModelIntegrityError there."""

    def __init__(self, directory: Path, encoder_directory: Path) -> None:
        self.directory = Path(directory)
        self.encoder_directory = Path(encoder_directory)

    def classify(self, sentences: Sequence[str]) -> list[SentenceVerdict]:
        return shared_classifier(self.directory, self.encoder_directory).classify(sentences)
