"""Review pages with schema.org ``Review`` / ``AggregateRating`` markup (JSON-LD or microdata).

``params``: ``urls`` (the pages: Healthgrades, Vitals, RateMDs, WebMD, Zocdoc profiles, the
practice's own site).  Scraping is polite: robots.txt is obeyed for our User-Agent, requests to
one host keep ``RADAR_SOURCE_HOST_INTERVAL_S`` apart, and a page is fetched conditionally
(ETag / Last-Modified), so an unchanged page costs a 304.  Ratings are normalised from the
page's own scale (``bestRating`` default 5, ``worstRating`` default 1) to 1-5.  The reviewed
physician's name and ``usNPI`` are passed on as matching hints.  The page's
``AggregateRating`` is kept in the cursor (it is a figure about the page, not a mention).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterator
from typing import Any

from lxml import etree, html

from services.ingest.sources.base import Cursor, Page, SourceContext
from services.ingest.sources.config import SourceConfig
from services.ingest.sources.http import BadPayload, _where
from services.ingest.sources.text import clean_text, html_to_text, iso, parse_time, short_name

_MAX_NODES = 5_000  # a page with more structured-data nodes than this is not a review page
_MAX_DEPTH = 40  # real markup nests a handful of levels; deeper is hostile or broken


# --- microdata -> JSON-LD-like dicts ----------------------------------------------------------


def _prop_value(element: Any, depth: int = 0) -> Any:
    if element.get("itemscope") is not None:
        return _microdata_item(element, depth)
    tag = element.tag if isinstance(element.tag, str) else ""
    for tags, attribute in (
        (("meta",), "content"),
        (("a", "link", "area"), "href"),
        (("img", "audio", "video", "source"), "src"),
        (("time",), "datetime"),
        (("data", "meter"), "value"),
    ):
        if tag in tags and element.get(attribute) is not None:
            return element.get(attribute)
    if element.get("content") is not None:
        return element.get("content")
    return element.text_content()


def _collect_props(element: Any, props: dict[str, list[Any]], depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        return
    for child in element:
        if not isinstance(child.tag, str):
            continue
        names = (child.get("itemprop") or "").split()
        if names:
            value = _prop_value(child, depth + 1)
            for name in names:
                props.setdefault(name, []).append(value)
        if child.get("itemscope") is None:
            _collect_props(child, props, depth + 1)


def _microdata_item(element: Any, depth: int = 0) -> dict[str, Any]:
    props: dict[str, list[Any]] = {}
    _collect_props(element, props, depth)
    item: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in props.items()}
    types = (element.get("itemtype") or "").split()
    item["@type"] = [t.rstrip("/").rsplit("/", 1)[-1] for t in types]
    return item


def extract_nodes(markup: bytes) -> list[Any]:
    """Top-level structured-data nodes of a page: JSON-LD blocks and microdata items."""
    try:
        root = html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return []
    nodes: list[Any] = []
    for script in root.xpath('//script[@type="application/ld+json"]'):
        try:
            nodes.append(json.loads(script.text or ""))
        except (ValueError, RecursionError):
            continue  # one broken (or absurdly deep) block must not hide the others
    for inert in root.xpath("//script|//style|//noscript|//template"):
        inert.drop_tree()  # their text is not visible content, whatever itemprop claims
    for element in root.xpath("//*[@itemscope and not(@itemprop)]"):
        nodes.append(_microdata_item(element))
    return nodes


# --- reviews out of nodes ---------------------------------------------------------------------


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type", [])
    return {str(t) for t in (value if isinstance(value, list) else [value])}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _name(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        return short_name(value.get("name") or value.get("alternateName"))
    return short_name(value) if value not in (None, "") else None


def _number(value: Any) -> float | None:
    try:
        return float(str(_first(value)).strip())
    except (TypeError, ValueError):
        return None


def normalise_rating(rating: Any) -> float | None:
    """``ratingValue`` on the page's scale to 1-5; None when absent or out of its scale."""
    if not isinstance(rating, dict):
        return _number(rating) if _number(rating) is not None and 1 <= (_number(rating) or 0) <= 5 else None
    value = _number(rating.get("ratingValue"))
    best = _number(rating.get("bestRating")) or 5.0
    worst = _number(rating.get("worstRating"))
    worst = 1.0 if worst is None else worst
    if value is None or best <= worst or not worst <= value <= best:
        return None
    return round(1 + (value - worst) * 4 / (best - worst), 2)


def _walk(
    node: Any,
    parent: dict[str, Any] | None,
    found: list[tuple[dict[str, Any], dict[str, Any] | None]],
    aggregates: list[dict[str, Any]],
    budget: list[int],
    depth: int = 0,
) -> None:
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for child in node:
            _walk(child, parent, found, aggregates, budget, depth + 1)
        return
    if not isinstance(node, dict):
        return
    types = _types(node)
    if "Review" in types or "UserReview" in types or "EmployerReview" in types:
        found.append((node, parent))
    elif "AggregateRating" in types:
        aggregates.append(node)
    for key, child in node.items():
        if key in ("@context",):
            continue
        owner = node if not types & {"Review", "Rating", "AggregateRating"} else parent
        _walk(child, owner, found, aggregates, budget, depth + 1)


def _review_id(page_url: str, basis: str) -> str:
    """The page URL plus a digest of the review's identity, within the schema's 256 characters."""
    digest = hashlib.sha256(basis.encode()).hexdigest()[:24]
    page = page_url if len(page_url) <= 200 else hashlib.sha256(page_url.encode()).hexdigest()[:32]
    return f"{page}#{digest}"


def reviews_from_page(markup: bytes, page_url: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Raw mention items (with matching hints) and the page's aggregate rating, if any."""
    found: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    aggregates: list[dict[str, Any]] = []
    _walk(extract_nodes(markup), None, found, aggregates, [_MAX_NODES])
    items: list[dict[str, Any]] = []
    for review, parent in found:
        reviewed = review.get("itemReviewed") if isinstance(review.get("itemReviewed"), dict) else parent or {}
        author = _name(review.get("author"))
        published = parse_time(_first(review.get("datePublished")))
        body = _first(review.get("reviewBody")) or _first(review.get("description"))
        text = html_to_text(body) if isinstance(body, str) and "<" in body else clean_text(body)
        own_id = _first(review.get("@id")) or _first(review.get("url"))
        basis = own_id if isinstance(own_id, str) and own_id else f"{author}|{iso(published)}" if author else None
        items.append(
            {
                "kind": "review",
                "external_id": _review_id(page_url, basis) if basis else None,
                "url": page_url,
                "author": author,
                "text": text,
                "rating": normalise_rating(review.get("reviewRating")),
                "published_at": iso(published),
                "_subject": _name(reviewed) if reviewed else None,
                "_npi": clean_text(_first(reviewed.get("usNPI"))) if isinstance(reviewed, dict) else None,
            }
        )
    aggregate = None
    if aggregates:
        first = aggregates[0]
        aggregate = {
            "rating": normalise_rating(first),
            "count": _number(first.get("reviewCount")) or _number(first.get("ratingCount")),
        }
    return items, aggregate


def source_name_for(url: str) -> str:
    """``https://www.healthgrades.com/...`` -> ``healthgrades``: the site's name as the source slug."""
    from httpx import URL

    host = URL(url).host
    try:
        ipaddress.ip_address(host)
        return "web"  # an address names no site
    except ValueError:
        pass
    labels = [p for p in host.split(".") if p and p != "www"]
    name = labels[-2] if len(labels) >= 2 else (labels[0] if labels else "web")
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch in "-_")[:64] or "web"


class SchemaOrgPages:
    type = "schemaorg"

    def pages(self, source: SourceConfig, cursor: Cursor, ctx: SourceContext, *, backfill: bool) -> Iterator[Page]:
        urls = source.require("urls")
        urls = [urls] if isinstance(urls, str) else list(urls)
        known: dict[str, Any] = dict(cursor.get("pages", {}))
        for url in urls:
            if ctx.stop.is_set():
                return
            ctx.hosts.check(url)
            ctx.hosts.wait_turn(url, sleep=ctx.sleep)
            previous = known.get(url, {}) if not backfill else {}
            headers = {"Accept": "text/html,application/xhtml+xml"}
            if previous.get("etag"):
                headers["If-None-Match"] = previous["etag"]
            if previous.get("modified"):
                headers["If-Modified-Since"] = previous["modified"]
            response = ctx.http.get(url, headers=headers, ok=(200, 304), sleep=ctx.sleep)
            if response.status == 304:
                yield Page([], {"pages": known}, fetched=0)
                continue
            content_type = response.headers.get("Content-Type", "text/html")
            if "html" not in content_type and "xml" not in content_type:
                raise BadPayload(f"{_where(url)}: not an HTML page ({content_type.split(';')[0]})")
            items, aggregate = reviews_from_page(response.body, url)
            for item in items:
                item["source"] = source.source or source_name_for(url)
            known[url] = {
                "etag": response.headers.get("ETag"),
                "modified": response.headers.get("Last-Modified"),
                "aggregate": aggregate,
            }
            yield Page(items, {"pages": dict(known)}, fetched=len(items))
