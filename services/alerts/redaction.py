"""Redaction of alert excerpts: an injected function.

The evaluator uses ``phi_redactor``: the PHI detector (``common/phi``: names other than the
practice's staff, dates, phones, e-mails, addresses, record numbers...) followed by
``default_redact``, a deliberately blunt mask of e-mails, phone numbers and long digit runs that
stays as a second line of defence should the detector miss a shape it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from common.phi import PhiDetector

Redactor = Callable[[str], str]

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_PHONE = re.compile(r"(?<!\w)(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\w)")
_RUN = re.compile(r"\d{7,}")
_DIGITS = re.compile(r"\d[\d\s-]{4,}\d")


def default_redact(text: str) -> str:
    """Mask e-mails, phone numbers and runs of six or more digits."""
    text = _EMAIL.sub("[email]", text)
    text = _RUN.sub("[number]", text)
    text = _PHONE.sub("[phone]", text)
    return _DIGITS.sub(lambda m: "[number]" if sum(c.isdigit() for c in m.group(0)) >= 6 else m.group(0), text)


def phi_redactor(detector: PhiDetector) -> Redactor:
    """The detector's typed redaction (``[NAME]``, ``[PHONE]``...), then the blunt mask."""

    def redact(text: str) -> str:
        return default_redact(detector.redact(text))

    return redact


def excerpt(text: str, limit: int, redact: Redactor = default_redact) -> str:
    """The first ``limit`` characters of the redacted text, cut at a word and marked with an ellipsis.

    Redaction runs on the whole text before cutting, so a phone number split by the cut cannot
    leak its first half.
    """
    # Only the start of a long text can reach the excerpt: redacting a bounded window keeps a
    # 100,000-character review from stalling the evaluator (the margin covers an identifier that
    # straddles the cut, which is masked whole before the text is shortened).
    window = text[: limit * 4 + 256]
    clean = " ".join(redact(window).split())
    if len(clean) <= limit:
        return clean
    cut = clean[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"
