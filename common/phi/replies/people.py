"""Whose name or contact a reply gives: the practice's staff, its published contacts, the reviewer's chosen name."""

from __future__ import annotations

import re

from common.phi.names import StaffAllowList
from common.phi.replies.vocabulary import _I
from common.phi.spans import Span

_CONTACT = re.compile(
    r"\b(?:call|reach|reachable|contact|email|e-mail|text|phone|fax|visit|write|dial|ring|line|number|website|site|"
    r"talk|speak|chat|hear|connect)\b",
    _I,
)


# ...unless the clause says the number or address is someone's: "we called you at", "your cell".
_THEIRS = re.compile(
    r"\b(?:your|her|his|their|\w+'s)\s+(?:\w+\s+)?(?:number|phone|cell|mobile|email|e-mail|address|line|contact)\b|"
    r"\b(?:called|texted|phoned|rang|emailed|messaged|reached|tried|left\s+(?:\w+\s+){0,3}?(?:for|to))\s+"
    r"(?:you|her|him|them)\b|"
    r"\b(?:call|text|phone|ring|email|e-mail|reach|contact)\s+(?:you|her|him|them)\s+(?:\w+\s+)?(?:at|on)\s*$|"
    r"\b(?:you|she|he|they)\s+(?:gave|provided|listed|left|registered|used|wrote\s+down)\b",
    _I,
)


# Role mailboxes ("billing@", "office@") belong to the practice, never to a patient.
_ROLE_MAILBOX = re.compile(
    r"^(?:office|info|contact|contactus|hello|billing|support|help|frontdesk|front\.desk|reception|admin|records|"
    r"medicalrecords|scheduling|appointments|feedback|care|patientcare|patientrelations|patient\.relations|privacy|"
    r"compliance|manager|team|questions|inquiries|service|customerservice|concerns)[\w.+-]*@",
    _I,
)


# A name the reply itself presents as the practice's own person: "ask for Renee", "our manager,
# Carla", "I'm Dr. Levesque, the medical director".  Such a name discloses nothing about a patient.
_STAFF_ROLE = (
    r"(?:manager|director|administrator|supervisor|coordinator|advocate|lead|owner|founder|president|CEO|COO|"
    r"receptionist|scheduler|nurse|technologist|tech|radiologist|physician|doctor|dentist|hygienist|therapist|"
    r"representative|rep|liaison|officer|head|partner|team\s+member|navigator)s?"
)


_STAFF_BEFORE = re.compile(
    rf"(?:\b(?:our|the|my)\s+(?:[\w-]+\s+){{0,3}}?{_STAFF_ROLE},?|\bask\s+for|\bspeak\s+(?:with|to)|"
    rf"\b(?:I'm|I\s+am|my\s+name\s+is|this\s+is|it's)|"
    # a sign-off names the writer: "Regards, Summit Diagnostic Imaging", "- Dr. Sean Whitley & the team"
    rf"\b(?:regards|sincerely|warmly|cheers|best|yours),?|(?:^|\n|[.!?]\s+)[-–—~])"
    rf"\s+(?:(?:Dr|Doctor|Nurse)\.?\s+)?$",
    _I,
)


_STAFF_AFTER = re.compile(rf"^,?\s+(?:(?:our|the)\s+)?(?:[\w-]+\s+){{0,3}}?{_STAFF_ROLE}\b", _I)


_STAFF_CANDIDATE = re.compile(
    r"(?:\b(?:Dr|Doctor|Nurse|Mr|Mrs|Ms|Mx)\.?\s+)?"
    r"(?P<name>\b[A-Z][a-z]+(?:[-'][A-Za-z]+)?(?:\s+[A-Z][a-z]+(?:[-'][A-Za-z]+)?)?)"
)


def _contact_key(value: str) -> str:
    """One spelling per contact: a phone's last ten digits, an address lower-cased without scheme or "www."."""
    value = value.strip()
    if "@" not in value and not re.search(r"[A-Za-z]", value):
        return re.sub(r"\D", "", value)[-10:]
    value = re.sub(r"^(?:https?://)?(?:www\.)?", "", value.lower())
    return value.rstrip("/")


def _domain(address: str) -> str:
    """The host of a web address, or the domain of an e-mail address ("" when there is none)."""
    address = address.strip().lower()
    if "@" in address:
        return address.rsplit("@", 1)[1].strip(".")
    host = re.sub(r"^(?:[a-z][a-z0-9+.-]*://)?", "", address).split("/", 1)[0].split(":", 1)[0]
    return host.removeprefix("www.").strip(".")


def _introduced_as_staff(reply: str, span: Span) -> bool:
    """Whether the reply presents the name as one of the practice's people (or as its writer)."""
    before = reply[max(0, span.start - 60) : span.start]
    after = reply[span.end : span.end + 60]
    return bool(_STAFF_BEFORE.search(before) or _STAFF_AFTER.match(after))


def _display_name_words(display_name: str | None) -> set[str]:
    """The words of the reviewer's chosen display name ("Bill & Marge" -> Bill, Marge)."""
    return {w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", display_name or "") if len(w) > 1}


def _display_name_pattern(display_name: str | None) -> re.Pattern[str] | None:
    words = sorted(_display_name_words(display_name))
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b") if words else None


def _mentions_staff(sentence: str, staff: StaffAllowList) -> bool:
    return bool(len(staff)) and any(m.group("name") in staff for m in _STAFF_CANDIDATE.finditer(sentence))


# "we want to explain for everyone: sonographers are not permitted to share findings": how things work
_ORGANISATION_AFTER = re.compile(
    r"\s+(?:Dental|Health|Healthcare|Care|Imaging|Radiology|Medical|Clinic|Insurance|Vision|Hospital|Center|Centre|"
    r"Group|Associates|Labs?|Pharmacy|Diagnostics)\b"
)
