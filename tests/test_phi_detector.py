"""The PHI detector: each Safe Harbor identifier found in hand-written sentences, ordinary review
sentences left alone, the staff allow-list respected, and redaction.  All texts are synthetic."""

from __future__ import annotations

import itertools
import json

import pytest

from common.phi import PhiDetector, PhiType, Span, detect, redact, resolve
from common.settings import REPO_ROOT

STAFF = ["Dr. Anika Patel", "Jake Moreno", "Jake", "Linda Chen"]


@pytest.fixture(scope="module")
def detector() -> PhiDetector:
    return PhiDetector(STAFF)


def found(detector: PhiDetector, text: str) -> set[tuple[str, str]]:
    return {(s.type.value, text[s.start : s.end]) for s in detector.detect(text)}


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("My husband Robert Diaz came with me for the scan.", "NAME", "Robert Diaz"),
        ("Mrs. Okonkwo in the next chair heard everything.", "NAME", "Okonkwo"),
        ("I asked for Gloria in billing and she fixed it.", "NAME", "Gloria"),
        ("Terrible scheduling.\n- Karen T.", "NAME", "Karen T."),
        ("Kayla was my tech and she was amazing.", "NAME", "Kayla"),
        ("My son Mateo was scared of the machine.", "NAME", "Mateo"),
        ("Went in on March 3rd, 2024 for an ultrasound.", "DATE", "March 3rd, 2024"),
        ("DOB 03/14/1941 was printed on the wristband.", "DATE", "03/14/1941"),
        ("The letter says 2024-06-09 for the follow-up.", "DATE", "2024-06-09"),
        ("They lost my films from June 2023.", "DATE", "June 2023"),
        ("My father is 93 years old and needed a wheelchair.", "AGE", "93 years old"),
        ("My grandmother is 96 and they made her wait.", "AGE", "96"),
        ("Call me at (312) 555-0142 please.", "PHONE", "(312) 555-0142"),
        ("Text 646.555.0123 for details.", "PHONE", "646.555.0123"),
        ("Please fax results to my neurologist at 312-555-0166.", "FAX", "312-555-0166"),
        ("Email me at karen.mills@example.net about it.", "EMAIL", "karen.mills@example.net"),
        ("Mail went to 1420 Lakeview Drive, Apt 3C instead.", "ADDRESS", "1420 Lakeview Drive, Apt 3C"),
        ("Send it to Chicago, IL 60601 please.", "ZIP", "60601"),
        ("The form showed SSN 219-09-9999 on screen.", "SSN", "219-09-9999"),
        ("Medical record number 004417729 was on the printout.", "MRN", "004417729"),
        ("Member ID BCX449201773 was declined.", "HEALTH_PLAN", "BCX449201773"),
        ("Account #88-41023 is settled.", "ACCOUNT", "88-41023"),
        ("My driver's license D4420-1187-9921 was copied.", "LICENSE", "D4420-1187-9921"),
        ("Someone dented my car, plate 7KDL392, in their lot.", "VEHICLE", "7KDL392"),
        ("VIN 1HGCM82633A004352 was on the parking form.", "VEHICLE", "1HGCM82633A004352"),
        ("My pacemaker serial number PMK4471920 was needed.", "DEVICE", "PMK4471920"),
        ("The portal https://portal.example.com/login showed someone else.", "URL", "https://portal.example.com/login"),
        ("The error page showed my IP 203.0.113.45 to everyone.", "IP", "203.0.113.45"),
        ("Logged from 2001:db8::1f on the kiosk.", "IP", "2001:db8::1f"),
    ],
)
def test_each_identifier_type_is_found(detector: PhiDetector, text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "The MRI took 45 minutes.",
        "5 stars!",
        "Dr. Patel was great.",
        "Rated 4/5 because the waiting room was cold.",
        "Jake was my tech and he was wonderful.",
        "Linda at check-in was lovely and Dr. Anika Patel explained everything.",
        "Waited 2 hours for a CT scan on a Tuesday.",
        "Parking was $12 and the garage was full.",
        "Grace under pressure from the whole team.",
        "Will definitely come back. May I suggest better signage?",
        "I am 47 years old and have never been treated so rudely.",
        "Results came back in 3 days. Open MRI was a lifesaver for my claustrophobia.",
        "Thank you Northside Imaging!",
    ],
)
def test_ordinary_review_sentences_are_left_alone(detector: PhiDetector, text: str) -> None:
    assert found(detector, text) == set()


def test_staff_are_only_allowed_through_the_injected_list() -> None:
    text = "Dr. Patel was great and Jake was my tech."
    assert found(PhiDetector(STAFF), text) == set()
    assert ("NAME", "Patel") in found(PhiDetector(), text)


def test_a_relative_named_like_a_staff_member_is_still_a_name(detector: PhiDetector) -> None:
    assert ("NAME", "Jake") in found(detector, "My husband Jake drove me home.")


def test_spans_are_typed_scored_ordered_and_disjoint(detector: PhiDetector) -> None:
    text = "Maria Gonzalez (maria.g@example.com, 773-555-0187) came in on 5/6/2024 at 55 Elm Street."
    spans = detector.detect(text)
    assert [s.type for s in spans] == [PhiType.NAME, PhiType.EMAIL, PhiType.PHONE, PhiType.DATE, PhiType.ADDRESS]
    for left, right in itertools.pairwise(spans):
        assert left.end <= right.start
    assert all(0 < s.confidence <= 1 and s.source for s in spans)


def test_redaction_replaces_spans_by_type_mask_or_nothing(detector: PhiDetector) -> None:
    text = "My wife Elena Ruiz is reachable at (312) 555-0142."
    assert detector.redact(text) == "My wife [NAME] is reachable at [PHONE]."
    assert detector.redact(text, style="mask") == "My wife ██████████ is reachable at ██████████████."
    assert detector.redact(text, style="remove") == "My wife  is reachable at ."
    assert redact("Email a.b@example.com now") == "Email [EMAIL] now"
    assert redact("nothing here", spans=[]) == "nothing here"


def test_module_level_detect_uses_a_default_detector_without_staff() -> None:
    spans = detect("Dr. Patel called 312-555-0100.")
    assert {s.type for s in spans} == {PhiType.NAME, PhiType.PHONE}


def test_overlaps_resolve_to_the_more_specific_type() -> None:
    email = Span(0, 17, PhiType.EMAIL, 0.99, "a")
    url = Span(6, 17, PhiType.URL, 0.9, "b")
    same = [Span(0, 5, PhiType.NAME, 0.6, "c"), Span(3, 9, PhiType.NAME, 0.9, "d")]
    assert resolve([url, email]) == [email]
    assert [(s.start, s.end) for s in resolve(same)] == [(0, 9)]
    with pytest.raises(ValueError):
        Span(3, 3, PhiType.NAME, 0.5, "empty")


def test_detector_evaluation_set_has_its_shape() -> None:
    records = [json.loads(x) for x in (REPO_ROOT / "evaluation/phi/detector.jsonl").read_text().splitlines()]
    assert len(records) >= 300
    assert {r["split"] for r in records} == {"dev", "heldout", "heldout2"}
    assert {r["origin"] for r in records} == {"template", "handwritten"}
    assert all(r["synthetic"] is True for r in records)
    kinds = {t.value for t in PhiType}
    for r in records:
        for g in r["gold"]:
            assert 0 <= g["start"] < g["end"] <= len(r["text"]) and g["type"] in kinds
    assert any(not r["gold"] for r in records) and any(r["gold"] for r in records)
