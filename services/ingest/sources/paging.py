"""Paging through newest-first listings with a high-water mark (Google, Reddit, Bluesky).

The cursor holds ``since`` (the newest update time fully read), and while a pass is under way
``token`` (the next page) and ``pending`` (the newest time seen in this pass).  A pass stops at
the first entry older than ``since``; only then does ``since`` move to ``pending``.  So a pass cut
short by a crash, an error or the page limit resumes at its token, and entries that arrive
meanwhile are newer than ``pending`` and picked up by the next pass.  Entries exactly at
``since`` are read again on purpose: two reviews can share a timestamp, and a repeat is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from services.ingest.sources.base import Cursor, Page
from services.ingest.sources.text import iso, parse_time

Entry = tuple[datetime | None, dict[str, Any] | None]
"""(the entry's update time, its raw mention fields or None when it could not be used)."""

FetchPage = Callable[[str | None], tuple[list[Entry], str | None]]


def newest_first(fetch: FetchPage, cursor: Cursor, *, max_pages: int | None) -> Iterator[Page]:
    since = parse_time(cursor.get("since"))
    token: str | None = cursor.get("token")
    pending = parse_time(cursor.get("pending")) or since
    pages = 0
    while True:
        entries, next_token = fetch(token)
        pages += 1
        fresh: list[dict[str, Any]] = []
        reached_old = False
        for when, item in entries:
            if since is not None and when is not None and when < since:
                reached_old = True
                continue
            if when is not None and (pending is None or when > pending):
                pending = when
            if item is not None:
                fresh.append(item)
        if reached_old or not next_token:
            yield Page(fresh, {"since": iso(pending)}, fetched=len(entries))
            return
        yield Page(fresh, {"since": iso(since), "token": next_token, "pending": iso(pending)}, fetched=len(entries))
        token = next_token
        if max_pages is not None and pages >= max_pages:
            return
