"""Train the reply guard's sentence classifier (models/reply-guard/head.npz).  Fixed seed.

    .venv/bin/python training/reply_guard/train.py            # writes head.npz + manifest.json

Data: the replies of the dev, heldout, heldout2 and heldout3 splits (evaluation/phi/replies.jsonl),
the hand-written training replies of ``train2`` to ``train7`` and the spent held-out
sets ``heldout7`` to ``heldout23`` (their own files).  heldout4, heldout5, heldout6, heldout24 and
heldout25 are never read here.  The model reads
what the guard reads: each sentence, or for a sentence over ``WINDOW_WORDS`` words its overlapping
word windows (``common.phi.replies.sentence_windows``).  Labels are per reply, the classifier per window:

* every window of a safe reply is ``safe``;
* a reply that marks its disclosing sentence(s) (``unsafe_sentences``, train3 and train4) gives those as
  examples of its reasons and its other sentences as ``safe``;
* a one-window unsafe reply is an example of each of its reasons (weight 1/k for k reasons);
* otherwise (a longer unsafe reply, or a marked run-on sentence) only the window a first model
  finds most unsafe is used, with the reply's reasons (multiple-instance labelling); its other
  windows are left out;
* the reason ``phi`` (Safe Harbor identifiers) is the detector's job: replies whose only reason
  it is are left out.

Model: a softmax over one layer of ``HIDDEN`` ReLU units, L2 on the weights, reading the 384-dim
unit-norm sentence embedding and the guard's seven 0/1 context cues
(``common.phi.replies.CONTEXT_FEATURES``) (numpy, full-batch Adam; the runtime is
``services.search.replies.classifier.Head``).  Up to model v8 the head was linear; on the same data
and cross-validation the hidden layer raised out-of-fold guard recall at 0.06 false alarms from
0.961 to 0.976 (round 12), since a cue changes what the words mean rather than adding to them.  The practice's
staff (``staff.json`` and each split's ``<split>_staff.json``) are written "our colleague", as
the guard does.  Two settings are chosen by 5-fold cross-validation grouped by reply, on the
training replies only: the L2 strength and the share of the loss given to the ``safe`` class
(``GRID``).  The criterion is the whole guard's: a reply is flagged when the rules flag it (with
its practice's staff and contacts set) or its most unsafe window reaches the threshold; the
threshold is the lowest whose out-of-fold false-alarm rate on the safe training replies is <=
``TARGET_FAR``, and the setting with the best out-of-fold recall at its threshold wins.
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

from common.phi.names import StaffAllowList  # noqa: E402
from common.phi.replies import (  # noqa: E402
    CONTEXT_FEATURES,
    WINDOW_WORDS,
    context_features,
    model_input,
    sentence_windows,
    split_sentences,
)
from evaluation.phi.sets import (  # noqa: E402
    benchmark_practice,
    practice_configuration,
    practice_guard,
    reply_records,
)
from services.search.replies.classifier import CATEGORIES, SAFE, Head, softmax  # noqa: E402

OUT = ROOT / "models" / "reply-guard"
ENCODER = ROOT / "models" / "topic-embedder"
TRAIN_SPLITS = (
    "dev",
    "heldout",
    "heldout2",
    "heldout3",
    "train2",
    "train3",
    "train4",
    "train5",
    "train6",
    "train7",
    "heldout7",
    "heldout8",
    "heldout9",
    "heldout10",
    "heldout11",
    "heldout12",
    "heldout13",
    "heldout14",
    "heldout15",
    "heldout16",
    "heldout17",
    "heldout18",
    "heldout19",
    "heldout20",
    "heldout21",
    "heldout22",
    "heldout23",
)
NEVER_USED = ("heldout4", "heldout5", "heldout6", "heldout24", "heldout25")
SEED = 20261128
L2 = 1e-3  # default; the trained model uses the setting chosen from GRID
SAFE_SHARE = 1 / 4  # share of the loss carried by the safe class (1/7 would be all classes equal)
# 1e-2 and a safe share of 1/7 lost on every comparison with the linear head (round 11) and the MLP
GRID = [(l2, share) for l2 in (1e-4, 1e-3) for share in (1 / 4, 1 / 2)]
HIDDEN = 64  # ReLU units between the features and the softmax
EPOCHS = 300  # full-batch Adam steps
LR = 0.01
FOLDS = 5
# out-of-fold false-alarm rate of the whole guard (rules or model) on the safe training replies: the
# target is 0.10 on new replies, and new authors' safe replies have run above the training ones
TARGET_FAR = 0.06
CACHE = Path("/tmp/radar-reply-guard-embeddings.npz")


def load_replies() -> list[dict[str, Any]]:
    return [r for r in reply_records() if r["split"] in TRAIN_SPLITS]


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


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = L2, safe_share: float = SAFE_SHARE) -> Head:
    """Weighted softmax over one ReLU layer, L2 on the weights, full-batch Adam (fixed seed)."""
    k, d = len(CATEGORIES), x.shape[1]
    rng = np.random.default_rng(SEED)
    params = [
        rng.normal(0, np.sqrt(2 / d), size=(d, HIDDEN)),  # hidden weight, [inputs, hidden] while training
        np.zeros(HIDDEN),
        rng.normal(0, np.sqrt(1 / HIDDEN), size=(HIDDEN, k)),
        np.zeros(k),
    ]
    onehot = np.eye(k)[y]
    # balance the classes: the safe class carries ``safe_share`` of the total weight, the unsafe
    # classes share the rest equally
    class_w = np.array([w[y == c].sum() for c in range(k)])
    share = np.full(k, (1 - safe_share) / (k - 1))
    share[CATEGORIES.index(SAFE)] = safe_share
    sw = w / np.maximum(class_w[y], 1e-9) * share[y]
    first, second = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    beta1, beta2 = 0.9, 0.999
    for step in range(1, EPOCHS + 1):
        w1, b1, w2, b2 = params
        h = np.maximum(x @ w1 + b1, 0)
        g = (softmax(h @ w2 + b2) - onehot) * sw[:, None]
        gh = g @ w2.T * (h > 0)
        grads = (x.T @ gh + l2 * w1, gh.sum(axis=0), h.T @ g + l2 * w2, g.sum(axis=0))
        for i, grad in enumerate(grads):
            first[i] = beta1 * first[i] + (1 - beta1) * grad
            second[i] = beta2 * second[i] + (1 - beta2) * grad * grad
            m_hat, v_hat = first[i] / (1 - beta1**step), second[i] / (1 - beta2**step)
            params[i] = params[i] - LR * m_hat / (np.sqrt(v_hat) + 1e-8)
    w1, b1, w2, b2 = params
    return Head(weight=w2.T.copy(), bias=b2, threshold=0.0, hidden_weight=w1.T.copy(), hidden_bias=b1)


def _most_unsafe(windows: list[str], sent_emb: dict[str, np.ndarray], model: Head) -> str:
    scores = 1 - model.probabilities(np.stack([sent_emb[s] for s in windows]))[:, -1]
    return windows[int(np.argmax(scores))]


def build_examples(rows: list[dict[str, Any]], sent_emb: dict[str, np.ndarray], model: Any) -> tuple[list[Any], ...]:
    """Training examples (reply index, window, class, weight); ``model`` picks the window of long unsafe replies."""
    ri: list[int] = []
    si: list[str] = []
    cls: list[int] = []
    wt: list[float] = []
    safe = CATEGORIES.index(SAFE)

    def add(n: int, window: str, c: int, w: float) -> None:
        ri.append(n)
        si.append(window)
        cls.append(c)
        wt.append(w)

    for n, r in enumerate(rows):
        if r["label"] == "safe":
            for window in r["_windows"]:
                add(n, window, safe, 1.0)
            continue
        reasons = [c for c in r["reasons"] if c in CATEGORIES]
        if not reasons:
            continue
        marked = r.get("_marked")
        if marked:  # the disclosing sentence is known: the others are safe examples
            candidates = []
            for sentence, windows in zip(r["_sents"], r["_sent_windows"], strict=True):
                if any(m in sentence or sentence in m for m in marked):
                    candidates.append(windows)
                else:
                    for window in windows:
                        add(n, window, safe, 1.0)
            if not candidates:
                raise ValueError(f"{r['id']}: unsafe_sentences not found in the reply")
            groups = candidates
        else:
            groups = [r["_windows"]]
        for windows in groups:
            if len(windows) == 1:
                chosen = windows[0]
            elif model is None:
                continue
            else:
                chosen = _most_unsafe(windows, sent_emb, model)
            for c in reasons:
                add(n, chosen, CATEGORIES.index(c), 1.0 / len(reasons))
    return ri, si, cls, wt


def train(
    rows: list[dict[str, Any]], sent_emb: dict[str, np.ndarray], l2: float = L2, safe_share: float = SAFE_SHARE
) -> Head:
    model = None
    for _ in range(2):  # first pass: one-window examples only; second: with the chosen windows
        _, si, cls, wt = build_examples(rows, sent_emb, model)
        x = np.stack([sent_emb[s] for s in si])
        model = fit(x, np.array(cls), np.array(wt), l2, safe_share)
    assert model is not None
    return model


def reply_scores(rows: list[dict[str, Any]], sent_emb: dict[str, np.ndarray], model: Head) -> np.ndarray:
    out = []
    for r in rows:
        p = model.probabilities(np.stack([sent_emb[s] for s in r["_windows"]]))
        out.append(float((1 - p[:, -1]).max()))
    return np.array(out)


def rule_flags(rows: list[dict[str, Any]], config: dict[str, dict[str, list[str]]]) -> np.ndarray:
    """Whether the guard's rules alone flag each reply, with each practice's staff and contacts set.

    The model reads every sentence of a reply the rules pass, so the whole guard flags a reply when
    the rules do or the model's most unsafe window reaches the threshold: the threshold is chosen
    for that, the figure a practice sees."""
    flags = []
    for r in rows:
        guard = practice_guard(r["id"], config)
        flags.append(not guard.check(r["reply"], r.get("review"), r.get("reviewer_display_name")).safe)
    return np.array(flags)


def cross_validate(
    rows: list[dict[str, Any]], sent_emb: dict[str, np.ndarray], l2: float, safe_share: float, rules: np.ndarray
) -> dict[str, Any]:
    """Out-of-fold reply scores (folds grouped by reply, fixed seed) and the threshold they give."""
    rng = np.random.default_rng(SEED)
    fold = rng.integers(0, FOLDS, size=len(rows))
    oof = np.zeros(len(rows))
    for f in range(FOLDS):
        tr = [r for r, k in zip(rows, fold, strict=True) if k != f]
        te_idx = [i for i, k in enumerate(fold) if k == f]
        model = train(tr, sent_emb, l2, safe_share)
        oof[te_idx] = reply_scores([rows[i] for i in te_idx], sent_emb, model)
    safe = np.array([r["label"] == "safe" for r in rows])
    candidates = np.round(np.arange(0.30, 0.991, 0.01), 2)

    def guard_far(t: float) -> float:
        return float((rules[safe] | (oof[safe] >= t)).mean())

    threshold = next((float(t) for t in candidates if guard_far(t) <= TARGET_FAR), 0.99)
    return {
        "folds": FOLDS,
        "l2": l2,
        "safe_share": round(safe_share, 4),
        "threshold": threshold,
        "oof_guard_false_alarm_rate": guard_far(threshold),
        "oof_guard_recall": float((rules[~safe] | (oof[~safe] >= threshold)).mean()),
        "oof_false_alarm_rate": float((oof[safe] >= threshold).mean()),
        "oof_recall_model_only": float((oof[~safe] >= threshold).mean()),
        "safe_replies": int(safe.sum()),
        "unsafe_replies": int((~safe).sum()),
    }


def main() -> None:
    rows = load_replies()
    config = practice_configuration()
    base_staff = benchmark_practice()["staff"]
    for r in rows:
        # the model reads what the guard gives it (ReplyGuard.model_view): staff as "our colleague",
        # the reviewer's display name as "friend"
        allow = StaffAllowList([*base_staff, *config.get(r["id"], {"staff": []})["staff"]])
        name = r.get("reviewer_display_name")
        r["_marked"] = [model_input(m.strip(), allow, name) for m in r.get("unsafe_sentences", [])]
        r["_sents"] = [model_input(s.text.strip(), allow, name) for s in split_sentences(r["reply"]) if s.text.strip()]
        r["_sent_windows"] = [sentence_windows(s) for s in r["_sents"]]
        r["_windows"] = [w for ws in r["_sent_windows"] for w in ws]
    texts = sorted({w for r in rows for w in r["_windows"]})
    emb = embed_all(texts)
    # the head reads the embedding and the guard's context cues (services/search/replies/classifier.py)
    sent_emb = {t: np.concatenate([e, context_features(t)]) for t, e in zip(texts, emb, strict=True)}

    # the settings by cross-validation (out-of-fold recall at out-of-fold false alarms <= TARGET_FAR)
    rules = rule_flags(rows, config)
    grid = []
    for l2, share in GRID:
        result = cross_validate(rows, sent_emb, l2, share, rules)
        grid.append(result)
        print(json.dumps(result))
    # ties go to the lower false-alarm rate, then to the stronger regularisation
    cv = max(grid, key=lambda g: (g["oof_guard_recall"], -g["oof_guard_false_alarm_rate"], g["l2"]))
    l2, safe_share, threshold = cv["l2"], cv["safe_share"], cv["threshold"]
    cv = {**cv, "grid": [{k: g[k] for k in ("l2", "safe_share", "threshold", "oof_guard_recall")} for g in grid]}
    print("chosen:", json.dumps({k: v for k, v in cv.items() if k != "grid"}))

    model = train(rows, sent_emb, l2, safe_share)
    OUT.mkdir(parents=True, exist_ok=True)
    head = OUT / "head.npz"
    Head(
        weight=model.weight.astype(np.float32).astype(np.float64),
        bias=model.bias,
        threshold=threshold,
        hidden_weight=np.asarray(model.hidden_weight, dtype=np.float32).astype(np.float64),
        hidden_bias=model.hidden_bias,
    ).save(head)
    n_examples = len(build_examples(rows, sent_emb, model)[0])
    manifest = {
        "name": "reply-guard",
        "version": "14.0.0",
        "task": "sentence-level classifier of unsafe content in a practice's public reply to a review (HIPAA)",
        "encoder": "models/topic-embedder (int8 ONNX all-MiniLM-L6-v2, mean pooling, unit norm; not fine-tuned)",
        "input": f"each sentence; a sentence over {WINDOW_WORDS} words as overlapping {WINDOW_WORDS}-word windows; "
        "the practice's configured staff written 'our colleague' and the reviewer's display name 'friend'",
        "context_features": list(CONTEXT_FEATURES),
        "head_file": "head.npz",
        "categories": list(CATEGORIES),
        "head": f"softmax(weight @ relu(hidden_weight @ features + hidden_bias) + bias), {HIDDEN} hidden units, L2 "
        f"{l2}, safe class {safe_share:.3f} of the loss (unsafe classes equal), {EPOCHS} full-batch Adam steps "
        f"(learning rate {LR}), seed {SEED}; L2 and safe share chosen by grouped 5-fold cross-validation",
        "decision": "a sentence is flagged when 1 - P(safe) >= threshold; its category is the most probable unsafe one",
        "threshold": threshold,
        "cross_validation": cv,
        "training_data": {
            "splits": list(TRAIN_SPLITS),
            "replies": len(rows),
            "sentence_examples": n_examples,
            "never_used": list(NEVER_USED),
        },
        "trained_by": "training/reply_guard/train.py",
        "files": {"head.npz": {"sha256": hashlib.sha256(head.read_bytes()).hexdigest(), "bytes": head.stat().st_size}},
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {head} ({head.stat().st_size} bytes), threshold {threshold}")


if __name__ == "__main__":
    main()
