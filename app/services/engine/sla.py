"""Due times from the SLA matrix and the holiday calendar."""

from __future__ import annotations

from datetime import date, datetime
from types import MappingProxyType

from flask import current_app
from sqlalchemy import select

from app.domain import kinds
from app.domain import workflow as wf
from app.domain.sla import add_business_days
from app.extensions import db
from app.models import Case, Holiday, SlaRule
from app.models.case import NOT_CLOSED
from app.services.read_models import memo, refcache

# Used when the matrix has no row for a kind/priority: (response, resolution) business days,
# the kind's own (`CaseKind.sla`); this is the registry's default.
FALLBACK = kinds.DEFAULT_SLA


def holidays_between(start: date, end: date) -> set[date]:
    return {day for day in holidays() if start <= day <= end}


def holidays() -> frozenset[date]:
    """The whole holiday calendar (a few dozen days a year), kept per process until the
    reference data changes (`refcache`)."""
    return refcache.cached(("sla.holidays",), lambda: frozenset(db.session.scalars(select(Holiday.day))))


def _rules() -> dict[tuple[str, str], tuple[int, int]]:
    """The SLA matrix {(kind, priority): (response days, resolution days)}, cached."""
    return refcache.cached(("sla.rules",), lambda: MappingProxyType({
        (r.kind, r.priority): (r.response_days, r.resolution_days)
        for r in db.session.execute(select(SlaRule.kind, SlaRule.priority, SlaRule.response_days,
                                           SlaRule.resolution_days))}))


def due_times(kind: str, priority: str, now: datetime) -> tuple[datetime, datetime]:
    """(response_due, resolution_due) for a case of `kind`/`priority` raised at `now`;
    within a `memo.batch()` (a sweep batch renewing the windows of the cases it
    escalates) computed once per kind and priority."""
    return memo.per_batch(("sla.due_times", kind, priority, now),
                          lambda: _due_times(kind, priority, now))


def _due_times(kind: str, priority: str, now: datetime) -> tuple[datetime, datetime]:
    rule = _rules().get((kind, priority))
    found = kinds.find(kind)
    fallback = found.sla if found is not None else FALLBACK
    resp_days, res_days = rule if rule else fallback.get(priority, fallback["P3"])
    # Every holiday, not only those of the window: add_business_days only asks whether
    # a given day is one.
    hol = holidays()
    tz = current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Kolkata")
    return add_business_days(now, resp_days, hol, tz), add_business_days(now, res_days, hol, tz)


def due_passed(now: datetime):
    """SQL: the deadline of `app.domain.sla.due_by` has passed at `now` (the status is
    not looked at beyond "not closed"). "Not closed" stands beside each due time
    compared: the predicate of their partial indexes, which SQLite needs in each
    branch of the OR."""
    return ((NOT_CLOSED & (Case.response_due <= now) & Case.first_response_at.is_(None))
            | (NOT_CLOSED & (Case.resolution_due <= now)))


def overdue_condition(now: datetime):
    """SQL form of `app.domain.sla.is_overdue`: the clock runs and `due_by` has passed."""
    return Case.status.in_(sorted(wf.WORKING)) & due_passed(now)


def load_national_holidays(years: list[int], country: str | None = None) -> int:
    """Fill the holiday calendar from the `holidays` package (national holidays)."""
    import holidays as hol

    country = country or current_app.config.get("HOLIDAY_COUNTRY", "IN")
    added = 0
    existing = set(db.session.scalars(select(Holiday.day)))
    for day, name in sorted(hol.country_holidays(country, years=years).items()):
        if day not in existing:
            db.session.add(Holiday(day=day, name=name))
            added += 1
    db.session.commit()
    return added
