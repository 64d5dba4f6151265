"""Paging through newest-first listings with a high-water mark (Google, Reddit, Bluesky).

The cursor holds ``since`` (the newest update time fully read), and while a pass is under way
``token`` (the next page) and ``pending`` (the newest time seen in this pass).  A pass stops at
the first entry older than ``since``; only then does ``since`` move to ``pending``.  So a pass cut
short by a crash, an error or the page limit resumes at its token, and entries that arrive
meanwhile are newer than ``pending`` and picked up by the next pass.  Entries exactly at
``since`` are read again on purpose (two reviews can share a timestamp) except the ones the cursor
lists in ``at_since``, which the previous pass already published unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from services.ingest.sources.base import Cursor, Page
from services.ingest.sources.http import BadPayload
from services.ingest.sources.text import iso, parse_time

Entry = tuple[datetime | None, dict[str, Any] | None]
"""(the entry's update time, its raw mention fields or None when it could not be used)."""

FetchPage = Callable[[str | None], tuple[list[Entry], str | None]]


def newest_first(fetch: FetchPage, cursor: Cursor, *, max_pages: int | None) -> Iterator[Page]:
    since = parse_time(cursor.get("since"))
    seen_at_since = set(cursor.get("at_since", []))
    token: str | None = cursor.get("token")
    pending = parse_time(cursor.get("pending")) or since
    at_pending = set(cursor.get("at_pending", [])) if cursor.get("pending") else set(seen_at_since)
    pages = 0
    while True:
        entries, next_token = fetch(token)
        pages += 1
        fresh: list[dict[str, Any]] = []
        reached_old = False
        for when, item in entries:
            external_id = item.get("external_id") if item else None
            if since is not None and when is not None and when < since:
                reached_old = True
                continue
            if since is not None and when == since and external_id in seen_at_since:
                continue  # read by the previous pass, unchanged
            if when is not None and (pending is None or when > pending):
                pending, at_pending = when, set()
            if when is not None and when == pending and external_id:
                at_pending.add(external_id)
            if item is not None:
                fresh.append(item)
        if reached_old or not next_token:
            yield Page(fresh, {"since": iso(pending), "at_since": sorted(at_pending)}, fetched=len(entries))
            return
        yield Page(
            fresh,
            {
                "since": iso(since),
                "at_since": sorted(seen_at_since),
                "token": next_token,
                "pending": iso(pending),
                "at_pending": sorted(at_pending),
            },
            fetched=len(entries),
        )
        if next_token == token:
            # A source that hands back the page it was asked for would be read forever (a backfill
            # has no page limit): stop, and let the run report it.
            raise BadPayload("the source returned the same page token again; paging stopped")
        token = next_token
        if max_pages is not None and pages >= max_pages:
            return
