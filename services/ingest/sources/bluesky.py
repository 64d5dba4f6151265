"""Bluesky post search (``app.bsky.feed.searchPosts`` on the public AppView).

``params``: ``query`` (Lucene-like search string), optional ``lang``.  ``sort=latest`` lists
newest first by ``indexedAt`` with a ``cursor``; the id is the post's ``at://`` URI.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.ingest.sources.base import Cursor, Page, SourceContext
from services.ingest.sources.config import SourceConfig
from services.ingest.sources.http import BadPayload
from services.ingest.sources.paging import Entry, newest_first
from services.ingest.sources.text import as_dict, clean_text, iso, parse_time, short_name


def post_to_entry(post: dict[str, Any]) -> Entry:
    indexed = parse_time(post.get("indexedAt"))
    uri = post.get("uri")
    record = as_dict(post.get("record"))
    author = as_dict(post.get("author"))
    if not isinstance(uri, str) or not uri.startswith("at://"):
        return indexed, None
    handle = author.get("handle")
    rkey = uri.rsplit("/", 1)[-1]
    created = parse_time(record.get("createdAt"))
    langs = record.get("langs")
    return indexed, {
        "kind": "post",
        "external_id": uri,
        "url": f"https://bsky.app/profile/{handle}/post/{rkey}" if isinstance(handle, str) and handle else None,
        "author": short_name(author.get("displayName")) or short_name(handle),
        "text": clean_text(record.get("text")),
        "language": langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        "published_at": iso(created if created and (indexed is None or created <= indexed) else indexed),
    }


class BlueskySearch:
    type = "bluesky"

    def pages(self, source: SourceConfig, cursor: Cursor, ctx: SourceContext, *, backfill: bool) -> Iterator[Page]:
        url = f"{ctx.settings.bluesky_url.rstrip('/')}/xrpc/app.bsky.feed.searchPosts"
        query = str(source.require("query"))

        def fetch(token: str | None) -> tuple[list[Entry], str | None]:
            params = {"q": query, "sort": "latest", "limit": 100, "cursor": token, "lang": source.param("lang")}
            body = ctx.http.get(url, params=params, sleep=ctx.sleep).json_object()
            posts = body.get("posts")
            if not isinstance(posts, list):
                raise BadPayload(f"bluesky {source.id}: 'posts' is not a list")
            next_cursor = body.get("cursor")
            return [post_to_entry(p) for p in posts if isinstance(p, dict)], (
                next_cursor if isinstance(next_cursor, str) and next_cursor else None
            )

        yield from newest_first(fetch, cursor, max_pages=None if backfill else ctx.settings.source_max_pages)
