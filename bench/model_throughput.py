"""Scoring throughput of the shipped model against the PyTorch fp32 pipeline, in one run.

    .venv-train/bin/python bench/model_throughput.py --data ../shared/data/physician-reviews.jsonl

Needs the training environment (torch) for the baseline: ``transformers.pipeline(
"text-classification")`` on the same fine-tuned checkpoint (``models/review-sentiment/torch``,
fp16 weights loaded as fp32), with the same 256-token budget.  Both read the same reviews from
the doctor-disjoint test split, on the same number of threads.  Prints reviews/s for each, the
ratio, and the single-review latency of the runtime model (what ``/v1/analyze`` pays per text).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import percentile  # noqa: E402
from services.sentiment.model import SentimentModel  # noqa: E402


def test_reviews(data: Path, n: int) -> list[str]:
    with gzip.open(ROOT / "training" / "splits.json.gz", "rt", encoding="utf-8") as handle:
        wanted = set(json.load(handle)["test"])
    texts = []
    with data.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["id"] in wanted:
                texts.append(row["text"])
                if len(texts) == n:
                    break
    return texts


def time_runtime(texts: list[str], threads: int, batch: int) -> float:
    model = SentimentModel.load(ROOT / "models" / "review-sentiment", intra_op_threads=threads)
    model.predict(texts[:8])  # warm-up
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        model.predict(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - started)


def single_latency(texts: list[str], threads: int) -> list[float]:
    model = SentimentModel.load(ROOT / "models" / "review-sentiment", intra_op_threads=threads)
    model.predict(texts[:8])
    latencies = []
    for text in texts:
        started = time.perf_counter()
        model.predict([text])
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def time_torch_pipeline(texts: list[str], threads: int, batch: int) -> float:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    torch.set_num_threads(threads)
    directory = ROOT / "models" / "review-sentiment" / "torch"
    model = AutoModelForSequenceClassification.from_pretrained(directory, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    options = {"truncation": True, "max_length": 256, "batch_size": batch}
    classify(texts[:8], **options)
    started = time.perf_counter()
    classify(texts, **options)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "physician-reviews.jsonl")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    texts = test_reviews(args.data, args.n)
    runtime = time_runtime(texts, args.threads, args.batch)
    baseline = time_torch_pipeline(texts, args.threads, args.batch)
    latencies = single_latency(texts[:300], args.threads)
    report = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "threads": args.threads,
        "reviews": len(texts),
        "mean_chars": round(statistics.mean(len(t) for t in texts)),
        "runtime_int8_onnx_reviews_per_s": round(runtime, 1),
        "baseline_torch_fp32_pipeline_reviews_per_s": round(baseline, 1),
        "ratio": round(runtime / baseline, 2),
        "single_review_ms_p50": round(percentile(latencies, 0.5), 2),
        "single_review_ms_p95": round(percentile(latencies, 0.95), 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
