"""Turning untrusted outside fields into plain text and times, defensively.

Everything a source sends is treated as text, never markup to render or code to run: HTML is
parsed by lxml's forgiving parser (no network, no entities expanded from outside), scripts and
styles are dropped with their content, and the result is plain text with control characters
removed so the schema's checks do not reject a whole review for one stray byte.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from lxml import etree, html

_DROP = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg")
_BLOCK = {"p", "br", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr"}
_SPACES = re.compile(r"[ \t\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def clean_text(value: Any, limit: int | None = None) -> str:
    """A string with control characters (other than newline and tab) removed, whitespace tidied."""
    if value is None:
        return ""
    text = str(value)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    text = _SPACES.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _BLANK_LINES.sub("\n\n", text).strip()
    return text[:limit] if limit else text


def html_to_text(markup: str | None) -> str:
    """Visible text of an HTML fragment (Mastodon statuses, feed summaries)."""
    if not markup or not markup.strip():
        return ""
    try:
        root = html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_text(markup)
    for bad in root.iter(*_DROP):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag in _BLOCK:
            element.tail = "\n" + (element.tail or "")
    return clean_text(root.text_content())


def short_name(value: Any, limit: int = 200) -> str | None:
    """A display name: one line, bounded, or None when empty."""
    text = clean_text(value).replace("\n", " ")[:limit].strip()
    return text or None


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 / ISO 8601 (``Z`` allowed) or epoch seconds; naive times are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def safe_url(value: Any) -> str | None:
    """An http(s) URL to keep as the mention's link, or None (javascript: and the like are dropped)."""
    text = clean_text(value)
    return text if text.startswith(("https://", "http://")) and len(text) <= 2048 else None


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (outside data has any shape)."""
    return value if isinstance(value, dict) else {}
