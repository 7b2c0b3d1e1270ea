"""The dashboard counters (`CaseTally`) agree with the cases they count: after every kind
of change the engine makes, after the demo loader, after deletion, and when rebuilt; and
the dashboard read from them equals the dashboard counted from the cases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import Case, CaseTally, Feedback
from app.services import cases, dashboards, tallies
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
    from app.services import demo

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
