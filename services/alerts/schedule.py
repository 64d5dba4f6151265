"""When an alert may be sent: quiet hours and digest times, in the rule's own time zone.

All arithmetic is on local wall-clock times converted back to UTC through ``zoneinfo``, so a
window "22:00-07:00 America/New_York" is right on both sides of a daylight-saving change (the
night it ends is an hour shorter or longer in UTC, as it should be).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.alerts.rules import SEVERITY_ORDER, Delivery, QuietHours


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """``day`` at ``clock`` in ``zone``, as UTC.

    A wall time skipped by a spring-forward jump (02:30 that night) resolves with the offset
    before the jump (PEP 495, fold=0), i.e. just after the jump; a repeated one to its first pass.
    """
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def quiet_until(quiet: QuietHours | None, severity: str, now: datetime) -> datetime | None:
    """The end of the quiet window ``now`` falls in (UTC), or None when the alert may go now."""
    if quiet is None:
        return None
    if quiet.bypass_severity and SEVERITY_ORDER[severity] >= SEVERITY_ORDER[quiet.bypass_severity]:
        return None
    zone = quiet.zone
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    today = local.date()
    if quiet.start < quiet.end:
        if quiet.start <= clock < quiet.end:
            return _at(today, quiet.end, zone)
        return None
    if clock >= quiet.start:
        return _at(today + timedelta(days=1), quiet.end, zone)
    if clock < quiet.end:
        return _at(today, quiet.end, zone)
    return None


def next_digest(delivery: Delivery, now: datetime) -> datetime:
    """When the digest that an alert raised ``now`` belongs to is sent (UTC)."""
    zone = ZoneInfo(delivery.time_zone)
    local = now.astimezone(zone)
    if delivery.mode == "hourly":
        top = local.replace(minute=0, second=0, microsecond=0)
        return (top.astimezone(UTC) + timedelta(hours=1)).astimezone(UTC)
    candidate = _at(local.date(), time(delivery.digest_hour), zone)
    if candidate <= now:
        candidate = _at(local.date() + timedelta(days=1), time(delivery.digest_hour), zone)
    return candidate


def send_time(delivery: Delivery, quiet: QuietHours | None, severity: str, now: datetime) -> datetime | None:
    """When to send an alert raised ``now``: None for at once, else the UTC time to hold it until."""
    due = None if delivery.mode == "immediate" else next_digest(delivery, now)
    at = due or now
    after_quiet = quiet_until(quiet, severity, at)
    if after_quiet is not None:
        return after_quiet
    return due
