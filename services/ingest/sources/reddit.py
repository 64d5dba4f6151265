"""Reddit search and subreddit listings (JSON).

``params``: ``query`` (site-wide search, ``sort=new``) or ``subreddit`` (its ``new`` listing),
optionally both (search within the subreddit).  Pages follow ``after``; entries are newest
first by ``created_utc``.  ``edited`` (a timestamp) becomes ``updated_at``; a post whose body
reads ``[deleted]`` or ``[removed]`` is sent as a deletion of the same id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.ingest.sources.base import Cursor, Page, SourceContext
from services.ingest.sources.config import SourceConfig, SourcesConfigError
from services.ingest.sources.http import BadPayload
from services.ingest.sources.paging import Entry, newest_first
from services.ingest.sources.text import clean_text, iso, parse_time, short_name

_GONE = {"[deleted]", "[removed]"}


def post_to_entry(data: dict[str, Any], base_url: str, now_iso: str) -> Entry:
    created = parse_time(data.get("created_utc"))
    name = data.get("name") or (f"t3_{data['id']}" if data.get("id") else None)
    if not isinstance(name, str):
        return created, None
    body = clean_text(data.get("selftext") or data.get("body"))
    title = clean_text(data.get("title"))
    edited = data.get("edited")
    updated = parse_time(edited) if isinstance(edited, int | float) and not isinstance(edited, bool) else None
    permalink = data.get("permalink")
    item: dict[str, Any] = {
        "kind": "post" if data.get("title") is not None else "comment",
        "external_id": name,
        "url": f"{base_url.rstrip('/')}{permalink}" if isinstance(permalink, str) and permalink[:1] == "/" else None,
        "author": None if data.get("author") in _GONE else short_name(data.get("author")),
        "text": "\n\n".join(p for p in (title, body) if p and p not in _GONE),
        "published_at": iso(created),
        "updated_at": iso(updated if updated and created and updated >= created else None),
    }
    if body in _GONE:
        item.update(text="", deleted_at=now_iso)
    return created, item


class RedditListing:
    type = "reddit"

    def pages(self, source: SourceConfig, cursor: Cursor, ctx: SourceContext, *, backfill: bool) -> Iterator[Page]:
        base = ctx.settings.reddit_url.rstrip("/")
        query, subreddit = source.param("query"), source.param("subreddit")
        if subreddit and query:
            url, params = f"{base}/r/{subreddit}/search.json", {"q": query, "restrict_sr": "1", "sort": "new"}
        elif subreddit:
            url, params = f"{base}/r/{subreddit}/new.json", {}
        elif query:
            url, params = f"{base}/search.json", {"q": query, "sort": "new"}
        else:
            raise SourcesConfigError(f"source {source.id!r} (reddit) needs params.query or params.subreddit")

        def fetch(token: str | None) -> tuple[list[Entry], str | None]:
            body = ctx.http.get(url, params={**params, "limit": 100, "after": token, "raw_json": 1}, sleep=ctx.sleep)
            data = body.json_object().get("data")
            if not isinstance(data, dict) or not isinstance(data.get("children"), list):
                raise BadPayload(f"reddit {source.id}: not a listing")
            now_iso = ctx.clock().isoformat()
            entries = [
                post_to_entry(child["data"], base, now_iso)
                for child in data["children"]
                if isinstance(child, dict) and isinstance(child.get("data"), dict)
            ]
            after = data.get("after")
            return entries, after if isinstance(after, str) and after else None

        yield from newest_first(fetch, cursor, max_pages=None if backfill else ctx.settings.source_max_pages)
