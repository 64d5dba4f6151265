"""Scoring throughput of the shipped model against the PyTorch fp32 pipeline, in one run.

    .venv-train/bin/python bench/model_throughput.py --data ../shared/data/physician-reviews.jsonl

Needs the training environment (torch) for the baseline: ``transformers.pipeline(
"text-classification")`` on the same fine-tuned checkpoint (``models/review-sentiment/torch``,
fp16 weights loaded as fp32), with the same 256-token budget.  Both read the same reviews from
the doctor-disjoint test split, on the same number of threads.  Prints reviews/s for each, the
ratio, and the single-review latency of the runtime model (what ``/v1/analyze`` pays per text).

    .venv/bin/python bench/model_throughput.py --pipeline --n 300 --rounds 2

``--pipeline`` (services venv, no torch) instead times the sentiment worker's whole per-mention
scoring path, ``ScoringProcessor.process`` on raw-topic records in batches of
``RADAR_SENTIMENT_BATCH_SIZE`` (decode, language check, sentiment model, topic tagger, encode),
as configured now (both models at once, ``worker_model_threads`` each, no spin-waiting) against
the previous configuration measured in the same run (the models one after the other, one thread
per core each, ONNX Runtime's default spin-waiting).  The two alternate for ``--rounds`` rounds on
the same records; it prints mentions/s of each (best round and all rounds), the ratio of the best
rounds, the CPU time per mention of each round (all threads of this process, spin-waiting
included: what the worker takes from the other services on a shared machine), and whether the
two produced identical scored mentions.
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

MODEL_DIR = ROOT / "models" / "review-sentiment"
TOPIC_DIR = ROOT / "models" / "topic-embedder"


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
    model = SentimentModel.load(MODEL_DIR, intra_op_threads=threads)
    model.predict(texts[:8])  # warm-up
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        model.predict(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - started)


def single_latency(texts: list[str], threads: int) -> list[float]:
    model = SentimentModel.load(MODEL_DIR, intra_op_threads=threads)
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


def pipeline_records(texts: list[str]) -> list:
    """Raw-topic records as the worker consumes them, one per review."""
    from datetime import UTC, datetime

    from common.bus import Record
    from common.schema import Mention

    now = datetime.now(UTC)
    records = []
    for i, text in enumerate(texts):
        mention = Mention(id=f"{i:032x}", tenant="bench", source="bench", text=text, fetched_at=now, ingested_at=now)
        records.append(
            Record(
                topic="raw",
                partition=0,
                offset=i,
                key=b"bench",
                value=mention.model_dump_json().encode(),
                timestamp_ms=0,
            )
        )
    return records


def time_pipeline(processor, records: list, batch: int) -> tuple[float, float, list[dict]]:
    """Mentions/s and CPU ms (all threads) per mention of ``processor.process`` over ``records``
    in worker-sized batches, and the results."""
    processor.process(records[:4])  # warm-up
    results: list[dict] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(0, len(records), batch):
        for messages in processor.process(records[i : i + batch]).values():
            results.extend(json.loads(m.value) for m in messages)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    for r in results:
        r.pop("scored_at")
    return len(records) / seconds, 1000 * cpu / len(records), sorted(results, key=lambda r: r["id"])


def pipeline_report(texts: list[str], rounds: int) -> dict:
    from common.settings import Settings
    from services.sentiment.scoring import ScoringProcessor
    from services.sentiment.topics import TopicTagger
    from services.sentiment.worker import model_threads, worker_model_threads

    settings = Settings()
    cores = len(os.sched_getaffinity(0))
    records = pipeline_records(texts)
    old_threads, new_threads = model_threads(settings), worker_model_threads(settings)
    previous = ScoringProcessor(
        SentimentModel.load(MODEL_DIR, intra_op_threads=old_threads, spin_wait=True),
        TopicTagger.load(TOPIC_DIR, intra_op_threads=old_threads, spin_wait=True),
        settings.topics,
        concurrent_models=False,
    )
    current = ScoringProcessor(
        SentimentModel.load(MODEL_DIR, intra_op_threads=new_threads),
        TopicTagger.load(TOPIC_DIR, intra_op_threads=new_threads),
        settings.topics,
    )
    runs: dict[str, list[float]] = {"previous": [], "current": []}
    cpu_ms: dict[str, list[float]] = {"previous": [], "current": []}
    outputs: dict[str, list[dict]] = {}
    for _ in range(rounds):
        for name, processor in (("previous", previous), ("current", current)):
            rate, ms, outputs[name] = time_pipeline(processor, records, settings.sentiment_batch_size)
            runs[name].append(round(rate, 1))
            cpu_ms[name].append(round(ms, 1))
    current.close()
    best_previous, best_current = max(runs["previous"]), max(runs["current"])
    return {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores ({cores} usable)",
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "reviews": len(texts),
        "mean_chars": round(statistics.mean(len(t) for t in texts)),
        "batch": settings.sentiment_batch_size,
        "previous_path": f"sequential, {old_threads} intra-op threads per model, spin-waiting",
        "current_path": f"concurrent, {new_threads} intra-op thread(s) per model, no spin-waiting",
        "previous_mentions_per_s": best_previous,
        "current_mentions_per_s": best_current,
        "previous_rounds": runs["previous"],
        "current_rounds": runs["current"],
        "ratio": round(best_current / best_previous, 2),
        "previous_cpu_ms_per_mention": cpu_ms["previous"],
        "current_cpu_ms_per_mention": cpu_ms["current"],
        "identical_outputs": outputs["previous"] == outputs["current"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "physician-reviews.jsonl")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--pipeline", action="store_true", help="time the worker's whole scoring path instead")
    parser.add_argument("--rounds", type=int, default=2, help="--pipeline: alternating rounds of each path")
    args = parser.parse_args()

    texts = test_reviews(args.data, args.n)
    if args.pipeline:
        print(json.dumps(pipeline_report(texts, args.rounds), indent=2))
        return
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
