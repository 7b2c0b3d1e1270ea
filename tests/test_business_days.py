"""Business days between two days (`app.domain.sla.business_days_in`, the league's
disposal times): counted by whole weeks, it must agree with walking the calendar a day at
a time, whatever the weekend and the holidays (a holiday on a weekend day counts once)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.sla import DEFAULT_WEEKEND, business_days_between, business_days_in, is_business_day

DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31))


def walked(a: date, b: date, holidays, weekend) -> int:
    """The rule itself: each day after `a` up to `b` that is neither weekend nor holiday."""
    n = 0
    while a < b:
        a += timedelta(days=1)
        n += is_business_day(a, holidays, weekend)
    return n


@settings(max_examples=300, deadline=None)
@given(a=DAYS, b=DAYS, holidays=st.sets(DAYS, max_size=40),
       weekend=st.sets(st.integers(0, 6), max_size=3).map(frozenset))
def test_counting_by_weeks_agrees_with_walking_the_calendar(a, b, holidays, weekend):
    assert business_days_in(a, b, holidays, weekend) == walked(a, b, holidays, weekend)


def test_examples():
    friday, monday = date(2026, 12, 4), date(2026, 12, 7)
    assert business_days_in(friday, monday, set()) == 1  # Saturday and Sunday do not count
    assert business_days_in(friday, monday, {monday}) == 0  # nor a holiday
    assert business_days_in(friday, friday, set()) == 0
    assert business_days_in(monday, friday, set()) == 0  # backwards: none
    assert business_days_in(date(2026, 1, 1), date(2027, 1, 1), set()) == 261
    # a holiday on a Saturday takes nothing off
    assert business_days_in(friday, date(2026, 12, 14), {date(2026, 12, 5)}) == 6
    assert business_days_in(friday, date(2026, 12, 14), {date(2026, 12, 8)}, DEFAULT_WEEKEND) == 5


def test_between_two_instants_counts_local_days():
    # 20:00 UTC on a Friday is already Saturday in Kolkata (UTC+5:30): Monday is then the first
    start, end = datetime(2026, 12, 4, 20, 0), datetime(2026, 12, 7, 10, 0)
    assert business_days_between(start, end, set()) == 1
    assert business_days_between(start, end, set(), tz="UTC") == 1
    # Friday afternoon to Friday night UTC: Saturday already in Kolkata, not a business day
    assert business_days_between(datetime(2026, 12, 4, 10, 0), datetime(2026, 12, 4, 20, 0), set()) == 0
