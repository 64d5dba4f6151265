"""Train the reply guard's sentence classifier (models/reply-guard/head.npz).  Fixed seed.

    .venv/bin/python training/reply_guard/train.py            # writes head.npz + manifest.json

Data: the replies of the dev, heldout, heldout2 and heldout3 splits (evaluation/phi/replies.jsonl)
and the sentence-level ``train2`` replies (evaluation/phi/train2_replies.jsonl).  heldout4 and
heldout5 are never read here.  Labels are per reply, the classifier is per sentence:

* every sentence of a safe reply is ``safe``;
* a one-sentence unsafe reply is an example of each of its reasons (weight 1/k for k reasons);
* in a longer unsafe reply only the sentence a first model finds most unsafe is used, with the
  reply's reasons (multiple-instance labelling); its other sentences are left out;
* the reason ``phi`` (Safe Harbor identifiers) is the detector's job: replies whose only reason
  it is are left out.

Model: multinomial logistic regression with L2 on the 384-dim unit-norm sentence embedding
(numpy, full-batch gradient descent; scikit-learn is not a runtime dependency).  Threshold on
``1 - P(safe)``: 5-fold cross-validation grouped by reply; the lowest threshold whose
out-of-fold false-alarm rate on the safe training replies (model alone, reply flagged when any
sentence is) is <= 0.05.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from common.phi.replies import _sentences  # noqa: E402
from services.search.replies.classifier import CATEGORIES, SAFE, softmax  # noqa: E402

EVAL = ROOT / "evaluation" / "phi"
OUT = ROOT / "models" / "reply-guard"
ENCODER = ROOT / "models" / "topic-embedder"
TRAIN_SPLITS = ("dev", "heldout", "heldout2", "heldout3", "train2")
SEED = 20261128
L2 = 1e-3
EPOCHS = 1500
LR = 2.0
FOLDS = 5
TARGET_FAR = 0.05
CACHE = Path("/tmp/radar-reply-guard-embeddings.npz")


def load_replies() -> list[dict[str, Any]]:
    rows = []
    for name in ("replies.jsonl", "train2_replies.jsonl"):
        for line in (EVAL / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                if r["split"] in TRAIN_SPLITS:
                    rows.append(r)
    return rows


def embed_all(texts: list[str]) -> np.ndarray:
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    if CACHE.exists():
        with np.load(CACHE) as z:
            if str(z["key"]) == key:
                return np.asarray(z["emb"])
    from services.sentiment.topics import TopicTagger

    emb = TopicTagger.load(ENCODER, intra_op_threads=2).embed(texts).astype(np.float64)
    np.savez(CACHE, key=key, emb=emb)
    return emb


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted multinomial logistic regression, L2 on the weights, full-batch gradient descent."""
    k = len(CATEGORIES)
    rng = np.random.default_rng(SEED)
    weight = rng.normal(0, 0.01, size=(k, x.shape[1]))
    bias = np.zeros(k)
    onehot = np.eye(k)[y]
    # balance the classes: each class carries the same total weight
    class_w = np.array([w[y == c].sum() for c in range(k)])
    sw = w / np.maximum(class_w[y], 1e-9) / k
    for _ in range(EPOCHS):
        p = softmax(x @ weight.T + bias)
        g = (p - onehot) * sw[:, None]
        weight -= LR * (g.T @ x + L2 * weight)
        bias -= LR * g.sum(axis=0)
    return weight, bias


def build_examples(rows: list[dict[str, Any]], sent_emb: dict[str, np.ndarray], model: Any) -> tuple[list[Any], ...]:
    """Training examples (reply index, sentence, class, weight); ``model`` picks the sentence of long unsafe replies."""
    ri, si, cls, wt = [], [], [], []
    for n, r in enumerate(rows):
        sents = r["_sents"]
        if r["label"] == "safe":
            for s in sents:
                ri.append(n), si.append(s), cls.append(CATEGORIES.index(SAFE)), wt.append(1.0)
            continue
        reasons = [c for c in r["reasons"] if c in CATEGORIES]
        if not reasons:
            continue
        if len(sents) == 1:
            chosen = sents[0]
        elif model is None:
            continue
        else:
            scores = 1 - softmax(np.stack([sent_emb[s] for s in sents]) @ model[0].T + model[1])[:, -1]
            chosen = sents[int(np.argmax(scores))]
        for c in reasons:
            ri.append(n), si.append(chosen), cls.append(CATEGORIES.index(c)), wt.append(1.0 / len(reasons))
    return ri, si, cls, wt


def train(rows: list[dict[str, Any]], sent_emb: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    model = None
    for _ in range(2):  # first pass: single-sentence replies only; second: with the chosen sentences
        _, si, cls, wt = build_examples(rows, sent_emb, model)
        x = np.stack([sent_emb[s] for s in si])
        model = fit(x, np.array(cls), np.array(wt))
    assert model is not None
    return model


def reply_scores(rows: list[dict[str, Any]], sent_emb: dict[str, np.ndarray], model: Any) -> np.ndarray:
    out = []
    for r in rows:
        p = softmax(np.stack([sent_emb[s] for s in r["_sents"]]) @ model[0].T + model[1])
        out.append(float((1 - p[:, -1]).max()))
    return np.array(out)


def main() -> None:
    rows = load_replies()
    for r in rows:
        r["_sents"] = [s.text.strip() for s in _sentences(r["reply"]) if s.text.strip()]
    texts = sorted({s for r in rows for s in r["_sents"]})
    emb = embed_all(texts)
    sent_emb = dict(zip(texts, emb, strict=True))

    # cross-validation grouped by reply, for the threshold
    rng = np.random.default_rng(SEED)
    fold = rng.integers(0, FOLDS, size=len(rows))
    oof = np.zeros(len(rows))
    for f in range(FOLDS):
        tr = [r for r, k in zip(rows, fold, strict=True) if k != f]
        te_idx = [i for i, k in enumerate(fold) if k == f]
        model = train(tr, sent_emb)
        oof[te_idx] = reply_scores([rows[i] for i in te_idx], sent_emb, model)
    safe = np.array([r["label"] == "safe" for r in rows])
    candidates = np.round(np.arange(0.30, 0.991, 0.01), 2)
    threshold = next(float(t) for t in candidates if (oof[safe] >= t).mean() <= TARGET_FAR)
    far = float((oof[safe] >= threshold).mean())
    recall = float((oof[~safe] >= threshold).mean())
    cv = {
        "folds": FOLDS,
        "threshold": threshold,
        "oof_false_alarm_rate": far,
        "oof_recall_model_only": recall,
        "safe_replies": int(safe.sum()),
        "unsafe_replies": int((~safe).sum()),
    }
    print(json.dumps(cv))

    weight, bias = train(rows, sent_emb)
    OUT.mkdir(parents=True, exist_ok=True)
    head = OUT / "head.npz"
    with head.open("wb") as fh:
        np.savez(
            fh,
            weight=weight.astype(np.float32).astype(np.float64),
            bias=bias,
            threshold=np.float64(threshold),
            categories=np.array(CATEGORIES),
        )
    n_examples = len(build_examples(rows, sent_emb, (weight, bias))[0])
    manifest = {
        "name": "reply-guard",
        "version": "1.0.0",
        "task": "sentence-level classifier of unsafe content in a practice's public reply to a review (HIPAA)",
        "encoder": "models/topic-embedder (int8 ONNX all-MiniLM-L6-v2, mean pooling, unit norm; not fine-tuned)",
        "head_file": "head.npz",
        "categories": list(CATEGORIES),
        "head": "multinomial logistic regression, softmax(embedding @ weight.T + bias), L2 "
        f"{L2}, class-balanced, {EPOCHS} full-batch gradient steps, seed {SEED}",
        "decision": "a sentence is flagged when 1 - P(safe) >= threshold; its category is the most probable unsafe one",
        "threshold": threshold,
        "cross_validation": cv,
        "training_data": {
            "splits": list(TRAIN_SPLITS),
            "replies": len(rows),
            "sentence_examples": n_examples,
            "never_used": ["heldout4", "heldout5"],
        },
        "trained_by": "training/reply_guard/train.py",
        "files": {"head.npz": {"sha256": hashlib.sha256(head.read_bytes()).hexdigest(), "bytes": head.stat().st_size}},
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {head} ({head.stat().st_size} bytes), threshold {threshold}")


if __name__ == "__main__":
    main()
