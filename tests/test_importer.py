"""The CSV/JSONL import CLI, against the ingest API served over real HTTP."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from services.ingest.importer import main, run_import
from tests.conftest import ADMIN_KEY, VIEWER_KEY


@pytest.fixture(scope="module")
def ingest_url(ingest_client) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, ingest_client.application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_csv_import_with_column_mapping_reports_accepted_duplicates_and_rejected(
    tmp_path: Path, ingest_url: str, unique: str
) -> None:
    rows = [
        {"Review ID": f"{unique}-1", "Stars": "5", "Review": "Lovely staff.", "Date": "2026-01-02T10:00:00Z"},
        {"Review ID": f"{unique}-2", "Stars": "1", "Review": "Lost my scans.", "Date": "2026-01-03T10:00:00Z"},
        {"Review ID": f"{unique}-1", "Stars": "5", "Review": "Lovely staff.", "Date": "2026-01-02T10:00:00Z"},
        {"Review ID": f"{unique}-3", "Stars": "7", "Review": "Off the scale.", "Date": "2026-01-04T10:00:00Z"},
        {"Review ID": f"{unique}-4", "Stars": "3", "Review": "Fine.", "Date": "last Tuesday"},
    ]
    path = write_csv(tmp_path / "export.csv", rows)
    summary = run_import(
        path,
        url=ingest_url,
        api_key=ADMIN_KEY,
        mapping={"external_id": "Review ID", "rating": "Stars", "text": "Review", "published_at": "Date"},
        defaults={"source": "birdeye"},
        batch_size=2,
        progress=False,
    )
    assert (summary.rows, summary.accepted, summary.duplicates) == (5, 2, 1)
    rejected = dict(summary.rejected)
    assert set(rejected) == {5, 6}, "line numbers count the header"
    assert "rating" in rejected[5] and "published_at" in rejected[6]


def test_jsonl_dry_run_sends_nothing_and_cli_exit_codes(tmp_path: Path, ingest_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "reviews.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"source": "yelp", "external_id": "y1", "text": "Good", "rating": 4}),
                "not json",
                json.dumps({"source": "yelp", "external_id": "y2", "text": "Bad", "rating": 1}),
            ]
        ),
        encoding="utf-8",
    )
    code = main([str(path), "--dry-run"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["dry_run"] is True
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert report["rejections"][0]["line"] == 2

    assert main([str(path), "--url", ingest_url, "--api-key", VIEWER_KEY]) == 2, "a viewer key cannot import"
    assert "403" in capsys.readouterr().err
