#!/usr/bin/env python3
"""Weak supervision: keyword labelling functions over the train split -> one linear head per topic.

    .venv-train/bin/python training/topics/train_heads.py --data /work/shared/data/physician-reviews.jsonl \\
        --cache .devcarry/topics-cache

Inputs : <cache>/train.npz and <cache>/labelled.npz (extract_features.py: features of the train-split
         reviews and of the 321 hand-labelled reviews, from the shipped encoder), the review texts
         (for the keyword labelling functions only), training/topic_labels.jsonl.
Outputs: models/topic-embedder/heads.npz (weight [9, 777], bias [9], threshold [9], topics, features
         spec; standardisation folded into the weights), manifest.json (heads_file + sha256 of every
         file the runtime reads), the "weak_supervision" section of training/topics/metrics.json,
         tables on stdout.

1. Noisy targets: keywords.keyword_topics(text) on every train-split review (the labelling
   functions; the hand labels come from validation/test ids only, asserted below).
2. Features standardised with the train mean/sd; per topic sklearn LogisticRegression
   (class_weight="balanced", lbfgs) for each C in a grid; C chosen by average precision on the tune
   half of the hand labels; then the probability threshold with max F1 on the tune half (0.01 grid,
   middle of the first maximal run).  The eval half is used only for reporting.
3. The shipped heads are scored again through the runtime (TopicTagger.load -> score/tag) on the
   labelled reviews, next to the zero-shot method (same graph, topics.json thresholds) and the keyword
   baseline; all, random and enriched strata of the eval half.  Then tag() throughput on 500
   unlabelled validation/test reviews.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import half, measure_throughput, prf, table  # noqa: E402
from keywords import keyword_topics  # noqa: E402

from services.sentiment.model import sha256_file, verify_directory  # noqa: E402
from services.sentiment.topics import FEATURE_SPEC, TopicTagger  # noqa: E402

MODEL_DIR = REPO / "models" / "topic-embedder"
LABELS = REPO / "training" / "topic_labels.jsonl"
METRICS = REPO / "training" / "topics" / "metrics.json"
# Everything the runtime reads (MODEL_CARD.md deliberately not: editing the card must not break loading).
RUNTIME_FILES = ("model.int8.onnx", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "topics.json", "heads.npz")
C_GRID = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
P_GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)


def tune_threshold(p: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    f1s = []
    for th in P_GRID:
        pred = p >= th
        f1s.append(prf(int((pred & gold).sum()), int((pred & ~gold).sum()), int((~pred & gold).sum()))["f1"])
    arr = np.array(f1s)
    best = np.flatnonzero(arr == arr.max())
    run = [best[0]]
    for b in best[1:]:
        if b == run[-1] + 1:
            run.append(b)
        else:
            break
    return float(P_GRID[run[len(run) // 2]]), float(arr.max())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--bench", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    cfg = json.loads((MODEL_DIR / "topics.json").read_text())
    topics = [t["id"] for t in cfg["topics"]]
    labels = [json.loads(x) for x in LABELS.read_text().splitlines() if x.strip()]
    with gzip.open(REPO / "training" / "splits.json.gz") as fh:
        splits = json.load(fh)
    train_ids = set(splits["train"])
    assert not train_ids & {r["id"] for r in labels}, "hand-labelled ids must not be train ids"

    tr = np.load(args.cache / "train.npz")
    lab = np.load(args.cache / "labelled.npz")
    tr_ids = [str(i) for i in tr["ids"]]
    assert set(tr_ids) <= train_ids
    want = set(tr_ids) | {r["id"] for r in labels}
    allowed = set(splits["validation"]) | set(splits["test"])
    texts: dict[str, str] = {}
    pool: list[str] = []
    with open(args.data, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["id"] in want:
                texts[r["id"]] = r["text"]
            elif r["id"] in allowed:
                pool.append(r["text"])
    Xtr = tr["X"].astype(np.float64)
    Ytr = np.array([[t in kw for t in topics] for kw in (keyword_topics(texts[i]) for i in tr_ids)])
    weak_pos = {t: int(Ytr[:, k].sum()) for k, t in enumerate(topics)}
    print(f"train reviews {len(tr_ids)}; keyword positives: {json.dumps(weak_pos)}", flush=True)

    lab_ids = [str(i) for i in lab["ids"]]
    order = {i: n for n, i in enumerate(lab_ids)}
    ids = [r["id"] for r in labels]
    XL = lab["X"][[order[i] for i in ids]].astype(np.float64)
    gold = [set(r["topics"]) for r in labels]
    G = np.array([[t in g for t in topics] for g in gold])
    halves = np.array([half(i) for i in ids])
    strata = np.array([r["stratum"] for r in labels])
    tu, ev = halves == "tune", halves == "eval"

    mu, sd = Xtr.mean(axis=0), Xtr.std(axis=0) + 1e-6
    Ztr, ZL = (Xtr - mu) / sd, (XL - mu) / sd
    W = np.zeros((len(topics), Xtr.shape[1]))
    B = np.zeros(len(topics))
    TH = np.zeros(len(topics))
    chosen: dict[str, dict] = {}
    for k, t in enumerate(topics):
        t0 = time.perf_counter()
        best = None
        trace = {}
        for c in C_GRID:
            clf = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, tol=1e-5)
            clf.fit(Ztr, Ytr[:, k])
            p = clf.predict_proba(ZL[tu])[:, 1]
            ap_ = float(average_precision_score(G[tu, k], p))
            trace[str(c)] = ap_
            if best is None or ap_ > best[0]:
                best = (ap_, c, clf)
        assert best is not None
        ap_, c, clf = best
        p_tune = clf.predict_proba(ZL[tu])[:, 1]
        th, f1 = tune_threshold(p_tune, G[tu, k])
        w = clf.coef_[0] / sd
        W[k], B[k], TH[k] = w, float(clf.intercept_[0] - (clf.coef_[0] * mu / sd).sum()), th
        chosen[t] = {"C": c, "tune_average_precision": ap_, "tune_ap_by_C": trace, "threshold": th, "tune_f1": f1}
        print(f"{t:27s} C={c:<6} tune AP {ap_:.3f} th {th:.2f} tune F1 {f1:.3f} ({time.perf_counter() - t0:.0f}s)")

    np.savez(
        MODEL_DIR / "heads.npz",
        weight=W,
        bias=B,
        threshold=TH,
        topics=np.array(topics),
        features=np.array(FEATURE_SPEC),
    )
    manifest_path = MODEL_DIR / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.update(
        {
            "version": "1.1.0",
            "heads_file": "heads.npz",
            "task": (
                "multi-label radiology review topics: per-topic logistic heads on pooled int8 segment embeddings "
                "+ zero-shot prototype scores, trained by weak supervision (keyword labelling functions)"
            ),
            "description": (
                "Radiology review topics (9 ids, multi-label): logistic heads (heads.npz) on [max, mean] of segment "
                "embeddings + 9 zero-shot prototype similarities, trained on keyword-labelled train-split reviews; "
                "thresholds tuned on hand labels. See MODEL_CARD.md."
            ),
            "heads": {
                "features": FEATURE_SPEC,
                "probability": "sigmoid(features @ weight.T + bias) (standardisation folded into weight/bias)",
                "decision": "topic returned when probability >= threshold (per topic, tuned for F1 on the tune half)",
                "train_reviews": len(tr_ids),
                "targets": "keyword labelling functions (training/topics/keywords.py) on train-split reviews",
            },
        }
    )
    manifest["files"] = {
        rel: {"sha256": sha256_file(MODEL_DIR / rel), "bytes": (MODEL_DIR / rel).stat().st_size}
        for rel in RUNTIME_FILES
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")

    # ------------------------------------------------------------- evaluate through the runtime
    verify_directory(MODEL_DIR)
    tagger = TopicTagger.load(MODEL_DIR, intra_op_threads=args.threads)
    assert tagger.mode == "heads"
    zs = TopicTagger(MODEL_DIR, {**manifest, "heads_file": None}, intra_op_threads=args.threads)
    Ltexts = [texts[i] for i in ids]
    P = tagger.score(Ltexts)
    S = zs.score(Ltexts)
    offline = 1.0 / (1.0 + np.exp(-(XL @ W.T + B)))
    print(f"runtime vs offline (cached 1-thread features) max |dp| = {np.abs(P - offline).max():.2e}")
    ZTH = np.array([zs.thresholds[t] for t in topics])
    pred = {
        "weak_heads": [{t for k, t in enumerate(topics) if P[i, k] >= TH[k]} for i in range(len(ids))],
        "zero_shot": [{t for k, t in enumerate(topics) if S[i, k] >= ZTH[k]} for i in range(len(ids))],
        "keywords": [keyword_topics(x) for x in Ltexts],
    }
    assert [set(d) for d in tagger.tag(Ltexts[:40])] == pred["weak_heads"][:40]

    def sub(mask: np.ndarray) -> dict:
        idx = np.flatnonzero(mask)
        return {m: table([gold[i] for i in idx], [p[i] for i in idx], topics) for m, p in pred.items()}

    results = {
        "eval_all": sub(ev),
        "eval_random": sub(ev & (strata == "random")),
        "eval_enriched": sub(ev & (strata == "enriched")),
        "tune_all": sub(tu),
    }
    ap_eval = {t: float(average_precision_score(G[ev, k], P[ev, k])) for k, t in enumerate(topics)}
    ap_eval_zs = {t: float(average_precision_score(G[ev, k], S[ev, k])) for k, t in enumerate(topics)}
    for name in ("eval_all", "eval_random", "eval_enriched", "tune_all"):
        res = results[name]
        print(f"\n== {name}: n={res['keywords']['n_reviews']}")
        print(f"{'topic':27s} {'sup':>4s} | {'heads P':>7s} {'R':>5s} {'F1':>5s} | {'zs F1':>5s} | {'kw F1':>5s}")
        for t in topics:
            a, z, b = (res[m]["per_topic"][t] for m in ("weak_heads", "zero_shot", "keywords"))
            print(
                f"{t:27s} {a['support']:4d} | {a['precision']:7.2f} {a['recall']:5.2f} {a['f1']:5.2f} | "
                f"{z['f1']:5.2f} | {b['f1']:5.2f}"
            )
        for m in pred:
            mi = res[m]["micro"]
            print(
                f"{m:11s} micro P {mi['precision']:.3f} R {mi['recall']:.3f} F1 {mi['f1']:.3f} | "
                f"macro F1 {res[m]['macro_f1']:.3f} | exact {res[m]['exact_match']:.3f}"
            )
    print("\neval average precision, heads:", json.dumps({t: round(v, 3) for t, v in ap_eval.items()}))
    print("eval average precision, zero-shot:", json.dumps({t: round(v, 3) for t, v in ap_eval_zs.items()}))

    section: dict = {
        "method": "weak supervision: keyword labelling functions on train-split reviews -> per-topic logistic heads",
        "features": FEATURE_SPEC,
        "train_reviews": len(tr_ids),
        "train_keyword_positives": weak_pos,
        "c_grid": list(C_GRID),
        "heads": chosen,
        "results": results,
        "eval_average_precision": {"weak_heads": ap_eval, "zero_shot": ap_eval_zs},
    }
    if args.bench:
        sample = random.Random(0).sample(pool, args.bench)
        section["throughput"] = measure_throughput(tagger, sample, args.threads)
        print("\nthroughput:", json.dumps(section["throughput"]))
    metrics = json.loads(METRICS.read_text()) if METRICS.is_file() else {}
    metrics["weak_supervision"] = section
    METRICS.write_text(json.dumps(metrics, indent=2) + "\n")

    manifest["metrics_eval"] = {
        "n_reviews": results["eval_all"]["weak_heads"]["n_reviews"],
        "micro_f1": results["eval_all"]["weak_heads"]["micro"]["f1"],
        "macro_f1": results["eval_all"]["weak_heads"]["macro_f1"],
        "zero_shot_micro_f1": results["eval_all"]["zero_shot"]["micro"]["f1"],
        "zero_shot_macro_f1": results["eval_all"]["zero_shot"]["macro_f1"],
        "keyword_baseline_micro_f1": results["eval_all"]["keywords"]["micro"]["f1"],
        "keyword_baseline_macro_f1": results["eval_all"]["keywords"]["macro_f1"],
        "detail": "training/topics/metrics.json (weak_supervision)",
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    verify_directory(MODEL_DIR)
    print(f"\nwrote {MODEL_DIR / 'heads.npz'}, {manifest_path}, {METRICS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
