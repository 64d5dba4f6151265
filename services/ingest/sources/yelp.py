"""Yelp Fusion business reviews (``GET /v3/businesses/{id}/reviews``).

``params``: ``business_id``, ``api_key`` (``${ENV_VAR}``), optional ``locale``.  Yelp returns at
most three excerpts, newest first, so every run reads the one page and ids make repeats free.
``time_created`` is Pacific time without an offset; it is converted with the zone database.
A 429 ``ACCESS_LIMIT_REACHED`` (the daily quota) is final for the run; a 429
``TOO_MANY_REQUESTS_PER_SECOND`` is retried after a pause.  The daily-limit headers are kept in
the cursor so the status shows how much quota is left.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.ingest.sources.base import Cursor, Page, SourceContext
from services.ingest.sources.config import SourceConfig
from services.ingest.sources.http import BadPayload, HttpResponse
from services.ingest.sources.text import as_dict, clean_text, safe_url, short_name

PACIFIC = ZoneInfo("America/Los_Angeles")


def _daily_quota_spent(response: HttpResponse) -> bool:
    try:
        error = response.json_object().get("error", {})
    except BadPayload:
        return False
    return isinstance(error, dict) and error.get("code") == "ACCESS_LIMIT_REACHED"


def _pacific(value: Any) -> str | None:
    try:
        naive = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return naive.replace(tzinfo=PACIFIC).isoformat()


def review_to_item(review: dict[str, Any]) -> dict[str, Any] | None:
    review_id = review.get("id")
    if not isinstance(review_id, str) or not review_id:
        return None
    user = as_dict(review.get("user"))
    rating = review.get("rating")
    return {
        "kind": "review",
        "external_id": review_id,
        "url": safe_url(review.get("url")),
        "text": clean_text(review.get("text")),
        "rating": rating if isinstance(rating, int | float) and 1 <= rating <= 5 else None,
        "author": short_name(user.get("name")),
        "published_at": _pacific(review.get("time_created")),
    }


class YelpReviews:
    type = "yelp"

    def pages(self, source: SourceConfig, cursor: Cursor, ctx: SourceContext, *, backfill: bool) -> Iterator[Page]:
        business = str(source.require("business_id"))
        url = f"{ctx.settings.yelp_api_url.rstrip('/')}/v3/businesses/{business}/reviews"
        response = ctx.http.get(
            url,
            params={"locale": source.param("locale"), "sort_by": "newest"},
            headers={"Authorization": f"Bearer {source.require('api_key')}"},
            give_up_on_429=_daily_quota_spent,
            sleep=ctx.sleep,
        )
        body = response.json_object()
        reviews = body.get("reviews", [])
        if not isinstance(reviews, list):
            raise BadPayload(f"yelp {business}: 'reviews' is not a list")
        items = [i for i in (review_to_item(r) for r in reviews if isinstance(r, dict)) if i is not None]
        quota = {
            "daily_limit": response.headers.get("RateLimit-DailyLimit"),
            "remaining": response.headers.get("RateLimit-Remaining"),
            "reset_time": response.headers.get("RateLimit-ResetTime"),
        }
        yield Page(items, {"quota": {k: v for k, v in quota.items() if v}}, fetched=len(reviews))
