"""The dashboard counters (`CaseTally`) agree with the cases they count: after every kind
of change the engine makes, after the demo loader, after deletion, and when rebuilt; and
the dashboard read from them equals the dashboard counted from the cases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import Case, CaseTally, Feedback
from app.services.engine import cases
from app.services.read_models import dashboards, tallies
from tests import monitoring_fixture as mf
from tests.conftest import NOW
from tests.factories import make_case


def _tally(case: Case) -> int:
    return db.session.scalar(select(CaseTally.n).where(
        CaseTally.office_id == case.current_office_id, CaseTally.kind == case.kind,
        CaseTally.category_id == (case.category_id or 0), CaseTally.priority == case.priority,
        CaseTally.status == case.status, CaseTally.breached == case.sla_breached)) or 0


def test_raise_counts_the_case_once(world):
    case = make_case("service_request", world.d1)
    assert _tally(case) == 1
    assert db.session.scalar(select(func.sum(CaseTally.n))) == 1
    assert tallies.check() == []


def test_every_transition_moves_the_count(world, app):
    """Status, office (transfer), breach and rating: the counters follow."""
    data = mf.build(world)
    assert tallies.check() == []
    case = make_case("complaint", world.ho1, actor=world.ho1_op, category=world.cat)
    cases.act(case, "transfer", now=NOW, actor=world.ho1_op, target_office=world.d2, text="Booked in D2.")
    assert case.current_office_id == world.d2.id
    assert _tally(case) == 1
    assert tallies.check() == []
    cases.act(data.H, "sla_breach", as_="system", now=NOW)
    assert data.H.sla_breached and _tally(data.H) == 1
    assert tallies.check() == []


def test_rating_is_counted_on_the_case_key(world):
    data = mf.build(world)
    r_sum, r_n = db.session.execute(select(func.sum(CaseTally.rating_sum), func.sum(CaseTally.rating_n))).one()
    assert (r_sum, r_n) == (6, 2)  # E rated 4, F rated 2
    assert tallies.check() == []
    assert data.E.status == "closed"


def test_deleting_a_case_uncounts_it(world):
    from app.models import CaseEvent, Notification

    case = make_case("service_request", world.d1)
    # The portal never deletes cases (the timeline is append-only); a maintenance
    # script might, so the hook must count deletions too.
    for model in (Notification, CaseEvent, Feedback):
        db.session.execute(delete(model).where(model.case_id == case.id))
    db.session.expire(case)
    db.session.delete(case)
    db.session.commit()
    assert tallies.check() == []
    assert (db.session.scalar(select(func.coalesce(func.sum(CaseTally.n), 0)))) == 0


def test_rolled_back_change_leaves_counters_as_they_were(world):
    case = make_case("service_request", world.d1)
    before = tallies.check(), _tally(case)
    case.status = "closed"
    db.session.flush()
    db.session.rollback()
    assert (tallies.check(), _tally(db.session.get(Case, case.id))) == before


def test_rebuild_repairs_counters(world):
    mf.build(world)
    db.session.execute(delete(CaseTally))
    db.session.commit()
    assert tallies.check() != []
    assert tallies.rebuild() > 0
    assert tallies.check() == []


def test_demo_loader_keeps_counters_exact(app):
    from app.services.administration import demo

    demo.load(case_count=60)
    assert db.session.scalar(select(func.count(Case.id))) >= 60
    assert tallies.check() == []


@pytest.mark.parametrize("scope", sorted(mf.TILES))
def test_dashboard_from_counters_equals_dashboard_counted_from_cases(world, scope):
    mf.build(world)
    office = getattr(world, scope)
    for f in (dashboards.Filters(), dashboards.Filters(kind="complaint"), dashboards.Filters(priority="P1"),
              dashboards.Filters(category_id=world.cat.id)):
        for now in (NOW, NOW + timedelta(days=3), NOW - timedelta(days=2)):
            fast, slow = dashboards.summary(office, f, now), dashboards.summary(office, f, now, scan=True)
            assert fast.tiles == slow.tiles
            assert fast.rating == dashboards.rating(office, f, scan=True)
            assert fast.ageing == slow.ageing
            assert fast.kinds == slow.kinds
            assert [(r.office.id, r.here, r.counts) for r in fast.offices] == \
                [(r.office.id, r.here, r.counts) for r in slow.offices]
        assert dashboards.rating(office, f) == dashboards.rating(office, f, scan=True)


def test_cli_check_and_rebuild(world, runner):
    mf.build(world)
    assert "counters agree" in runner.invoke(args=["tallies", "--check"]).output
    db.session.execute(delete(CaseTally))
    db.session.commit()
    result = runner.invoke(args=["tallies", "--check"])
    assert result.exit_code == 1 and "differ" in result.output
    result = runner.invoke(args=["tallies", "--rebuild"])
    assert result.exit_code == 0, result.output
    assert tallies.check() == []


def test_bench_data_leaves_counters_exact(app, runner):
    """The benchmark generator writes with bulk INSERTs (no hook): it rebuilds the counters."""
    result = runner.invoke(args=["bench-data", "--cases", "120", "--due", "10"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Case.id))) == 120
    assert db.session.scalar(select(func.count(Case.id)).where(
        Case.status == "awaiting_confirmation", Case.confirmation_due < datetime.utcnow())) >= 10
    assert tallies.check() == []


# ---- per-day counters (trend, closed today) -------------------------------------------

def _day_rows() -> dict:
    from app.models import CaseDayTally

    return {(r.office_id, tallies.as_date(r.day), r.kind): (r.raised, r.closed)
            for r in db.session.scalars(select(CaseDayTally)) if r.raised or r.closed}


def test_day_counters_follow_raise_close_and_transfer(world):
    """Raised on the local (IST) day; closed on the local closing day; a transfer moves
    the case's day counts to the new office; nothing else moves them."""
    from datetime import date

    late = datetime(2026, 11, 20, 20, 0)  # 21 Nov, 01:30 in India
    sr = make_case("service_request", world.d1, now=late)
    assert _day_rows() == {(world.d1.id, date(2026, 11, 21), "service_request"): (1, 0)}
    cases.act(sr, "start", actor=world.d1_op, now=late + timedelta(hours=1))
    assert _day_rows() == {(world.d1.id, date(2026, 11, 21), "service_request"): (1, 0)}
    cases.act(sr, "complete", actor=world.d1_op, now=datetime(2026, 11, 22, 18, 29))  # 23:59 IST
    assert _day_rows() == {(world.d1.id, date(2026, 11, 21), "service_request"): (1, 0),
                           (world.d1.id, date(2026, 11, 22), "service_request"): (0, 1)}
    cases.act(sr, "rate", as_="requester", now=NOW, data={"rating": 5})
    assert tallies.check() == []
    complaint = make_case("complaint", world.ho1, actor=world.ho1_op, category=world.cat, now=late)
    cases.act(complaint, "transfer", now=NOW, actor=world.ho1_op, target_office=world.d2, text="Booked in D2.")
    rows = _day_rows()
    assert rows[(world.d2.id, date(2026, 11, 21), "complaint")] == (1, 0)
    assert (world.ho1.id, date(2026, 11, 21), "complaint") not in rows
    assert tallies.check() == []


def test_every_closing_transition_counts_the_closing_day(world, app):
    """Closing by a person, by the requester's acceptance and by the sweep's timeouts:
    the per-day counters, the trend and "closed today" agree with the cases."""
    data = mf.build(world)
    cases.act(data.J, "accept", as_="requester", now=NOW - 2 * mf.H)  # awaiting confirmation -> closed
    cases.act(data.B, "close", actor=world.c1_sup, now=NOW - mf.H, text="Resolved at the counter.")
    cases.act(data.C, "info_timeout_close", as_="system", now=NOW - 3 * mf.H)
    assert tallies.check() == []
    for now in (NOW, NOW + timedelta(hours=20)):
        for f in (dashboards.Filters(), dashboards.Filters(kind="complaint")):
            fast, slow = dashboards.summary(world.c1, f, now), dashboards.summary(world.c1, f, now, scan=True)
            assert fast.tiles == slow.tiles
            assert dashboards.trend(world.c1, f, now) == dashboards.trend(world.c1, f, now, scan=True)
    assert dashboards.summary(world.c1, dashboards.Filters(), NOW).tiles["closed_today"] == 4


@pytest.mark.parametrize("scope", sorted(mf.TILES))
def test_trend_from_counters_equals_trend_counted_from_cases(world, scope):
    mf.build(world)
    office = getattr(world, scope)
    for f in (dashboards.Filters(), dashboards.Filters(kind="complaint"),
              dashboards.Filters(kind="service_request", days=90)):
        for now in (NOW, NOW + timedelta(days=3), NOW - timedelta(days=2), NOW + timedelta(hours=13)):
            fast = dashboards.trend(office, f, now)
            assert fast == dashboards.trend(office, f, now, scan=True)
    # a category or priority filter counts from the cases (the day counters have neither)
    f = dashboards.Filters(priority="P1")
    assert dashboards.trend(office, f, NOW) == dashboards.trend(office, f, NOW, scan=True)


def test_day_counters_in_a_zone_with_daylight_saving(world, app):
    """Days are the portal zone's calendar days, across a change of offset: the hook
    (Python time zones) and the recount (SQL over offset periods) agree."""
    from datetime import date

    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/London"  # BST from 29 Mar 2026, 01:00 UTC
    for raised in (datetime(2026, 3, 28, 23, 30), datetime(2026, 3, 29, 23, 30), datetime(2026, 10, 24, 23, 30),
                   datetime(2026, 10, 25, 23, 30)):
        make_case("service_request", world.d1, now=raised)
    rows = _day_rows()
    assert {d for _o, d, _k in rows} == {date(2026, 3, 28), date(2026, 3, 30), date(2026, 10, 25)}
    assert rows[(world.d1.id, date(2026, 10, 25), "service_request")] == (2, 0)
    assert tallies.check_days() == []
    tallies.rebuild()
    assert _day_rows() == rows


def test_migration_fills_the_day_counters_from_existing_cases(world, app):
    from flask_migrate import downgrade, upgrade

    mf.build(world)
    expected = _day_rows()
    assert expected
    db.session.commit()
    db.session.remove()
    downgrade(revision="a1c3e5f7b9d2")
    upgrade()
    assert _day_rows() == expected
    assert tallies.check() == []


def test_cli_check_and_rebuild_cover_the_day_counters(world, runner):
    from app.models import CaseDayTally

    mf.build(world)
    db.session.execute(delete(CaseDayTally).where(CaseDayTally.office_id == world.d3.id))
    db.session.commit()
    result = runner.invoke(args=["tallies", "--check"])
    assert result.exit_code == 1 and "'day'" in result.output and "differ" in result.output
    result = runner.invoke(args=["tallies", "--rebuild", "--check"])
    assert result.exit_code == 0 and "counters agree" in result.output, result.output
    assert tallies.check() == []
