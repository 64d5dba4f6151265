#!/usr/bin/env python3
"""Draw the reviews that were hand-labelled for topics (reproducible; prints id + text to read).

    python training/topics/sample_for_labelling.py --data /work/shared/data/physician-reviews.jsonl \
        --out /tmp/topic_sample.jsonl

Only reviews whose id is in the "validation" or "test" lists of training/splits.json.gz are
eligible (never the sentiment model's training data).  Two strata:

* random   : RANDOM_N reviews drawn uniformly (seed SEED) from the eligible, non-empty reviews.
* enriched : ENRICHED_PER_GROUP reviews per keyword group below, drawn uniformly (seed SEED+1)
             among eligible reviews not already drawn whose lower-cased text matches the group's
             regex.  The groups target the topics that are rare in a physician corpus
             (technologist, results/report, radiologist communication, imaging facility/equipment).
             A review is drawn at most once (first group wins).

The output (with text) is for reading only and must not be committed; the committed labels
(training/topic_labels.jsonl) hold ids and topics only.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED = 20261128
RANDOM_N = 200
ENRICHED_PER_GROUP = 33
ENRICH_GROUPS = {
    "technologist": r"\b(technician|technologist|tech|techs|sonographer|x-?ray tech|mri tech)\b",
    "results_report": r"\b(results?|report|reports|findings|read (my|the))\b",
    "imaging": r"\b(mri|ct scan|cat scan|x-?rays?|ultrasound|mammogram|scan|scans|imaging|radiolog\w*)\b",
    "explained": r"\b(explain\w*|went over|walked me through|answered (all )?(my )?questions)\b",
}


def eligible(data: Path) -> list[dict]:
    with gzip.open(REPO / "training" / "splits.json.gz") as fh:
        splits = json.load(fh)
    allowed = set(splits["validation"]) | set(splits["test"])
    rows = []
    with open(data, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["id"] in allowed and r["text"].strip():
                rows.append(r)
    rows.sort(key=lambda r: r["id"])
    return rows


def draw(data: Path) -> list[tuple[str, str, dict]]:
    rows = eligible(data)
    rng = random.Random(SEED)
    picked = rng.sample(rows, RANDOM_N)
    out = [("random", "", r) for r in picked]
    taken = {r["id"] for r in picked}
    rng2 = random.Random(SEED + 1)
    for group, pat in ENRICH_GROUPS.items():
        rx = re.compile(pat)
        cands = [r for r in rows if r["id"] not in taken and rx.search(r["text"].lower())]
        for r in rng2.sample(cands, min(ENRICHED_PER_GROUP, len(cands))):
            out.append(("enriched", group, r))
            taken.add(r["id"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    with open(args.out, "w", encoding="utf-8") as fh:
        for stratum, group, r in draw(args.data):
            fh.write(
                json.dumps(
                    {"id": r["id"], "stratum": stratum, "group": group, "specialty": r["specialty"], "text": r["text"]}
                )
                + "\n"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
