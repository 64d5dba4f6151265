"""Which positive mentions make good testimonials, and in what order.

Eligibility (a mention that fails any of these is never a candidate):

- the model read the text itself (``sentiment.basis == "text"``), labelled it ``positive`` and
  raised no flags (unsupported language, truncation and the like);
- the source rating, where there is one, is at least 4 (a positive text under a 2-star rating
  is a contradiction a human should look at, not a testimonial);
- the text is between ``MIN_CHARS`` (60) and ``MAX_CHARS`` (1500) characters: shorter says
  nothing specific, longer is not quotable;
- the mention has not been decided yet (the store excludes approved, rejected and published).

Quality, a number in [0, 1], is a weighted sum of five components, each in [0, 1]::

    quality = 0.30 * confidence + 0.30 * specificity + 0.15 * length + 0.15 * rating + 0.10 * recency

    confidence  = (P(positive) - 0.5) / 0.5, clipped        the model's calibrated probability
    specificity = 0.7 * min(topics, 3) / 3                   radiology topics the text is about
                + 0.3 * mean((aspect - 3) / 2, clipped)      how strongly the staff, punctuality,
                                                             helpfulness and knowledge aspects score
    length      = 1 from 150 to 600 characters; rising linearly from 0.3 at 60 to 1 at 150;
                  falling linearly from 1 at 600 to 0.4 at 1500
    rating      = source rating 5 -> 1, 4 -> 0.5, none -> 0.3 (the model's stars are not a rating)
    recency     = 0.5 ** (age in days / 365)                 half-life one year

so a specific five-star review ("the technologist explained every step of my MRI and I was
seen on time") outranks a generic "great place!" even when the model is equally sure both are
positive.  Every candidate comes with the reasons behind its score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

MIN_CHARS = 60
MAX_CHARS = 1500

WEIGHTS = {"confidence": 0.30, "specificity": 0.30, "length": 0.15, "rating": 0.15, "recency": 0.10}
SWEET_SPOT = (150, 600)
HALF_LIFE_DAYS = 365.0


@dataclass(frozen=True)
class Ranked:
    mention: dict[str, Any]
    quality: float
    components: dict[str, float]
    reasons: list[str]


def _clip(value: float) -> float:
    return max(0.0, min(1.0, value))


def ineligible_reason(mention: dict[str, Any]) -> str | None:
    """Why a mention cannot be a testimonial candidate, or None if it can."""
    sentiment = mention.get("sentiment") or {}
    if sentiment.get("label") != "positive":
        return "not positive"
    if sentiment.get("basis") != "text":
        return "sentiment not read from the text"
    if sentiment.get("flags"):
        return "flagged"
    rating = mention.get("rating")
    if rating is not None and rating < 4:
        return "source rating below 4"
    length = len((mention.get("text") or "").strip())
    if length < MIN_CHARS:
        return "too short"
    if length > MAX_CHARS:
        return "too long"
    return None


def length_score(chars: int) -> float:
    low, high = SWEET_SPOT
    if chars < MIN_CHARS or chars > MAX_CHARS:
        return 0.0
    if chars < low:
        return 0.3 + 0.7 * (chars - MIN_CHARS) / (low - MIN_CHARS)
    if chars <= high:
        return 1.0
    return 1.0 - 0.6 * (chars - high) / (MAX_CHARS - high)


def rating_score(rating: float | None) -> float:
    if rating is None:
        return 0.3
    return _clip((rating - 4) * 0.5 + 0.5) if rating >= 4 else 0.0


def _occurred(mention: dict[str, Any]) -> datetime | None:
    raw = mention.get("published_at") or mention.get("fetched_at")
    try:
        return datetime.fromisoformat(raw) if raw else None
    except (TypeError, ValueError):
        return None


def score(mention: dict[str, Any], now: datetime) -> Ranked:
    sentiment = mention.get("sentiment") or {}
    p_positive = float((sentiment.get("probabilities") or {}).get("positive", 0.0))
    topics = [str(t) for t in sentiment.get("topics") or []]
    aspects = [float(v) for v in (sentiment.get("aspects") or {}).values()]
    chars = len((mention.get("text") or "").strip())
    rating = mention.get("rating")
    occurred = _occurred(mention)
    age_days = max(0.0, (now - occurred).total_seconds() / 86400) if occurred else None

    aspect_strength = sum(_clip((a - 3) / 2) for a in aspects) / len(aspects) if aspects else 0.0
    components = {
        "confidence": _clip((p_positive - 0.5) / 0.5),
        "specificity": 0.7 * min(len(topics), 3) / 3 + 0.3 * aspect_strength,
        "length": length_score(chars),
        "rating": rating_score(rating),
        "recency": 0.5 ** (age_days / HALF_LIFE_DAYS) if age_days is not None else 0.0,
    }
    quality = sum(WEIGHTS[name] * value for name, value in components.items())

    reasons = [f"P(positive) {p_positive:.2f}"]
    reasons.append(f"about {', '.join(t.replace('_', ' ') for t in topics)}" if topics else "no specific topic")
    reasons.append(f"{rating:g}-star rating" if rating is not None else "no source rating")
    low, high = SWEET_SPOT
    fit = "quotable length" if low <= chars <= high else "short" if chars < low else "long"
    reasons.append(f"{chars} characters ({fit})")
    if age_days is not None:
        reasons.append(f"{int(age_days)} days old")
    return Ranked(
        mention=mention,
        quality=round(quality, 4),
        components={k: round(v, 4) for k, v in components.items()},
        reasons=reasons,
    )


def rank(mentions: list[dict[str, Any]], now: datetime, limit: int) -> list[Ranked]:
    """The eligible mentions, best first (ties: newer, then id, so the order is stable)."""
    ranked = [score(m, now) for m in mentions if ineligible_reason(m) is None]
    ranked.sort(key=lambda r: (-r.quality, -(_occurred(r.mention) or now).timestamp(), str(r.mention.get("id"))))
    return ranked[:limit]
