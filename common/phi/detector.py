"""The PHI detector: every recogniser over a text, overlaps resolved, and redaction.

``detect(text)`` and ``redact(text)`` use a default detector built on first use (no staff
allow-list); services build their own ``PhiDetector(staff=...)`` from settings and inject it.
Nothing here logs the text or what was found in it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Literal

from common.phi.names import NameRecogniser, StaffAllowList
from common.phi.patterns import PATTERN_RECOGNISERS, Recogniser
from common.phi.phones import phones
from common.phi.spans import PhiType, Span

RedactionStyle = Literal["type", "mask", "remove"]


class PhiDetector:
    """Runs the pattern, phone and name recognisers and keeps one span per stretch of text.

    ``staff`` are the practice's own people (names and aliases), never reported.
    ``min_confidence`` drops the weakest guesses (a lone capitalised first name at the start of
    a sentence scores 0.55).
    """

    def __init__(
        self,
        staff: Iterable[str] = (),
        *,
        min_confidence: float = 0.5,
        region: str = "US",
        extra: Sequence[Recogniser] = (),
    ) -> None:
        self.staff = StaffAllowList(staff)
        self.min_confidence = min_confidence
        self.region = region
        self.names = NameRecogniser(self.staff)
        self._recognisers: tuple[Recogniser, ...] = (
            *PATTERN_RECOGNISERS,
            lambda text: phones(text, self.region),
            self.names,
            *extra,
        )

    def detect(self, text: str, types: Iterable[PhiType] | None = None) -> list[Span]:
        wanted = set(types) if types is not None else None
        found = [
            span
            for recognise in self._recognisers
            for span in recognise(text)
            if span.confidence >= self.min_confidence and (wanted is None or span.type in wanted)
        ]
        return resolve(found)

    def redact(self, text: str, spans: Sequence[Span] | None = None, style: RedactionStyle = "type") -> str:
        return redact(text, self.detect(text) if spans is None else spans, style)


# Where two recognisers claim overlapping text, the more specific shape wins over the generic one.
_PRIORITY: dict[PhiType, int] = {
    PhiType.EMAIL: 9,
    PhiType.SSN: 8,
    PhiType.PHONE: 7,
    PhiType.FAX: 7,
    PhiType.IP: 8,  # "176.73.101.106" also parses as a phone number
    PhiType.URL: 6,
    PhiType.ADDRESS: 5,
    PhiType.DATE: 5,
    PhiType.AGE: 5,
}


def resolve(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans in text order: same-type overlaps merge, others go to the stronger.

    Strength is (type priority, confidence, length); identifier-number types and names have
    priority 0, so "fax 312-555-0199" stays a fax and not an "account" number.
    """
    ordered = sorted(spans, key=lambda s: (-_PRIORITY.get(s.type, 0), -s.confidence, -len(s), s.start))
    # Kept spans never overlap, so sorted by start they are sorted by end too: the ones a new span
    # can clash with are found by bisection (a text with tens of thousands of candidate spans must
    # not cost a quadratic number of comparisons).
    kept: list[Span] = []
    ends: list[int] = []
    for span in ordered:
        first = bisect.bisect_right(ends, span.start)
        last = first
        while last < len(kept) and kept[last].start < span.end:
            last += 1
        clash = kept[first:last]
        if not clash:
            kept.insert(first, span)
            ends.insert(first, span.end)
            continue
        if len(clash) == 1 and clash[0].type == span.type:
            old = clash[0]
            merged = Span(
                min(old.start, span.start),
                max(old.end, span.end),
                old.type,
                max(old.confidence, span.confidence),
                old.source,
            )
            del kept[first], ends[first]
            position = bisect.bisect_right(ends, merged.start)
            kept.insert(position, merged)
            ends.insert(position, merged.end)
    return kept


def redact(text: str, spans: Sequence[Span], style: RedactionStyle = "type") -> str:
    """``text`` with each span replaced: ``[PHONE]`` ("type"), ``█`` per character ("mask"), or nothing."""
    out: list[str] = []
    position = 0
    for span in resolve(spans):
        out.append(text[position : span.start])
        if style == "type":
            out.append(f"[{span.type.value}]")
        elif style == "mask":
            out.append("█" * (span.end - span.start))
        position = span.end
    out.append(text[position:])
    return "".join(out)


_default: PhiDetector | None = None


def default_detector() -> PhiDetector:
    """A detector without a staff allow-list, built on first use."""
    global _default
    if _default is None:
        _default = PhiDetector()
    return _default


def detect(text: str) -> list[Span]:
    return default_detector().detect(text)


def redact_text(text: str, spans: Sequence[Span] | None = None, style: RedactionStyle = "type") -> str:
    return default_detector().redact(text, spans, style)
