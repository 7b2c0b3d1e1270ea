"""Business-time arithmetic for SLA due times (pure functions)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.domain.workflow import WORKING

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
    return business_days_in(a, b, holidays, weekend)


def business_days_in(a: date, b: date, holidays, weekend=DEFAULT_WEEKEND) -> int:
    """Business days after day `a` up to and including day `b` (0 when `b` is not after
    `a`), counted by whole weeks: the sweep closes thousands of cases a batch, each a
    year old or more (the league's disposal times), and a walk day by day was most of it."""
    span = (b - a).days
    if span <= 0:
        return 0
    weeks, rest = divmod(span, 7)
    start = a.weekday()
    n = weeks * (7 - len(weekend)) + sum(1 for i in range(1, rest + 1) if (start + i) % 7 not in weekend)
    return n - sum(1 for h in holidays if a < h <= b and h.weekday() not in weekend)


# ---- overdue: one definition ------------------------------------------------------------
#
# A case is overdue when its clock runs (open or in progress: waiting on the requester
# or an external authority stops it, and the due times move on by the time waited) and
# the deadline it works to — `due_by` — has passed. The lists flag it and show that
# deadline, and the sweep (`app.services.engine.timers.rules`, through its SQL form
# `app.services.engine.sla.overdue_condition`) acts on it. `sla_breached` is a record that the
# case was once late (the compliance figures); after an escalation the receiving level
# gets a fresh window, and a case within it is not overdue.

def due_by(case) -> datetime | None:
    """The deadline `case` works to: the earlier of its response due time (while nobody
    has answered) and its resolution due time; None when it has neither."""
    times = [t for t in ((case.response_due if case.first_response_at is None else None),
                         case.resolution_due) if t is not None]
    return min(times) if times else None


def is_overdue(case, now: datetime) -> bool:
    """Is `case` overdue at `now` (naive UTC)? The clock runs and `due_by` has passed."""
    if case.status not in WORKING:
        return False
    due = due_by(case)
    return due is not None and due <= now
