"""Runtime sentiment model: ONNX Runtime + Hugging Face tokenizer, no torch.

    model = SentimentModel.load(Path("models/review-sentiment"), intra_op_threads=2)
    model.predict(["Friendly staff, quick results.", "Waited 3 hours, rude front desk."])

The model directory holds ``manifest.json`` (see training/quantize_evaluate.py, which writes it),
the ONNX graph and the tokenizer files.  ``load`` verifies the sha256 of every file listed in the
manifest before anything is parsed and raises :class:`ModelIntegrityError` on a mismatch or a
missing file.  Files under ``torch/`` (the fine-tuned PyTorch checkpoint, not needed at run
time) are checked only if present, so a slim deployment may drop that folder.

Outputs per text: calibrated class probabilities (softmax of logits / temperature), a label from
the manifest's decision rule (argmax of log-probability + per-class bias, tuned on validation;
so the label is not always the most probable class), expected star rating (1-5), expected aspect
scores (1-5) and whether head+tail truncation was applied.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from common.cpus import usable_cores
from services.sentiment.preprocess import encode_batch

MANIFEST_NAME = "manifest.json"
OPTIONAL_PREFIXES = ("torch/",)  # verified if present, not required at run time
_CHUNK = 1 << 20


class ModelIntegrityError(Exception):
    """The model directory does not match its manifest (missing or altered files)."""


@dataclass(frozen=True)
class Prediction:
    sentiment: str
    probabilities: dict[str, float]
    stars: float
    aspects: dict[str, float]
    truncated: bool


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify_directory(directory: Path) -> dict[str, Any]:
    """Check every file listed in manifest.json; return the parsed manifest."""
    directory = Path(directory)
    mpath = directory / MANIFEST_NAME
    if not mpath.is_file():
        raise ModelIntegrityError(f"{mpath}: manifest missing")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files: dict[str, dict[str, Any]] = manifest["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"{mpath}: unreadable manifest ({exc})") from exc
    for rel, meta in sorted(files.items()):
        path = directory / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ModelIntegrityError(f"{mpath}: unsafe path {rel!r}")
        if not path.is_file():
            if rel.startswith(OPTIONAL_PREFIXES):
                continue
            raise ModelIntegrityError(f"{rel}: missing (expected sha256 {meta['sha256']})")
        actual = sha256_file(path)
        if actual != meta["sha256"]:
            raise ModelIntegrityError(f"{rel}: sha256 mismatch (expected {meta['sha256']}, actual {actual})")
    return manifest


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def cpu_session(path: Path, intra_op_threads: int | None, *, spin_wait: bool = False) -> Any:
    """An ONNX Runtime CPU session with threads set deliberately.

    Intra-op threads parallelise one inference across the cores this process may use; inter-op
    parallelism stays at 1 because these graphs are a single chain, and a second pool would only
    contend with the first on a small machine.

    ``spin_wait`` is off by default: ONNX Runtime's pool threads otherwise busy-wait for the next
    job after each run, so with two sessions in one process (sentiment + topics) the idle pool of
    one burns the cores the other is computing on, and on a shared machine it takes CPU from the
    other services.  Measured on 2 cores (docs/benchmarks.md, "Whole scoring path"): both models at
    2 threads each running at the same time went from 46 to 77 reviews/s without spinning, and one
    review through both models one after the other (the sentiment API) did not get slower.  It
    never changes results.  With one intra-op thread there is no pool and it has no effect.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(intra_op_threads) if intra_op_threads else default_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin_wait else "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "1" if spin_wait else "0")
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def default_threads() -> int:
    return max(1, min(usable_cores(), 4))


class ManifestModel:
    """A model directory described by manifest.json, loaded only after every checksum matched."""

    _manifest: dict[str, Any]

    def __init__(
        self,
        directory: Path,
        manifest: dict[str, Any],
        *,
        intra_op_threads: int | None = None,
        spin_wait: bool = False,
    ):
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path, *, intra_op_threads: int | None = None, spin_wait: bool = False) -> Self:
        """Verify the checksums, then load; ``intra_op_threads``/``spin_wait``: see :func:`cpu_session`."""
        manifest = verify_directory(Path(directory))
        return cls(Path(directory), manifest, intra_op_threads=intra_op_threads, spin_wait=spin_wait)

    @property
    def name(self) -> str:
        return str(self._manifest["name"])

    @property
    def version(self) -> str:
        return str(self._manifest["version"])


class SentimentModel(ManifestModel):
    """Batch predictor.  Thread-safe for concurrent ``predict`` calls (ORT sessions are)."""

    def __init__(
        self,
        directory: Path,
        manifest: dict[str, Any],
        *,
        intra_op_threads: int | None = None,
        spin_wait: bool = False,
    ):

        # transformers warns at import that PyTorch is missing; here that is by design.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        from transformers import AutoTokenizer

        self._dir = Path(directory)
        self._manifest = manifest
        self._labels: list[str] = list(manifest["labels"])
        self._aspects: list[str] = list(manifest["aspects"])
        text = manifest["text"]
        self._max_length = int(text["max_length"])
        self._head_tokens = int(text["head_tokens"])
        cal = manifest["calibration"]
        self._temperature = float(cal["temperature"])
        self._bias = np.array([float(manifest["decision"]["bias"][lab]) for lab in self._labels])
        inf = manifest.get("inference", {})
        # Dynamic int8 quantisation computes activation scales over the whole input tensor, so
        # a padded batch would make one text's scores depend on its batch-mates; the manifest
        # therefore sets max_batch_size 1 for such graphs (see MODEL_CARD.md).
        self._max_batch = max(1, int(inf.get("max_batch_size", 1)))
        self._max_batch_tokens = max(self._max_length, int(inf.get("max_batch_tokens", 16384)))

        self._tokenizer = AutoTokenizer.from_pretrained(str(self._dir), local_files_only=True)
        self._session = cpu_session(self._dir / manifest["onnx"], intra_op_threads, spin_wait=spin_wait)
        self.intra_op_threads = self._session.get_session_options().intra_op_num_threads

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    # ------------------------------------------------------------------------------ inference
    def infer_raw(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Raw model outputs in input order: logits [n,3], stars [n], aspects [n,k], truncated [n]."""
        ids, truncated = encode_batch(
            self._tokenizer, list(texts), max_length=self._max_length, head_tokens=self._head_tokens
        )
        n = len(ids)
        logits = np.zeros((n, len(self._labels)), dtype=np.float32)
        stars = np.zeros(n, dtype=np.float32)
        aspects = np.zeros((n, len(self._aspects)), dtype=np.float32)
        order = sorted(range(n), key=lambda i: len(ids[i]))
        start = 0
        while start < n:
            # grow the sub-batch while it respects both the row and the padded-token budget
            end = start + 1
            while (
                end < n
                and end - start < self._max_batch
                and (end - start + 1) * len(ids[order[end]]) <= self._max_batch_tokens
            ):
                end += 1
            rows = order[start:end]
            width = len(ids[rows[-1]])
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            lg, st, asp = self._session.run(
                ["logits", "stars", "aspects"], {"input_ids": input_ids, "attention_mask": mask}
            )
            logits[rows], stars[rows], aspects[rows] = lg, st, asp
            start = end
        return {"logits": logits, "stars": stars, "aspects": aspects, "truncated": np.array(truncated, dtype=bool)}

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if isinstance(texts, str):
            raise TypeError("predict() takes a sequence of texts, not a single str")
        if len(texts) == 0:
            return []
        raw = self.infer_raw(texts)
        probs = _softmax(raw["logits"].astype(np.float64) / self._temperature)
        decision = (np.log(np.clip(probs, 1e-300, None)) + self._bias).argmax(-1)
        stars = np.clip(raw["stars"].astype(np.float64), 1.0, 5.0)
        aspects = np.clip(raw["aspects"].astype(np.float64), 1.0, 5.0)
        out = []
        for i in range(len(probs)):
            p = {lab: float(probs[i, j]) for j, lab in enumerate(self._labels)}
            if not all(math.isfinite(v) for v in p.values()):  # cannot happen with finite logits
                raise RuntimeError("model produced non-finite probabilities")
            out.append(
                Prediction(
                    sentiment=self._labels[int(decision[i])],
                    probabilities=p,
                    stars=float(stars[i]),
                    aspects={a: float(aspects[i, j]) for j, a in enumerate(self._aspects)},
                    truncated=bool(raw["truncated"][i]),
                )
            )
        return out
