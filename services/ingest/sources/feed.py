"""RSS 2.0 and Atom feeds (Google Alerts, news sites, blogs), parsed by feedparser.

``params``: ``url``.  Fetched conditionally (ETag / Last-Modified); feedparser is given the bytes
we fetched (it never fetches anything itself) and sanitises entry HTML, which is then reduced
to text.  Each entry becomes a ``post`` whose id is the entry's id (or link).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser

from services.ingest.sources.base import Cursor, Page, SourceContext
from services.ingest.sources.config import SourceConfig
from services.ingest.sources.http import BadPayload, _where
from services.ingest.sources.text import html_to_text, iso, safe_url, short_name


def _when(entry: Any, name: str) -> datetime | None:
    # dict.get, not entry.get: feedparser's own get maps a missing updated_* to published_* (with a warning).
    parsed = dict.get(entry, f"{name}_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def entry_to_item(entry: Any) -> dict[str, Any] | None:
    external = entry.get("id") or entry.get("link")
    if not external:
        return None
    title = html_to_text(entry.get("title", ""))
    summary = html_to_text(entry.get("summary", ""))
    published = _when(entry, "published") or _when(entry, "updated")
    updated = _when(entry, "updated")
    return {
        "kind": "post",
        "external_id": str(external)[:256],
        "url": safe_url(entry.get("link")),
        "author": short_name(entry.get("author")),
        "text": "\n\n".join(p for p in (title, summary) if p),
        "published_at": iso(published),
        "updated_at": iso(updated if updated and published and updated >= published else None),
    }


class Feed:
    type = "feed"

    def pages(self, source: SourceConfig, cursor: Cursor, ctx: SourceContext, *, backfill: bool) -> Iterator[Page]:
        url = str(source.require("url"))
        headers = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5"}
        if cursor.get("etag") and not backfill:
            headers["If-None-Match"] = cursor["etag"]
        if cursor.get("modified") and not backfill:
            headers["If-Modified-Since"] = cursor["modified"]
        response = ctx.http.get(url, headers=headers, ok=(200, 304), sleep=ctx.sleep)
        if response.status == 304:
            yield Page([], dict(cursor), fetched=0)
            return
        parsed = feedparser.parse(response.body, sanitize_html=True, resolve_relative_uris=False)
        if parsed.bozo and not parsed.entries:
            raise BadPayload(f"{_where(url)}: not a readable RSS or Atom feed")
        items = [i for i in (entry_to_item(e) for e in parsed.entries) if i is not None]
        for item in items:
            item["source"] = source.source or "news"
        next_cursor = {"etag": response.headers.get("ETag"), "modified": response.headers.get("Last-Modified")}
        yield Page(items, {k: v for k, v in next_cursor.items() if v}, fetched=len(parsed.entries))
