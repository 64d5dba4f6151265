"""Phone and fax numbers, found by Google's libphonenumber grammar (the ``phonenumbers`` port).

The matcher knows every way a North American number is written ("(312) 555-0142",
"312.555.0142", "+1 312 555 0142", extensions).  ``POSSIBLE`` leniency is used rather than
``VALID`` so that numbers from unassigned or fictional ranges (the 555-01xx block that films and
our evaluation set use) still count: a reply that prints any number is what we must catch.
A number is a fax when "fax" appears just before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers

from common.phi.spans import PhiType, Span

# "account 5512093377", "policy number 7730019921": the keyword says what the digits are.
_IDENTIFIER_BEFORE = re.compile(
    r"\b(?:account|acct|member|policy|group|claim|invoice|record|MRN|chart|serial|licen[cs]e|ID|SSN|"
    r"subscriber|beneficiary|medicare|medicaid)\b[^\d\n.!?]{0,15}$",
    re.I,
)
_FAX_BEFORE = re.compile(r"\bfax(?:ed|ing|es)?\b[^\d\n.!?]{0,40}$", re.I)


def phones(text: str, region: str = "US") -> Iterator[Span]:
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
    for match in matcher:
        digits = sum(c.isdigit() for c in match.raw_string)
        if digits < 10:  # a 7-digit local number is too easily a count or an id of something else
            continue
        if _IDENTIFIER_BEFORE.search(text, max(0, match.start - 30), match.start):
            continue
        kind = PhiType.FAX if _FAX_BEFORE.search(text, max(0, match.start - 50), match.start) else PhiType.PHONE
        yield Span(match.start, match.end, kind, 0.95, "phonenumbers")
