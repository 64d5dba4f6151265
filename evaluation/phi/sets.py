"""The reply-guard evaluation sets as the benchmark and the training script read them.

One place knows which files hold reply records and how a reply's practice is configured (the
benchmark practice of ``staff.json`` plus the reply's own ``<split>_staff.json`` and
``<split>_contacts.json`` annotations), so a new split is a new file, not an edit in two scripts.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

EVAL = Path(__file__).resolve().parent
# replies.jsonl holds the generated splits and the merged hand-written ones (handwritten_replies.jsonl
# is its source); every other split has its own <split>_replies.jsonl.
_REPLY_FILES = ("replies.jsonl", "train*_replies.jsonl", "heldout*_replies.jsonl")


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def reply_records() -> list[dict[str, Any]]:
    """Every labelled reply of every split, in file order."""
    paths = [p for pattern in _REPLY_FILES for p in sorted(EVAL.glob(pattern), key=_natural)]
    return [r for path in paths for r in load_jsonl(path)]


def reply_splits(records: list[dict[str, Any]]) -> list[str]:
    """The splits of ``records`` in the order they first appear."""
    return list(dict.fromkeys(r["split"] for r in records))


@lru_cache(maxsize=1)
def benchmark_practice() -> dict[str, Any]:
    """The fictional practice of ``staff.json``: its staff allow-list and office phone."""
    return dict(json.loads((EVAL / "staff.json").read_text(encoding="utf-8")))


def practice_configuration() -> dict[str, dict[str, list[str]]]:
    """Per reply id, the practice's own ``staff`` and ``contacts`` that the reply uses (annotated blind to
    the guard): what a practice enters in its profile."""
    config: dict[str, dict[str, list[str]]] = {}
    for kind in ("staff", "contacts"):
        for path in sorted(EVAL.glob(f"*_{kind}.json")):
            if path.name == "staff.json":
                continue
            for reply_id, values in json.loads(path.read_text(encoding="utf-8")).items():
                config.setdefault(reply_id, {"staff": [], "contacts": []})[kind] = list(values)
    return config


def practice_guard(reply_id: str, config: dict[str, dict[str, list[str]]], classifier: Any = None) -> Any:
    """The reply guard of the reply's practice: the benchmark practice plus the reply's own staff and contacts."""
    from common.phi import PhiDetector
    from common.phi.replies import ReplyGuard

    base = benchmark_practice()
    here = config.get(reply_id, {"staff": [], "contacts": []})
    return ReplyGuard(
        PhiDetector([*base["staff"], *here["staff"]]),
        practice_phone=base["practice_phone"],
        classifier=classifier,
        practice_contacts=here["contacts"],
    )


def _natural(path: Path) -> tuple[str, int]:
    """heldout9 before heldout10."""
    stem = path.name.split("_")[0].split(".")[0]
    name = stem.rstrip("0123456789")
    return name, int(stem[len(name) :] or 0)
