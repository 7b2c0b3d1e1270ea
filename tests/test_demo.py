"""The demo data is a believable day: its timers agree with its clock, its history was
delivered, and the helpdesk teams it escalates to have supervisors."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, CaseEvent, Category, Notification, User
from app.services.administration import demo
from app.services.engine import cases, timers


@pytest.fixture
def demo_now(app):
    demo.load(case_count=120)
    return datetime.utcnow()


def test_first_sweep_acts_only_on_the_cases_shown_as_overdue(demo_now):
    result = timers.sweep(demo_now + timedelta(minutes=1))
    assert result == {"auto_closed": 0, "info_timeout": 0, **demo.OVERDUE_SHOWCASE}
    touched = db.session.scalars(select(Case.subject).where(
        Case.events.any(CaseEvent.actor_kind == "system") | Case.sla_breached.is_(True))).all()
    assert sorted(touched) and all(s.startswith("Overdue (demo)") for s in touched)
    # the next sweep finds nothing more to do at the same clock
    again = timers.sweep(demo_now + timedelta(minutes=2))
    assert set(again.values()) == {0}


def test_open_cases_are_young_and_history_goes_back_weeks(demo_now):
    open_created = db.session.scalars(select(Case.created_at).where(
        Case.status != wf.CLOSED, ~Case.subject.startswith("Overdue (demo)"))).all()
    assert open_created and min(open_created) > demo_now - timedelta(days=1)
    oldest_closed = db.session.scalar(select(func.min(Case.created_at)).where(Case.status == wf.CLOSED))
    assert oldest_closed < demo_now - timedelta(days=14)


def test_case_count_includes_the_showcase(app):
    demo.load(case_count=30)
    repeats = db.session.scalar(select(func.count(Case.id)).where(Case.related_case_id.is_not(None)))
    total = db.session.scalar(select(func.count(Case.id)))
    overdue = db.session.scalar(select(func.count(Case.id)).where(Case.subject.startswith("Overdue (demo)")))
    assert overdue == demo.SHOWCASE_CASES
    assert total - repeats == 30  # the repeat complaints about closed ones come on top


def test_history_is_delivered_and_new_messages_are_pending(demo_now):
    statuses = dict(db.session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)).all())
    assert statuses.get("sent", 0) > 100 and set(statuses) == {"sent"}
    assert db.session.scalar(select(func.count()).where(Notification.sent_at.is_(None))) == 0
    case = db.session.scalar(select(Case).where(Case.kind == wf.SERVICE_REQUEST, Case.status == wf.OPEN)
                             .order_by(Case.id).limit(1))
    handler = db.session.scalar(select(User).where(User.office_id == case.current_office_id)
                                .order_by(User.id).limit(1))
    cases.act(case, "start", actor=handler, text="Postman on the way.", now=demo_now + timedelta(minutes=1))
    pending = db.session.scalars(select(Notification).where(Notification.status == "pending")).all()
    assert pending and {n.case_id for n in pending} == {case.id}


def test_every_helpdesk_team_has_a_supervisor_who_gets_level_one(demo_now):
    teams = set(db.session.scalars(select(Category.route_to_id).where(
        Category.kind == wf.HELPDESK, Category.route_to_id.is_not(None))))
    assert teams
    for team_id in teams:
        people = db.session.scalars(select(User).where(User.office_id == team_id)).all()
        assert any(u.has_role("supervisor") for u in people), team_id
    timers.sweep(demo_now + timedelta(minutes=1))
    escalated = db.session.scalar(select(Case).where(Case.kind == wf.HELPDESK, Case.escalation_level == 1,
                                                     Case.subject.startswith("Overdue (demo)")))
    assert escalated is not None and escalated.current_office_id in teams
    assert ("Master Trainers supervisor" in {what for _login, what in demo.demo_logins()})
