"""Google Business Profile reviews (API v4 ``accounts.locations.reviews``).

``params``: ``location`` (``accounts/{a}/locations/{l}``), ``access_token`` (an OAuth token,
written as ``${ENV_VAR}``).  Lists ``orderBy=updateTime desc`` with ``pageSize`` 50 and
``pageToken``, so an edit (a new ``updateTime``) comes back at the top and updates the same
mention (the id is the review's ``name``).  ``starRating`` ``ONE``..``FIVE`` maps to 1-5; an
anonymous reviewer has no name.  The push path (Pub/Sub notifications) fetches single reviews
with ``fetch_review``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from services.ingest.sources.base import Cursor, Page, SourceContext
from services.ingest.sources.config import SourceConfig
from services.ingest.sources.http import BadPayload, SafeHttpClient, SourceNotFound
from services.ingest.sources.paging import Entry, newest_first
from services.ingest.sources.text import as_dict, clean_text, iso, parse_time, short_name

STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
PAGE_SIZE = 50  # the API's maximum


def review_to_item(review: dict[str, Any]) -> Entry:
    """One review resource as raw mention fields, with its update time."""
    name = review.get("name") or review.get("reviewId")
    updated = parse_time(review.get("updateTime"))
    created = parse_time(review.get("createTime"))
    if not isinstance(name, str) or not name:
        return updated, None
    reviewer = as_dict(review.get("reviewer"))
    item: dict[str, Any] = {
        "kind": "review",
        "external_id": name,
        "text": clean_text(review.get("comment")),
        "rating": STARS.get(str(review.get("starRating"))),
        "author": None if reviewer.get("isAnonymous") else short_name(reviewer.get("displayName")),
        "published_at": iso(created),
        "updated_at": iso(updated if updated and (created is None or updated >= created) else created),
    }
    return updated or created, item


def _headers(source: SourceConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {source.require('access_token')}"}


def fetch_review(
    http: SafeHttpClient, base_url: str, source: SourceConfig, review_name: str, now: datetime
) -> dict[str, Any] | None:
    """One review by name (push path); a deleted review (404) comes back as a deletion."""
    try:
        response = http.get(f"{base_url.rstrip('/')}/v4/{review_name}", headers=_headers(source))
    except SourceNotFound:
        return {"kind": "review", "external_id": review_name, "deleted_at": now.isoformat()}
    _, item = review_to_item(response.json_object())
    return item


class GoogleReviews:
    type = "google"

    def pages(self, source: SourceConfig, cursor: Cursor, ctx: SourceContext, *, backfill: bool) -> Iterator[Page]:
        location = str(source.require("location")).strip("/")
        url = f"{ctx.settings.google_api_url.rstrip('/')}/v4/{location}/reviews"
        headers = _headers(source)

        def fetch(token: str | None) -> tuple[list[Entry], str | None]:
            params = {"pageSize": PAGE_SIZE, "orderBy": "updateTime desc", "pageToken": token}
            body = ctx.http.get(url, params=params, headers=headers, sleep=ctx.sleep).json_object()
            reviews = body.get("reviews", [])
            if not isinstance(reviews, list):
                raise BadPayload(f"{location}: 'reviews' is not a list")
            next_token = body.get("nextPageToken")
            return [review_to_item(r) for r in reviews if isinstance(r, dict)], (
                next_token if isinstance(next_token, str) and next_token else None
            )

        yield from newest_first(fetch, cursor, max_pages=None if backfill else ctx.settings.source_max_pages)
