"""CSV export of any search, streamed page by page so a large export never sits in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from services.search.store.base import ExportRequest, MentionStore, SearchHit, SearchPage, SearchRequest

COLUMNS = [
    "id",
    "source",
    "kind",
    "location",
    "provider",
    "external_id",
    "url",
    "published_at",
    "updated_at",
    "rating",
    "language",
    "sentiment",
    "p_negative",
    "p_neutral",
    "p_positive",
    "stars",
    "basis",
    "author",
    "text",
]
_PAGE = 100
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas (OWASP "CSV injection"): review text is untrusted input."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def row_of(hit: SearchHit) -> list[Any]:
    mention = hit.mention
    sentiment = mention.get("sentiment") or {}
    probabilities = sentiment.get("probabilities") or {}
    values = {
        **{key: mention.get(key) for key in COLUMNS},
        "sentiment": sentiment.get("label"),
        "p_negative": probabilities.get("negative"),
        "p_neutral": probabilities.get("neutral"),
        "p_positive": probabilities.get("positive"),
        "stars": sentiment.get("stars"),
        "basis": sentiment.get("basis"),
    }
    return [safe_cell(values[key]) for key in COLUMNS]


class CsvExport:
    """Fetches the first page eagerly (so errors become a JSON answer), streams the rest."""

    def __init__(self, store: MentionStore, tenant: str, request: ExportRequest) -> None:
        self._store = store
        self._tenant = tenant
        self._request = request
        self._first = self._page(None)

    def _page(self, cursor: str | None) -> SearchPage:
        fields = self._request.model_dump(exclude={"limit"})
        return self._store.search(self._tenant, SearchRequest(**fields, size=_PAGE, cursor=cursor))

    def rows(self) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)

        def flush() -> str:
            text = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            return text

        writer.writerow(COLUMNS)
        yield "\ufeff" + flush()  # a BOM so spreadsheet programs read UTF-8
        page, written = self._first, 0
        while True:
            for hit in page.hits[: self._request.limit - written]:
                writer.writerow(row_of(hit))
                written += 1
            yield flush()
            if written >= self._request.limit or not page.next_cursor:
                return
            page = self._page(page.next_cursor)
