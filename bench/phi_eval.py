"""Precision and recall of the PHI detector and the reply guard on the synthetic evaluation sets.

    .venv/bin/python bench/phi_eval.py                 # both sets, dev and held-out splits
    .venv/bin/python bench/phi_eval.py --errors dev    # also list dev misses/false alarms (synthetic text)

Detector: a gold span counts as found when a detected span of the same type overlaps it; a
detected span that overlaps no gold span of its type is a false positive.  "Structured" pools
phones, faxes, emails, SSNs, record/plan/account numbers and dates (target recall >= 0.95);
names have their own target (>= 0.85).  Reply guard: recall on unsafe replies (>= 0.95) and
false-alarm rate on safe ones (<= 0.10).  Also measured: the detector's import time, memory
and per-text latency, on the evaluation texts and, when ``--reviews`` exists, on real reviews
(their texts are never printed).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import percentile  # noqa: E402
from evaluation.phi.sets import (  # noqa: E402
    benchmark_practice,
    load_jsonl,
    practice_configuration,
    practice_guard,
    reply_records,
    reply_splits,
)

EVAL = ROOT / "evaluation" / "phi"
STRUCTURED = {"PHONE", "FAX", "EMAIL", "SSN", "MRN", "HEALTH_PLAN", "ACCOUNT", "DATE"}


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def evaluate_detector(records: Iterable[dict[str, Any]], detector: Any, errors: bool = False) -> dict[str, Any]:
    gold_n: Counter[str] = Counter()
    found: Counter[str] = Counter()
    pred_n: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    latencies: list[float] = []
    for record in records:
        text = record["text"]
        started = time.perf_counter()
        spans = detector.detect(text)
        latencies.append((time.perf_counter() - started) * 1000)
        gold = record["gold"]
        for g in gold:
            gold_n[g["type"]] += 1
            hit = any(s.type.value == g["type"] and s.start < g["end"] and g["start"] < s.end for s in spans)
            found[g["type"]] += hit
            if errors and not hit:
                print(f"  MISS {g['type']:<11} {text[g['start'] : g['end']]!r:<40} in {record['id']}: {text!r}")
        for s in spans:
            pred_n[s.type.value] += 1
            ok = any(s.type.value == g["type"] and s.start < g["end"] and g["start"] < s.end for g in gold)
            correct[s.type.value] += ok
            if errors and not ok:
                print(
                    f"  FP   {s.type.value:<11} {text[s.start : s.end]!r:<40} ({s.source}) in {record['id']}: {text!r}"
                )
    rows = {}
    for kind in sorted(set(gold_n) | set(pred_n)):
        rows[kind] = {
            "gold": gold_n[kind],
            "predicted": pred_n[kind],
            "precision": _ratio(correct[kind], pred_n[kind]),
            "recall": _ratio(found[kind], gold_n[kind]),
        }

    def pooled(kinds: set[str]) -> dict[str, Any]:
        g = sum(gold_n[k] for k in kinds)
        p = sum(pred_n[k] for k in kinds)
        return {
            "gold": g,
            "predicted": p,
            "precision": _ratio(sum(correct[k] for k in kinds), p),
            "recall": _ratio(sum(found[k] for k in kinds), g),
        }

    rows["(structured)"] = pooled(STRUCTURED)
    rows["(all)"] = pooled(set(gold_n) | set(pred_n))
    return {"rows": rows, "latency_ms": latencies}


def print_detector(title: str, result: dict[str, Any]) -> None:
    print(f"\n{title}")
    print(f"  {'type':<14}{'gold':>6}{'pred':>6}  precision  recall")
    for kind, row in result["rows"].items():
        print(f"  {kind:<14}{row['gold']:>6}{row['predicted']:>6}  {_fmt(row['precision'])}     {_fmt(row['recall'])}")
    lat = result["latency_ms"]
    print(f"  latency per text: p50 {percentile(lat, 0.5):.2f} ms, p95 {percentile(lat, 0.95):.2f} ms")


def evaluate_guard(
    records: list[dict[str, Any]], guard: Any, errors: bool = False, configured: Any = None
) -> dict[str, Any]:
    """Score ``guard`` on ``records``; ``configured(record)``, when given, returns the guard of that
    record's practice (its staff and contacts), as a deployment configures them in the profile."""
    tp = fn = fp = tn = 0
    by_reason: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    latencies: list[float] = []
    for record in records:
        guard_here = configured(record) if configured else guard
        started = time.perf_counter()
        result = guard_here.check(
            record["reply"], review=record.get("review"), reviewer_display_name=record.get("reviewer_display_name")
        )
        latencies.append((time.perf_counter() - started) * 1000)
        flagged = not result.safe
        if record["label"] == "unsafe":
            tp += flagged
            fn += not flagged
            for reason in record["reasons"]:
                by_reason[reason][0] += 1
                by_reason[reason][1] += flagged
            if errors and not flagged:
                print(f"  MISS {record['id']} {record['reasons']}: {record['reply']!r}")
        else:
            fp += flagged
            tn += not flagged
            if errors and flagged:
                print(f"  FALSE ALARM {record['id']} {[f.type for f in result.findings]}: {record['reply']!r}")
    return {"tp": tp, "fn": fn, "fp": fp, "tn": tn, "by_reason": dict(by_reason), "latency_ms": latencies}


def _summary_cell(r: dict[str, Any]) -> str:
    unsafe, safe = r["tp"] + r["fn"], r["fp"] + r["tn"]
    return f"{_fmt(_ratio(r['tp'], unsafe))} ({r['tp']}/{unsafe}) FAR {_fmt(_ratio(r['fp'], safe))} ({r['fp']}/{safe})"


def print_guard(title: str, r: dict[str, Any]) -> None:
    unsafe, safe = r["tp"] + r["fn"], r["fp"] + r["tn"]
    print(f"\n{title}: {unsafe} unsafe, {safe} safe replies")
    print(f"  recall on unsafe     {_fmt(_ratio(r['tp'], unsafe))}  ({r['tp']}/{unsafe})")
    print(f"  precision            {_fmt(_ratio(r['tp'], r['tp'] + r['fp']))}")
    print(f"  false-alarm rate     {_fmt(_ratio(r['fp'], safe))}  ({r['fp']}/{safe})")
    for reason, (n, hit) in sorted(r["by_reason"].items()):
        print(f"    recall {reason:<22} {_fmt(_ratio(hit, n))}  ({hit}/{n})")
    lat = r["latency_ms"]
    print(f"  latency per reply: p50 {percentile(lat, 0.5):.2f} ms, p95 {percentile(lat, 0.95):.2f} ms")


def import_cost() -> str:
    """Import time and RSS of a fresh interpreter that imports the detector and builds it."""
    code = (
        "import time,resource;t=time.perf_counter();from common.phi import PhiDetector;"
        "a=time.perf_counter()-t;d=PhiDetector();d.detect('warm up Maria 312-555-0100');"
        "b=time.perf_counter()-t;"
        "print(f'import {a*1000:.0f} ms, import+first detect {b*1000:.0f} ms, '"
        "f'max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MB')"
    )
    base = subprocess.run(
        [sys.executable, "-c", "import resource;print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return f"{out.stdout.strip()} (bare interpreter {int(base.stdout) / 1024:.0f} MB)"


def real_reviews(path: Path, detector: Any, n: int) -> None:
    texts = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            texts.append(json.loads(line)["text"])
            if len(texts) >= n:
                break
    counts: Counter[str] = Counter()
    latencies = []
    for text in texts:
        started = time.perf_counter()
        spans = detector.detect(text)
        latencies.append((time.perf_counter() - started) * 1000)
        counts.update(s.type.value for s in spans)
    chars = sum(len(t) for t in texts) / len(texts)
    print(f"\nReal reviews ({len(texts)}, mean {chars:.0f} characters; no gold, texts not shown)")
    print(f"  latency per review: p50 {percentile(latencies, 0.5):.2f} ms, p95 {percentile(latencies, 0.95):.2f} ms")
    print(
        "  detections per 100 reviews: " + ", ".join(f"{k} {v * 100 / len(texts):.1f}" for k, v in counts.most_common())
    )


def main() -> None:
    replies = reply_records()
    reply_split_names = reply_splits(replies)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--errors",
        choices=[*reply_split_names, *(f"{split}+cfg" for split in reply_split_names)],
        help="list the errors of one split (+cfg: with its practices' staff and contacts configured)",
    )
    parser.add_argument("--splits", nargs="+", choices=reply_split_names, help="reply splits to score (default: all)")
    parser.add_argument("--reviews", type=Path, default=ROOT.parent / "shared" / "data" / "physician-reviews.jsonl")
    parser.add_argument("--n-reviews", type=int, default=2000)
    parser.add_argument("--only", choices=["detector", "replies"])
    parser.add_argument(
        "--model", type=Path, default=ROOT / "models" / "reply-guard", help="reply-guard model directory to score"
    )
    args = parser.parse_args()

    from common.phi import PhiDetector

    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, Python {platform.python_version()}, "
        f"{platform.system()}"
    )
    print(f"detector: {import_cost()}")
    staff = benchmark_practice()
    detector = PhiDetector(staff["staff"])
    if args.only in (None, "detector"):
        records = load_jsonl(EVAL / "detector.jsonl")
        for split in reply_splits(records):
            subset = [r for r in records if r["split"] == split]
            result = evaluate_detector(subset, detector, errors=args.errors == split)
            print_detector(f"Detector, {split} split ({len(subset)} texts)", result)
        if args.reviews.exists():
            real_reviews(args.reviews, detector, args.n_reviews)
    if args.only in (None, "replies") and replies:
        from common.phi.replies import ReplyGuard
        from services.search.replies.classifier import ReplyClassifier

        classifier = ReplyClassifier.load(args.model, ROOT / "models" / "topic-embedder")
        rules = ReplyGuard(detector, practice_phone=staff["practice_phone"])
        combined = ReplyGuard(detector, practice_phone=staff["practice_phone"], classifier=classifier)
        trained = json.loads((args.model / "manifest.json").read_text())
        print(
            f"\nReply guard, model {trained['version']} ({args.model}): trained on "
            f"{', '.join(trained['training_data']['splits'])} (its numbers there are training-set numbers); "
            f"never used for training or tuning: {', '.join(trained['training_data']['never_used'])}."
        )
        config = practice_configuration()
        summary = []
        for split in args.splits or reply_split_names:
            subset = [r for r in replies if r["split"] == split]
            if not subset:
                continue
            row = [split]
            for name, guard in (("rules only", rules), ("rules + model", combined)):
                r = evaluate_guard(subset, guard, errors=args.errors == split and name == "rules + model")
                print_guard(f"Reply guard ({name}), {split} split", r)
                row.append(_summary_cell(r))
            summary.append(row)
            if any(r["id"] in config for r in subset):
                row = [f"{split}+cfg"]
                for name, model in (("rules only", None), ("rules + model", classifier)):
                    r = evaluate_guard(
                        subset,
                        None,
                        errors=args.errors == f"{split}+cfg" and name == "rules + model",
                        configured=lambda record, model=model: practice_guard(record["id"], config, model),
                    )
                    print_guard(f"Reply guard ({name}), {split} split, each practice's staff and contacts set", r)
                    row.append(_summary_cell(r))
                summary.append(row)
        print("\nReply guard summary: recall on unsafe, false-alarm rate on safe")
        print(f"  {'split':<13} {'rules only':<38} rules + model")
        for split, a, b in summary:
            print(f"  {split:<13} {a:<38} {b}")
    print(f"\nmax RSS of this run: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
