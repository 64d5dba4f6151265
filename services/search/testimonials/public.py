"""The public testimonial feed of a practice: JSON, an embeddable HTML widget, schema.org JSON-LD.

No API key: the tenant is in the path.  An unknown practice and a practice without testimonials
answer the same 200 with an empty list, so the feed does not reveal which practices exist.
Each read checks every testimonial's authorisation again, so a revoked or expired one leaves
the feed with the next response (shared caches keep a response for at most ``MAX_AGE``).

What the feed shows is the review as published (text, rating, date, source) and the author's
display name only where the patient's authorisation allows it; never the signer's name or any
other field of the authorisation.  The widget is a static page: every text is HTML-escaped,
there are no scripts, and its Content-Security-Policy forbids running any.

The feed is labelled as a selection of testimonials, shows no average rating, and does not
claim to represent all reviews (16 CFR 465.7(b)); search and statistics are unaffected by it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.http import ApiError, validation_details
from services.search.practice.api import practice_store
from services.search.store.base import StoreUnavailable
from services.search.testimonials.api import curation_store

blueprint = Blueprint("testimonials_public", __name__)

MAX_AGE = 60  # a revoked authorisation must take the testimonial down everywhere within a minute
SCAN_LIMIT = 500  # published records read per request before the validity check
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
NOTE = "Selected patient testimonials, shared with each patient's written permission. Not a complete list of reviews."
_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


class FeedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=100, description="Most testimonials, newest first.")
    location: str | None = Field(None, max_length=64, description="Only this location of the practice.")


@dataclass(frozen=True)
class FeedItem:
    id: str
    text: str
    rating: float | None
    date_published: str | None
    author: str | None
    source: str
    location: str | None


def feed_items(tenant: str, query: FeedQuery, now: datetime) -> list[FeedItem]:
    """Published testimonials with an authorisation valid at ``now``, newest first."""
    if not _SLUG.match(tenant):
        return []
    store = curation_store()
    published = store.list_testimonials(tenant, "published", SCAN_LIMIT)
    if query.location:
        published = [r for r in published if r.mention.location == query.location]
    if not published:
        return []
    valid: dict[str, list[Any]] = {}
    for record in store.list_authorisations(tenant, [r.mention_id for r in published], SCAN_LIMIT * 2):
        if record.covers(tenant, record.mention_id, now):
            valid.setdefault(record.mention_id, []).append(record)
    items: list[FeedItem] = []
    for testimonial in published:
        covering = valid.get(testimonial.mention_id)
        if not covering:
            continue
        authorisation = max(covering, key=lambda a: (a.signed_at, a.id))
        review = testimonial.mention
        items.append(
            FeedItem(
                id=testimonial.mention_id,
                text=review.text,
                rating=review.rating,
                date_published=review.published_at.astimezone(UTC).date().isoformat() if review.published_at else None,
                author=review.author if authorisation.show_author_name else None,
                source=review.source,
                location=review.location,
            )
        )
        if len(items) == query.limit:
            break
    return items


def _items_or_error(tenant: str) -> list[FeedItem]:
    try:
        query = FeedQuery.model_validate({name: request.args.getlist(name)[-1] for name in request.args})
    except ValidationError as exc:
        raise ApiError(400, "invalid_query", "invalid query parameters", validation_details(exc)) from None
    try:
        return feed_items(tenant.lower(), query, datetime.now(UTC))
    except StoreUnavailable:
        raise ApiError(503, "search_unavailable", "the testimonial feed is unavailable; retry shortly") from None


def _practice(tenant: str) -> tuple[str, str | None]:
    """The practice's public name and site: its tenant id until an admin sets a profile."""
    tenant = tenant.lower()
    if not _SLUG.match(tenant):
        return tenant, None  # no such practice: its (empty) feed still names what was asked for
    try:
        profile = practice_store().get(tenant)
    except StoreUnavailable:
        raise ApiError(503, "search_unavailable", "the testimonial feed is unavailable; retry shortly") from None
    return profile.display_name, str(profile.website) if profile.website else None


def _cacheable(body: bytes, mimetype: str, extra: dict[str, str] | None = None) -> Response:
    """A public, cacheable answer with a strong ETag; 304 when the client already has it."""
    etag = hashlib.sha256(body).hexdigest()[:40]
    headers = {
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Allow-Origin": "*",
        **(extra or {}),
    }
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304, headers=headers)
    else:
        response = Response(body, mimetype=mimetype, headers=headers)
    response.set_etag(etag)
    return response


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@blueprint.get("/public/<tenant>/testimonials.json")
def feed_json(tenant: str) -> Response:
    items = _items_or_error(tenant)
    body = {
        "practice": tenant.lower(),
        "practice_name": _practice(tenant)[0],
        "note": NOTE,
        "testimonials": [
            {
                "id": i.id,
                "text": i.text,
                "rating": i.rating,
                "date_published": i.date_published,
                "author": i.author,
                "source": i.source,
                "location": i.location,
            }
            for i in items
        ],
    }
    return _cacheable(_json_bytes(body), "application/json")


@blueprint.get("/public/<tenant>/testimonials.jsonld")
def feed_jsonld(tenant: str) -> Response:
    items = _items_or_error(tenant)
    name, website = _practice(tenant)
    practice: dict[str, Any] = {"@type": "MedicalBusiness", "name": name, "identifier": tenant.lower()}
    if website:
        practice["url"] = website
    reviews: list[dict[str, Any]] = []
    for item in items:
        review: dict[str, Any] = {"@type": "Review", "reviewBody": item.text, "itemReviewed": practice}
        if item.rating is not None:
            review["reviewRating"] = {
                "@type": "Rating",
                "ratingValue": item.rating,
                "bestRating": 5,
                "worstRating": 1,
            }
        if item.date_published:
            review["datePublished"] = item.date_published
        if item.author:
            review["author"] = {"@type": "Person", "name": item.author}
        reviews.append(review)
    return _cacheable(_json_bytes({"@context": "https://schema.org", "@graph": reviews}), "application/ld+json")


_STYLE = """
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;background:transparent}
.radar-testimonials{max-width:720px;margin:0 auto;padding:8px}
.radar-testimonials h2{font-size:1.15em;margin:0 0 8px}
.radar-testimonials ul{list-style:none;margin:0;padding:0}
.radar-testimonials li{border:1px solid #d9e2ec;border-radius:8px;padding:12px 16px;margin:0 0 10px;background:#fff}
.radar-testimonials blockquote{margin:0}
.radar-testimonials .meta{margin:6px 0 0;color:#52606d;font-size:.9em}
.radar-testimonials .stars{color:#b7791f;letter-spacing:1px}
.radar-testimonials .note{color:#7b8794;font-size:.8em;margin:4px 0 0}
""".strip()


def _stars(rating: float) -> str:
    full = max(0, min(5, round(rating)))
    label = f"{rating:g} out of 5 stars"
    return f'<span class="stars" role="img" aria-label="{escape(label)}">{"★" * full}{"☆" * (5 - full)}</span>'


def render_widget(items: list[FeedItem]) -> str:
    rows = []
    for item in items:
        text = escape(item.text).replace("\r\n", "\n").replace("\n", "<br>")
        meta = []
        if item.rating is not None:
            meta.append(_stars(item.rating))
        if item.author:
            meta.append(escape(item.author))
        meta.append(escape(item.source.replace("_", " ").title()))
        if item.date_published:
            meta.append(f'<time datetime="{escape(item.date_published)}">{escape(item.date_published)}</time>')
        rows.append(f'<li><blockquote><p>{text}</p></blockquote><p class="meta">{" · ".join(meta)}</p></li>')
    listing = f"<ul>{''.join(rows)}</ul>" if rows else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Patient testimonials</title><style>{_STYLE}</style></head><body>"
        '<section class="radar-testimonials" aria-label="Patient testimonials">'
        f"<h2>What our patients say</h2>{listing}"
        f'<p class="note">{escape(NOTE)}</p></section></body></html>'
    )


@blueprint.get("/public/<tenant>/testimonials.html")
def feed_html(tenant: str) -> Response:
    items = _items_or_error(tenant)
    return _cacheable(render_widget(items).encode("utf-8"), "text/html", {"Content-Security-Policy": _CSP})
