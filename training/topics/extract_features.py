#!/usr/bin/env python3
"""Review features from the shipped encoder, for weak supervision (train_heads.py).

    .venv/bin/python training/topics/extract_features.py --data /work/shared/data/physician-reviews.jsonl \\
        --split train --out .devcarry/topics-cache --workers 2

Features per review = TopicTagger.features(): [max over segments, mean over segments] of the int8
segment embeddings (768) + the 9 zero-shot prototype scores (the runtime computes exactly these).
--split train: reviews of the "train" ids of training/splits.json.gz (never validation/test);
--split labelled: the 321 hand-labelled reviews (training/topic_labels.jsonl).
--limit N with --seed: a random subset of N train reviews.  Output: <out>/<split>.npz with ids
and features (ids only, no text).  Workers each run one single-threaded ONNX session.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from services.sentiment.topics import TopicTagger  # noqa: E402

MODEL_DIR = REPO / "models" / "topic-embedder"
_TAGGER: TopicTagger | None = None


def _init(model_dir: str) -> None:
    global _TAGGER
    _TAGGER = TopicTagger.load(Path(model_dir), intra_op_threads=1)


def _work(texts: list[str]) -> np.ndarray:
    assert _TAGGER is not None
    return _TAGGER.features(texts)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", choices=["train", "labelled"], required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    args = ap.parse_args()

    if args.split == "train":
        with gzip.open(REPO / "training" / "splits.json.gz") as fh:
            want = set(json.load(fh)["train"])
    else:
        want = {json.loads(x)["id"] for x in (REPO / "training" / "topic_labels.jsonl").read_text().splitlines() if x}
    ids, texts = [], []
    with open(args.data, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["id"] in want and (args.split == "labelled" or r["text"].strip()):
                ids.append(r["id"])
                texts.append(r["text"])
    if args.limit and args.limit < len(ids):
        keep = sorted(random.Random(args.seed).sample(range(len(ids)), args.limit))
        ids, texts = [ids[i] for i in keep], [texts[i] for i in keep]
    print(f"{args.split}: {len(ids)} reviews", flush=True)
    chunk = 200
    jobs = [texts[i : i + chunk] for i in range(0, len(texts), chunk)]
    t0 = time.perf_counter()
    parts = []
    with mp.get_context("fork").Pool(args.workers, initializer=_init, initargs=(str(args.model_dir),)) as pool:
        for j, f in enumerate(pool.imap(_work, jobs)):
            parts.append(f)
            if j % 10 == 0:
                done = sum(len(p) for p in parts)
                el = time.perf_counter() - t0
                print(f"  {done}/{len(ids)} reviews, {el:.0f}s, {done / el:.1f} reviews/s", flush=True)
    X = np.concatenate(parts) if parts else np.zeros((0, 777), np.float32)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / f"{args.split}.npz", ids=np.array(ids), X=X)
    print(f"wrote {args.out / (args.split + '.npz')} {X.shape} in {time.perf_counter() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
