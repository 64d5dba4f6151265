"""Mastodon hashtag timelines and status search.

``params``: ``instance`` (base URL, e.g. ``https://mastodon.social``) and ``tag`` (hashtag
timeline ``/api/v1/timelines/tag/{tag}``) or ``query`` (``/api/v2/search?type=statuses``);
``access_token`` optional (``${ENV_VAR}``; search needs one on most instances).  Polling moves
forward with ``min_id`` (the newest id read), so each run reads only what is new; a backfill
walks back with ``max_id``.  Status HTML is reduced to text; the content warning is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.ingest.sources.base import Cursor, Page, SourceContext
from services.ingest.sources.config import SourceConfig, SourcesConfigError
from services.ingest.sources.http import BadPayload
from services.ingest.sources.text import as_dict, html_to_text, iso, parse_time, safe_url, short_name

PAGE_SIZE = 40


def _id_key(value: str) -> tuple[int, str]:
    return (len(value), value)  # Mastodon ids are decimal snowflakes: longer is newer


def status_to_item(status: dict[str, Any]) -> dict[str, Any] | None:
    status_id = status.get("id")
    if not isinstance(status_id, str) or not status_id:
        return None
    account = as_dict(status.get("account"))
    created = parse_time(status.get("created_at"))
    edited = parse_time(status.get("edited_at"))
    warning = html_to_text(status.get("spoiler_text"))
    body = html_to_text(status.get("content"))
    return {
        "kind": "post",
        "external_id": safe_url(status.get("uri")) or status_id,
        "url": safe_url(status.get("url")),
        "author": short_name(account.get("display_name")) or short_name(account.get("acct")),
        "text": "\n\n".join(p for p in (warning, body) if p),
        "language": status.get("language") if isinstance(status.get("language"), str) else None,
        "published_at": iso(created),
        "updated_at": iso(edited if edited and created and edited >= created else None),
    }


class MastodonTimeline:
    type = "mastodon"

    def pages(self, source: SourceConfig, cursor: Cursor, ctx: SourceContext, *, backfill: bool) -> Iterator[Page]:
        base = str(source.require("instance")).rstrip("/")
        tag, query = source.param("tag"), source.param("query")
        if tag:
            url, params = f"{base}/api/v1/timelines/tag/{str(tag).lstrip('#')}", {}
        elif query:
            url, params = f"{base}/api/v2/search", {"q": query, "type": "statuses"}
        else:
            raise SourcesConfigError(f"source {source.id!r} (mastodon) needs params.tag or params.query")
        token = source.param("access_token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        pages = 0
        while True:
            paging = {"max_id": cursor.get("max_id")} if backfill else {"min_id": cursor.get("since_id")}
            body = ctx.http.get(url, params={**params, **paging, "limit": PAGE_SIZE}, headers=headers, sleep=ctx.sleep)
            statuses = body.json()
            if isinstance(statuses, dict):
                statuses = statuses.get("statuses")
            if not isinstance(statuses, list):
                raise BadPayload(f"mastodon {source.id}: not a list of statuses")
            pages += 1
            ids = [s["id"] for s in statuses if isinstance(s, dict) and isinstance(s.get("id"), str)]
            items = [i for i in (status_to_item(s) for s in statuses if isinstance(s, dict)) if i is not None]
            if backfill:
                cursor = {"max_id": min(ids, key=_id_key)} if ids else {**cursor, "done": True}
            elif ids:
                cursor = {"since_id": max(ids, key=_id_key)}
            yield Page(items, dict(cursor), fetched=len(statuses))
            if not ids or (not backfill and len(ids) < PAGE_SIZE):
                return  # caught up
            if not backfill and not paging["min_id"]:
                return  # first run: the newest page sets the mark; older history is backfill's job
            if not backfill and pages >= ctx.settings.source_max_pages:
                return
