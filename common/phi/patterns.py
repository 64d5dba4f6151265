"""Recognisers for the identifiers with a shape: dates, ages, emails, URLs, IPs, numbers, addresses.

Each recogniser is a function ``text -> Iterable[Span]``.  Identifier numbers (record, plan,
account, licence, device, vehicle) are only taken after a keyword that names them, because a
bare number in a review is far more often a duration, a price or a rating than an identifier;
the shapes that are unambiguous on their own (SSN, ZIP+4, VIN, email, IP) need no keyword.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator

from common.phi.names import RELATIONS
from common.phi.spans import PhiType, Span

Recogniser = Callable[[str], Iterable[Span]]

# --- dates ------------------------------------------------------------------------------------

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_WEEKDAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"

_DATE_PATTERNS: list[tuple[re.Pattern[str], float]] = [
    # (Tuesday,) March 3(rd)(, 2024)
    (re.compile(rf"\b(?:{_WEEKDAY},?\s+)?{_MONTH}\.?\s+{_DAY}\b(?:,?\s+{_YEAR}\b)?"), 0.9),
    # 3(rd) (of) March( 2024)
    (re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+{_YEAR}\b)?"), 0.85),
    # March 2024 (a month is a date element finer than the year)
    (re.compile(rf"\b{_MONTH}\.?,?\s+(?:of\s+)?{_YEAR}\b"), 0.75),
    # 03/14/2024, 3-14-24, 2024-03-14
    (re.compile(r"\b(?:0?[1-9]|1[0-2])([/.-])(?:0?[1-9]|[12]\d|3[01])\1(?:(?:19|20)\d{2}|\d{2})\b"), 0.95),
    (re.compile(r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b"), 0.95),
    # 3/14 without a year, but never a rating ("4/5", "10/10") or a fraction of stars
    (
        re.compile(r"(?<![\w/])(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])(?![\w/])(?!\s*(?:stars?|rating|score))"),
        0.6,
    ),
]
_RATING_DENOMINATORS = {"5", "10"}


def dates(text: str) -> Iterator[Span]:
    for pattern, confidence in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            value = m.group()
            if confidence == 0.6 and value.split("/")[1] in _RATING_DENOMINATORS:
                continue
            yield Span(m.start(), m.end(), PhiType.DATE, confidence, "pattern.date")


# --- ages over 89 -----------------------------------------------------------------------------

_OLD = r"(?:9\d|1[01]\d)"
_AGE_PATTERNS = [
    re.compile(rf"\b{_OLD}(?:[- ]|\s+)(?:years?|yrs?)(?:[- ]|\s+)old\b", re.I),
    re.compile(rf"\b{_OLD}\s+years?\s+of\s+age\b", re.I),
    re.compile(rf"\b(?:age|aged)\s*:?\s*{_OLD}\b", re.I),
    re.compile(rf"\bturn(?:ed|s|ing)?\s+{_OLD}\b", re.I),
    re.compile(rf"\b{_OLD}(?:-year-old|yo)\b", re.I),
    re.compile(r"\b(?:in\s+(?:his|her|their)\s+)(?:90s|nineties|100s)\b", re.I),
]
# "my grandmother is 96": a bare number after a person and "is"/"turned", unless a unit follows.
_AGE_AFTER_PERSON = re.compile(
    rf"\b(?:{RELATIONS}|he|she|who|I)\s+(?:\w+\s+){{0,3}}?(?:is|was|turned|turns|'s|’s|,)\s+({_OLD})\b"
    r"(?!\s*(?:%|percent|minutes?|mins?|degrees|dollars|lbs|pounds|miles|\.\d|/))",
    re.I,
)


def ages(text: str) -> Iterator[Span]:
    for pattern in _AGE_PATTERNS:
        for m in pattern.finditer(text):
            yield Span(m.start(), m.end(), PhiType.AGE, 0.85, "pattern.age")
    for m in _AGE_AFTER_PERSON.finditer(text):
        yield Span(m.start(1), m.end(1), PhiType.AGE, 0.7, "pattern.age")


# --- email, URL, IP ----------------------------------------------------------------------------

# Bounded repetitions throughout: a long run of "a-a-a-..." or "1.2.3...." must not make these
# quadratic (the reply guard reads up to 20,000 characters of review per request).
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b")
_URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"')\]]+"
    r"|(?<![\w.-])(?:[a-z0-9-]{1,63}\.){1,6}(?:com|org|net|edu|gov|io|us|info|health|biz|me|co)\b"
    r"(?:/[^\s<>\"')\]]*)?",
    re.I,
)
_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


def emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield Span(m.start(), m.end(), PhiType.EMAIL, 0.99, "pattern.email")


def urls(text: str) -> Iterator[Span]:
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:!?":
            end -= 1
        if end > m.start():
            yield Span(m.start(), end, PhiType.URL, 0.9, "pattern.url")


def ips(text: str) -> Iterator[Span]:
    for m in _IPV4.finditer(text):
        yield Span(m.start(), m.end(), PhiType.IP, 0.9, "pattern.ip")
    for m in _IPV6.finditer(text):
        candidate = m.group()
        if candidate.count(":") < 2 or sum(c.isalnum() for c in candidate) < 4:
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield Span(m.start(), m.end(), PhiType.IP, 0.9, "pattern.ip")


# --- SSN ---------------------------------------------------------------------------------------

_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
_SSN_CONTEXT = re.compile(
    r"\b(?:SSN|SS#|social\s+security(?:\s+(?:number|no\.?|#))?)\s*(?:is|was|:|#)?\s*(\d{9}|\d{3}-\d{2}-\d{4})\b", re.I
)


def ssns(text: str) -> Iterator[Span]:
    for m in _SSN.finditer(text):
        yield Span(m.start(), m.end(), PhiType.SSN, 0.9, "pattern.ssn")
    for m in _SSN_CONTEXT.finditer(text):
        yield Span(m.start(1), m.end(1), PhiType.SSN, 0.95, "pattern.ssn")


# --- identifier numbers after their keyword -----------------------------------------------------

_NO = r"(?:\s*(?:number|num\.?|no\.?|#|id|ID|code))?"
_KEYWORDS: list[tuple[PhiType, str]] = [
    (PhiType.VEHICLE, r"VIN|vehicle\s+identification\s+number|licen[cs]e\s+plates?|plates?|tag\s+number"),
    (PhiType.LICENSE, r"driver'?s?\s+licen[cs]e|DL|licen[cs]e|certificate|NPI|DEA"),
    (PhiType.MRN, r"medical\s+record|MRN|MR|chart|patient\s+(?:id|ID|number|no\.?|#)|record|patient\s+account"),
    (
        PhiType.HEALTH_PLAN,
        r"(?:insurance\s+)?member|subscriber|policy|group|(?:health\s+)?plan|beneficiary|insurance|"
        r"medicare|medicaid|claim|authori[sz]ation|prior\s+auth",
    ),
    (PhiType.ACCOUNT, r"account|acct\.?|invoice|billing|statement|bank\s+account|card"),
    (PhiType.DEVICE, r"serial|S/N|SN|device(?:\s+id)?|UDI|IMEI|implant|pacemaker|hearing\s+aid|pump"),
]
_CODE = r"((?=[A-Z0-9./-]*\d)[A-Z0-9](?:[A-Z0-9]|[-./](?=[A-Z0-9])){3,24})"
_KEYED = [
    (
        kind,
        re.compile(
            rf"\b(?:{words}){_NO}\s*(?:is|was|=|:|#|of)?\s*(?:#\s*)?{_CODE}(?![\w-])",
            re.I,
        ),
    )
    for kind, words in _KEYWORDS
]
_BARE_MRN = re.compile(r"\bMRN[-:#]?\s*(\d{5,12})\b")
_VIN = re.compile(r"\b[A-HJ-NPR-Z0-9]{17}\b")


def _has_digit(code: str) -> bool:
    return sum(c.isdigit() for c in code) >= 2


def identifier_numbers(text: str) -> Iterator[Span]:
    for kind, pattern in _KEYED:
        for m in pattern.finditer(text):
            code = m.group(1)
            if not _has_digit(code) or _looks_like_quantity(text, m.end(1)):
                continue
            yield Span(m.start(1), m.end(1), kind, 0.85, f"pattern.{kind.value.lower()}")
    for m in _BARE_MRN.finditer(text):
        yield Span(m.start(1), m.end(1), PhiType.MRN, 0.9, "pattern.mrn")
    for m in _VIN.finditer(text):
        code = m.group()
        if sum(c.isdigit() for c in code) >= 3 and sum(c.isalpha() for c in code) >= 3:
            yield Span(m.start(), m.end(), PhiType.VEHICLE, 0.8, "pattern.vin")


_UNITS = re.compile(r"\s*(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|stars?|%|dollars?|percent)\b", re.I)


def _looks_like_quantity(text: str, end: int) -> bool:
    """ "waited 45 minutes" or "record 2 hours": a number followed by a unit is not an identifier."""
    return bool(_UNITS.match(text, end))


# --- street addresses and ZIP codes -----------------------------------------------------------

_STATES_RE = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|"
    "OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Parkway|Pkwy|"
    r"Circle|Cir|Terrace|Ter|Highway|Hwy|Trail|Trl|Square|Sq|Loop|Pike|Plaza|Row|Alley|Crossing|Xing)"
)
_ADDRESS = re.compile(
    rf"\b\d{{1,6}}(?:-\d{{1,4}})?\s+(?:[NSEW]\.?\s+|North\s+|South\s+|East\s+|West\s+)?"
    rf"(?:(?:[A-Z][A-Za-z'.-]*|\d{{1,3}}(?:st|nd|rd|th))\s+){{1,4}}{_SUFFIX}\b\.?"
    rf"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Bldg|Building|#)\.?\s*#?\s*[A-Za-z0-9-]+)?"
    # the city, when a state follows (a town is a Safe Harbor geographic unit too)
    rf"(?:,\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?(?=,?\s+(?:{_STATES_RE})\b))?"
)
_PO_BOX = re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d+\b", re.I)
_STATES = _STATES_RE
_ZIP_AFTER_STATE = re.compile(rf"\b(?:{_STATES})\.?,?\s+(\d{{5}}(?:-\d{{4}})?)\b")
_ZIP_KEYWORD = re.compile(r"\b(?:zip|zip\s*code|postal\s+code)\s*(?:is|was|:|#)?\s*(\d{5}(?:-\d{4})?)\b", re.I)
_ZIP_PLUS4 = re.compile(r"(?<![\d-])\d{5}-\d{4}(?![\d-])")


def addresses(text: str) -> Iterator[Span]:
    for m in _ADDRESS.finditer(text):
        yield Span(m.start(), m.end(), PhiType.ADDRESS, 0.85, "pattern.address")
    for m in _PO_BOX.finditer(text):
        yield Span(m.start(), m.end(), PhiType.ADDRESS, 0.9, "pattern.address")
    for pattern in (_ZIP_AFTER_STATE, _ZIP_KEYWORD):
        for m in pattern.finditer(text):
            yield Span(m.start(1), m.end(1), PhiType.ZIP, 0.85, "pattern.zip")
    for m in _ZIP_PLUS4.finditer(text):
        yield Span(m.start(), m.end(), PhiType.ZIP, 0.8, "pattern.zip")


PATTERN_RECOGNISERS: tuple[Recogniser, ...] = (dates, ages, emails, urls, ips, ssns, identifier_numbers, addresses)
