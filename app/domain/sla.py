"""Business-time arithmetic for SLA due times (pure functions)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UTC = ZoneInfo("UTC")
DEFAULT_WEEKEND = frozenset({5, 6})  # Saturday, Sunday


def is_business_day(day: date, holidays: set[date], weekend=DEFAULT_WEEKEND) -> bool:
    return day.weekday() not in weekend and day not in holidays


def add_business_days(
    start_utc: datetime,
    days: int,
    holidays: set[date],
    tz: str = "Asia/Kolkata",
    weekend=DEFAULT_WEEKEND,
) -> datetime:
    """Due time `days` business days after `start_utc`: the end of the `days`-th
    business day after the start day, in local time, returned as naive UTC.

    A case raised on Friday with 1 business day is due at the end of Monday (or of the
    next working day when Monday is a holiday). A case raised on a non-working day
    counts from the next working day.
    """
    zone = ZoneInfo(tz)
    local = start_utc.replace(tzinfo=UTC).astimezone(zone)
    day = local.date()
    counted = 0
    while counted < max(days, 0):
        day += timedelta(days=1)
        if is_business_day(day, holidays, weekend):
            counted += 1
    if days <= 0:
        while not is_business_day(day, holidays, weekend):
            day += timedelta(days=1)
    end_local = datetime.combine(day, time(23, 59, 59), tzinfo=zone)
    return end_local.astimezone(UTC).replace(tzinfo=None)


def business_days_between(
    start_utc: datetime, end_utc: datetime, holidays: set[date], tz: str = "Asia/Kolkata",
    weekend=DEFAULT_WEEKEND,
) -> int:
    """Whole business days from the start day (exclusive) to the end day (inclusive)."""
    zone = ZoneInfo(tz)
    a = start_utc.replace(tzinfo=UTC).astimezone(zone).date()
    b = end_utc.replace(tzinfo=UTC).astimezone(zone).date()
    n = 0
    while a < b:
        a += timedelta(days=1)
        if is_business_day(a, holidays, weekend):
            n += 1
    return n
