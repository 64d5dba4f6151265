"""Import reviews from CSV or JSONL files into the ingest API.

``radar-import reviews.csv --api-key KEY`` (or ``python -m services.ingest.importer``).

Rows are validated locally with the same schema the API uses, so a bad row is reported with its
line number and never blocks the good ones; good rows go to ``POST /v1/mentions`` in batches.
Retrying a POST is safe because ingestion is idempotent by mention id, so transient 503/429
answers are retried with backoff.  Column names can be mapped for exports from other tools
(``--map text=Review --map rating=Stars``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from pydantic import ValidationError
from requests.adapters import HTTPAdapter
from tqdm import tqdm
from urllib3.util.retry import Retry

from common.schema import MentionIn, mention_id

_FIELDS = set(MentionIn.model_fields)


@dataclass
class ImportSummary:
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": len(self.rejected),
            "rejections": [{"line": line, "problem": problem} for line, problem in self.rejected[:100]],
        }


def read_rows(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) pairs; a line that is not a JSON object is yielded as an error."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if fmt == "csv":
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, dict(row)
        else:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, {"__error__": f"not valid JSON ({exc.msg})"}
                    continue
                yield number, value if isinstance(value, dict) else {"__error__": "not a JSON object"}


def apply_mapping(row: dict[str, Any], mapping: dict[str, str], defaults: dict[str, str]) -> dict[str, Any]:
    """Rename columns to schema fields, drop unknown and empty ones, and fill defaults."""
    renamed = {target: row.get(column) for target, column in mapping.items()}
    for key, value in row.items():
        if key in _FIELDS and key not in renamed:
            renamed[key] = value
    cleaned = {k: v for k, v in renamed.items() if k in _FIELDS and v not in (None, "")}
    for key, value in defaults.items():
        cleaned.setdefault(key, value)
    return cleaned


def _problem_text(exc: ValidationError) -> str:
    return "; ".join(
        ".".join(str(p) for p in err["loc"]) + f": {err['msg']}" if err["loc"] else err["msg"]
        for err in exc.errors(include_input=False, include_url=False)
    )


def make_session(api_key: str) -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=6,
        backoff_factor=0.5,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=frozenset({"POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.headers["Authorization"] = f"Bearer {api_key}"
    return session


class ImportFailed(RuntimeError):
    """The API refused a batch for a reason that retrying cannot fix (auth, server down)."""


def run_import(
    path: Path,
    *,
    url: str,
    api_key: str,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    defaults: dict[str, str] | None = None,
    batch_size: int = 200,
    dry_run: bool = False,
    progress: bool = True,
    session: requests.Session | None = None,
) -> ImportSummary:
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    mapping, defaults = mapping or {}, defaults or {}
    summary = ImportSummary()
    seen: set[str] = set()
    pending: list[tuple[int, dict[str, Any]]] = []
    session = session or make_session(api_key)

    def flush() -> None:
        if not pending or dry_run:
            summary.accepted += len(pending) if dry_run else 0
            pending.clear()
            return
        body = {"mentions": [item for _, item in pending]}
        response = session.post(f"{url.rstrip('/')}/v1/mentions", json=body, timeout=60)
        if response.status_code == 202:
            summary.accepted += response.json()["accepted"]
        elif response.status_code == 422:
            details = response.json()["error"].get("details", [])
            for detail in details:
                index = int(detail["field"].split("[", 1)[1].split("]", 1)[0])
                summary.rejected.append((pending[index][0], f"{detail['field']}: {detail['problem']}"))
            bad = {int(d["field"].split("[", 1)[1].split("]", 1)[0]) for d in details}
            retry_items = [p for i, p in enumerate(pending) if i not in bad]
            pending.clear()
            pending.extend(retry_items)
            if retry_items:
                flush()
            return
        else:
            error = (
                response.json().get("error", {})
                if response.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            raise ImportFailed(f"the API answered {response.status_code}: {error.get('message', response.text[:200])}")
        pending.clear()

    rows = read_rows(path, fmt)
    for line, row in tqdm(rows, desc=f"importing {path.name}", unit=" rows", disable=not progress):
        summary.rows += 1
        if "__error__" in row:
            summary.rejected.append((line, row["__error__"]))
            continue
        candidate = apply_mapping(row, mapping, defaults)
        try:
            item = MentionIn.model_validate(candidate)
        except ValidationError as exc:
            summary.rejected.append((line, _problem_text(exc)))
            continue
        key = mention_id(
            tenant=item.tenant or "",
            source=item.source,
            external_id=item.external_id,
            author=item.author,
            text=item.text,
            published_at=item.published_at,
        )
        if key in seen:
            summary.duplicates += 1
            continue
        seen.add(key)
        pending.append((line, item.model_dump(mode="json", exclude_none=True)))
        if len(pending) >= batch_size:
            flush()
    flush()
    return summary


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key or not target:
            raise SystemExit(f"{flag} expects FIELD=VALUE, got {value!r}")
        result[key.strip()] = target.strip()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="radar-import", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="a .csv or .jsonl file")
    parser.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file extension")
    parser.add_argument("--url", default=os.environ.get("RADAR_INGEST_URL", "http://127.0.0.1:8001"))
    parser.add_argument("--api-key", default=os.environ.get("RADAR_API_KEY"), help="default: $RADAR_API_KEY")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="take schema FIELD from the file's COLUMN (repeatable)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="default value for FIELD when a row has none, e.g. --set source=google",
    )
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--dry-run", action="store_true", help="validate and count only; send nothing")
    args = parser.parse_args(argv)

    if not args.file.is_file():
        parser.error(f"no such file: {args.file}")
    if not args.api_key and not args.dry_run:
        parser.error("an API key is needed: --api-key or RADAR_API_KEY")
    try:
        summary = run_import(
            args.file,
            url=args.url,
            api_key=args.api_key or "",
            fmt=args.format,
            mapping=_pairs(args.map, "--map"),
            defaults=_pairs(args.set, "--set"),
            batch_size=args.batch_size,
            dry_run=args.dry_run,
        )
    except (ImportFailed, requests.RequestException) as exc:
        print(f"import stopped: {exc}", file=sys.stderr)
        return 2
    report = summary.as_dict()
    report["dry_run"] = args.dry_run
    print(json.dumps(report, indent=2))
    return 1 if summary.rejected else 0


if __name__ == "__main__":
    sys.exit(main())
