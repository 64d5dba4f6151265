"""Alert rules: what matches and what does not, quiet hours across time zones and DST, redaction."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from pydantic import ValidationError

from services.alerts.redaction import default_redact, excerpt
from services.alerts.rules import Conditions, Delivery, QuietHours, RuleIn, match
from services.alerts.schedule import next_digest, quiet_until, send_time
from tests.alerts_support import scored


def conditions(**kwargs: Any) -> Conditions:
    return Conditions.model_validate(kwargs)


# --- matching ---------------------------------------------------------------------------------


def test_negative_probability_and_stars_thresholds() -> None:
    rule = conditions(negative_probability_min=0.8, stars_max=2)
    assert match(rule, scored(negative=0.95, stars=1.4)) is not None
    assert match(rule, scored(negative=0.79, stars=1.4)) is None
    assert match(rule, scored(negative=0.95, stars=2.5)) is None
    assert match(rule, scored(label="positive", negative=0.02, stars=4.8)) is None


def test_reasons_name_each_condition() -> None:
    reasons = match(
        conditions(negative_probability_min=0.8, rating_max=2, topics=["results_report"]),
        scored(negative=0.9, rating=1, topics=["results_report", "waiting_time"]),
    )
    assert reasons is not None
    assert any("negative probability 0.90" in r for r in reasons)
    assert "rating 1 <= 2" in reasons
    assert "topics: results_report" in reasons


def test_source_rating_topics_and_aspects() -> None:
    assert match(conditions(rating_max=2), scored(rating=3)) is None
    assert match(conditions(rating_max=2), scored(rating=None)) is None
    assert match(conditions(topics=["billing_insurance"]), scored(topics=["waiting_time"])) is None
    assert match(conditions(topics=["billing_insurance"]), scored(topics=["billing_insurance"])) is not None
    assert match(conditions(aspects_max={"staff": 2}), scored(aspects={"staff": 1.5})) is not None
    assert match(conditions(aspects_max={"staff": 2}), scored(aspects={"staff": 3.5})) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is a HIPAA violation, I am calling a lawyer", ["hipaa"]),
        ("They scanned the WRONG   patient? no: the wrong patient!", ["wrong patient"]),
        ("Considering a lawsuit for the misdiagnosis.", ["lawsuit", "misdiagnosis"]),
        ("My privacy-settings", ["privacy"]),
        ("No issues at all, a lawsuits-free zone", None),  # 'lawsuits' is another word
        ("hipaaa is not a word", None),
        ("The issue was fixed", None),
    ],
)
def test_keywords_match_case_insensitively_on_word_boundaries(text: str, expected: list[str] | None) -> None:
    rule = conditions(keywords=["lawsuit", "HIPAA", "malpractice", "misdiagnosis", "wrong patient", "privacy"])
    reasons = match(rule, scored(text))
    if expected is None:
        assert reasons is None
    else:
        assert reasons == ["keywords: " + ", ".join(expected)]


def test_source_location_and_provider_filters() -> None:
    rule = conditions(rating_max=2, sources=["yelp"], locations=["downtown"], providers=["dr-lee"])
    assert match(rule, scored(source="yelp", location="downtown", provider="dr-lee")) is not None
    assert match(rule, scored(source="google", location="downtown", provider="dr-lee")) is None
    assert match(rule, scored(source="yelp", location="uptown", provider="dr-lee")) is None
    assert match(rule, scored(source="yelp", location="downtown", provider=None)) is None


def test_competitor_mentions_never_alert_unless_asked() -> None:
    mention = scored(competitor="rival-radiology")
    assert match(conditions(rating_max=2), mention) is None
    assert match(conditions(rating_max=2, include_competitors=True), mention) is not None


def test_model_conditions_need_a_model_reading() -> None:
    rating_only = scored(negative=0.99).model_copy(
        update={"sentiment": scored().sentiment.model_copy(update={"basis": "rating"})}
    )
    assert match(conditions(negative_probability_min=0.5), rating_only) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"conditions": {}}, "conditions"),
        ({"conditions": {"negative_probability_min": 1.5}}, "conditions.negative_probability_min"),
        ({"conditions": {"rating_max": 2}, "severity": "urgent"}, "severity"),
        (
            {
                "conditions": {"rating_max": 2},
                "quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "Nowhere/X"},
            },
            "quiet_hours.time_zone",
        ),
        ({"conditions": {"rating_max": 2}, "delivery": {"mode": "weekly"}}, "delivery.mode"),
        ({"conditions": {"rating_max": 2}, "channels": []}, "channels"),
        ({"conditions": {"aspects_max": {"parking": 2}}}, "conditions.aspects_max.parking.[key]"),
    ],
)
def test_invalid_rules_name_the_field(body: dict[str, Any], field: str) -> None:
    full = {"name": "r", "channels": [{"type": "slack", "url": "https://hooks.example.com/x"}], **body}
    with pytest.raises(ValidationError) as info:
        RuleIn.model_validate(full)
    locations = [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert any(loc.startswith(field.split(".[")[0]) for loc in locations), locations


# --- quiet hours and digests ------------------------------------------------------------------

NEW_YORK = QuietHours(start=time(22), end=time(7), time_zone="America/New_York")


def test_quiet_hours_in_the_rules_time_zone() -> None:
    # 03:00 UTC on a January night is 22:00 in New York: quiet until 07:00 EST = 12:00 UTC.
    assert quiet_until(NEW_YORK, "high", datetime(2026, 1, 15, 3, 0, tzinfo=UTC)) == datetime(
        2026, 1, 15, 12, 0, tzinfo=UTC
    )
    # 02:59 UTC is 21:59 there: not quiet.
    assert quiet_until(NEW_YORK, "high", datetime(2026, 1, 15, 2, 59, tzinfo=UTC)) is None
    # 12:00 UTC is 07:00 there: the end is exclusive.
    assert quiet_until(NEW_YORK, "high", datetime(2026, 1, 15, 12, 0, tzinfo=UTC)) is None


def test_quiet_hours_across_daylight_saving_changes() -> None:
    # DST starts on 8 March 2026 in New York: 07:00 that morning is EDT (11:00 UTC), not 12:00 UTC.
    assert quiet_until(NEW_YORK, "high", datetime(2026, 3, 8, 4, 0, tzinfo=UTC)) == datetime(
        2026, 3, 8, 11, 0, tzinfo=UTC
    )
    # DST ends on 1 November 2026: 07:00 that morning is EST (12:00 UTC) although the evening was EDT.
    assert quiet_until(NEW_YORK, "high", datetime(2026, 11, 1, 3, 0, tzinfo=UTC)) == datetime(
        2026, 11, 1, 12, 0, tzinfo=UTC
    )
    # 22:00 EDT on 31 October is 02:00 UTC; the window starts then.
    assert quiet_until(NEW_YORK, "high", datetime(2026, 11, 1, 1, 59, tzinfo=UTC)) is None


def test_quiet_hours_same_day_window_and_other_zone() -> None:
    lunch = QuietHours(start=time(12), end=time(13, 30), time_zone="Asia/Kolkata")  # UTC+05:30
    assert quiet_until(lunch, "low", datetime(2026, 6, 1, 7, 0, tzinfo=UTC)) == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert quiet_until(lunch, "low", datetime(2026, 6, 1, 8, 0, tzinfo=UTC)) is None


def test_critical_alerts_bypass_quiet_hours_by_default() -> None:
    night = datetime(2026, 1, 15, 5, 0, tzinfo=UTC)
    assert quiet_until(NEW_YORK, "critical", night) is None
    strict = NEW_YORK.model_copy(update={"bypass_severity": None})
    assert quiet_until(strict, "critical", night) is not None


def test_digest_times() -> None:
    hourly = Delivery(mode="hourly")
    assert next_digest(hourly, datetime(2026, 5, 1, 10, 17, tzinfo=UTC)) == datetime(2026, 5, 1, 11, tzinfo=UTC)
    daily = Delivery(mode="daily", digest_hour=8, time_zone="Europe/Berlin")
    # 08:00 in Berlin is 06:00 UTC in summer and 07:00 UTC in winter.
    assert next_digest(daily, datetime(2026, 5, 1, 5, 0, tzinfo=UTC)) == datetime(2026, 5, 1, 6, tzinfo=UTC)
    assert next_digest(daily, datetime(2026, 5, 1, 6, 0, tzinfo=UTC)) == datetime(2026, 5, 2, 6, tzinfo=UTC)
    assert next_digest(daily, datetime(2026, 10, 24, 12, 0, tzinfo=UTC)) == datetime(2026, 10, 25, 7, tzinfo=UTC)


def test_a_digest_due_in_quiet_hours_waits_for_their_end() -> None:
    hourly = Delivery(mode="hourly")
    # Raised 02:30 UTC = 21:30 EST; the hourly digest (03:00 UTC = 22:00 EST) is quiet: 12:00 UTC.
    assert send_time(hourly, NEW_YORK, "high", datetime(2026, 1, 15, 2, 30, tzinfo=UTC)) == datetime(
        2026, 1, 15, 12, tzinfo=UTC
    )
    assert send_time(Delivery(), None, "high", datetime(2026, 1, 15, 2, 30, tzinfo=UTC)) is None


# --- redaction --------------------------------------------------------------------------------


def test_default_redaction_masks_contact_details_and_numbers() -> None:
    text = "Call me at (555) 123-4567 or mail jane.doe+x@example.org, MRN 00123456789. Room 12."
    clean = default_redact(text)
    assert "555" not in clean and "jane.doe" not in clean and "00123456789" not in clean
    assert "[phone]" in clean and "[email]" in clean and "[number]" in clean
    assert "Room 12" in clean


def test_excerpt_is_redacted_before_it_is_cut() -> None:
    text = "Awful. " * 10 + "Call 555-123-4567 now"
    short = excerpt(text, 60)
    assert len(short) <= 60 and short.endswith("…")
    assert excerpt("call 555 123 4567", 12) != "call 555 12…"
    assert excerpt("Hello", 20, redact=str.upper) == "HELLO"  # the redactor is injected


def test_alert_excerpts_go_through_the_phi_detector() -> None:
    from common.phi import PhiDetector
    from services.alerts.redaction import phi_redactor

    redact = phi_redactor(PhiDetector(["Dr. Anika Patel"]))
    text = (
        "My husband Robert Kowalczyk waited 3 hours on 03/14/2026; call him at 555-201-7788. "
        "Dr. Anika Patel was kind but the front desk lost his records."
    )
    clean = excerpt(text, 400, redact)
    assert "Kowalczyk" not in clean and "03/14/2026" not in clean and "201-7788" not in clean
    assert "Dr. Anika Patel" in clean, "the practice's own staff are not redacted"
    assert "front desk lost" in clean
