"""An escalation always reaches someone new who can act (issue 22, item 12).

Level 1 of a complaint goes to the supervisors of the holding office; when it has none
— the demo's helpdesk teams are members only — to those of the nearest office above it,
whose jurisdiction covers the case; with nobody there either, to the next level of the
chain. Never only to the person who already had it.

A helpdesk ticket reaches its team at level 1 (L1 escalates it along its category's
path, issue 26); the team's escalation (level 2, 3, ...) goes to the supervisors the same
way, and stays with the team: the SOP's path replaces climbing the office tree."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Notification
from app.services.engine import access, cases, timers
from tests.conftest import NOW
from tests.factories import make_office, make_user
from tests.test_helpdesk_sla import build_desk, log

MIN = timedelta(minutes=1)


@pytest.fixture
def desk(world):
    return build_desk(world)


def _told(case, since=NOW) -> set[str]:
    """Who was sent the "in your queue" message about `case` after `since`."""
    return set(db.session.scalars(select(Notification.recipient).where(
        Notification.case_id == case.id, Notification.template == "office_received",
        Notification.created_at > since)))


def test_team_without_supervisor_reaches_the_supervisors_above_it(desk):
    """The bug: level 1 stayed with the team, dropped the assignee and told only the
    member who already had the call."""
    case = log(desk, priority="P1", now=NOW)
    assert case.current_office_id == desk.team.id
    cases.act(case, "start", now=NOW + MIN, actor=desk.team_user)
    late = case.response_due + MIN
    assert timers.sweep(late)["escalated"] == 1
    db.session.refresh(case)
    told = _told(case, NOW + MIN)
    assert desk.team_user.email not in told
    assert told == {desk.cept_user.email, desk.admin.email}  # CEPT's supervisors
    for person in (desk.cept_user, desk.admin):  # and they can act on it
        assert wf.SUPERVISOR in access.relations(person, case)
        assert {t.action for t in cases.available_actions(person, case)} >= {"reply", "close"}


def test_team_with_a_supervisor_reaches_the_team_supervisor(desk):
    lead = make_user(desk.team, ["operator", "supervisor"], name="Team lead")
    case = log(desk, priority="P1", now=NOW)
    cases.act(case, "start", now=NOW + MIN, actor=desk.team_user)
    timers.sweep(case.response_due + MIN)
    db.session.refresh(case)
    assert case.escalation_level == 2 and case.current_office_id == desk.team.id
    assert _told(case, NOW + MIN) == {lead.email}
    assert case.events[-1].data["supervisors"] == [lead.id]


def test_a_supervisor_who_had_it_is_not_the_one_it_goes_to(desk):
    """The team's only supervisor was working the case: it goes above the team."""
    lead = make_user(desk.team, ["operator", "supervisor"], name="Team lead")
    case = log(desk, priority="P1", now=NOW)
    cases.act(case, "start", now=NOW + MIN, actor=lead)
    timers.sweep(case.response_due + MIN)
    db.session.refresh(case)
    told = _told(case, NOW + MIN)
    assert lead.email not in told and told == {desk.cept_user.email, desk.admin.email}


def test_manual_escalation_by_the_teams_supervisor_reaches_someone_else(desk):
    lead = make_user(desk.team, ["operator", "supervisor"], name="Team lead")
    case = log(desk, priority="P1", now=NOW)
    cases.act(case, "escalate", now=NOW + MIN, actor=lead, text="Need help from above")
    assert case.escalation_level == 2
    told = _told(case, NOW + MIN / 2)
    assert lead.email not in told and told == {desk.cept_user.email, desk.admin.email}


def test_team_under_a_division_reaches_the_divisions_supervisor(desk):
    """Up the tree: a team inside a Division (no supervisor of its own) → the Division's
    supervisors, not CEPT's."""
    team = make_office("D1TEAM", "team", desk.d1, name="D1 IT cell")
    member = make_user(team, ["operator"])
    desk.cats["technical"].route_to_id = team.id
    db.session.commit()
    case = log(desk, priority="P1", now=NOW)
    cases.act(case, "start", now=NOW + MIN, actor=member)
    timers.sweep(case.response_due + MIN)
    db.session.refresh(case)
    assert case.current_office_id == team.id and case.escalation_level == 2
    assert _told(case, NOW + MIN) == {desk.d1_sup.email}
    assert wf.SUPERVISOR in access.relations(desk.d1_sup, case)
    # the next breach does not climb the chain (issue 26): it stays with the team and
    # the Division's supervisors are told again
    again = case.response_due + MIN
    timers.sweep(again)
    db.session.refresh(case)
    assert case.escalation_level == 3 and case.current_office_id == team.id
    assert _told(case, again - MIN / 2) == {desk.d1_sup.email}


def test_with_no_supervisor_anywhere_level_one_is_the_next_level(app):
    circle = make_office("LONE", "circle", None, name="Lone Circle")
    clerk = make_user(circle, ["operator"])
    team = make_office("LONETEAM", "team", circle, name="Lone team")
    member = make_user(team, ["operator"])
    from app.models import Category, SlaRule

    db.session.add(SlaRule(kind="helpdesk", priority="P1", response_days=1, resolution_days=2))
    cat = Category(kind="helpdesk", code="t", name_en="T", name_hi="T", name_fa="T", route_to_id=team.id)
    db.session.add(cat)
    db.session.commit()
    desk_user = make_user(circle, ["helpdesk"])
    from app.services.front_doors import helpdesk

    case = helpdesk.log_call(desk_user, category=cat, classification="incident", priority="P1",
                             channel="phone", caller={"name": "X", "mobile": "9876543210"},
                             subject="s", description="d", diagnosis="", now=NOW)
    cases.act(case, "escalate", now=NOW, actor=desk_user, text="to the team")
    cases.act(case, "start", now=NOW + MIN, actor=member)
    timers.sweep(case.response_due + MIN)
    db.session.refresh(case)
    assert case.escalation_level == 2 and case.current_office_id == circle.id
    told = _told(case, NOW + MIN)
    assert member.email not in told and clerk.email in told


def test_complaint_supervisors_queue_unchanged_when_the_office_has_one(world):
    """A complaint's level 1 still goes to its office's supervisors (HO1 has one)."""
    from tests.factories import make_case

    case = make_case("complaint", world.ho1)
    cases.act(case, "start", now=NOW + MIN, actor=world.ho1_op)
    timers.sweep(case.response_due + MIN)
    db.session.refresh(case)
    assert case.current_office_id == world.ho1.id and case.escalation_level == 1
    assert _told(case, NOW + MIN) == {world.ho1_sup.email}


def test_the_set_based_sweep_reaches_the_same_people(desk, monkeypatch):
    """The sweep's set-based path and its per-case path decide alike."""
    from app.services.front_doors import bulk

    first = log(desk, priority="P1", now=NOW)
    second = log(desk, priority="P1", now=NOW + timedelta(days=1))
    cases.act(first, "start", now=NOW + MIN, actor=desk.team_user)
    cases.act(second, "start", now=NOW + timedelta(days=1), actor=desk.team_user)
    calls = []
    real = bulk.act_set
    monkeypatch.setattr(bulk, "act_set", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    monkeypatch.setattr(bulk, "may_apply", lambda action, as_=wf.SYSTEM: False)  # per case
    timers.sweep(first.response_due + MIN)
    assert not calls
    monkeypatch.undo()
    monkeypatch.setattr(bulk, "act_set", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    timers.sweep(second.response_due + MIN)  # set-based
    assert calls
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.escalation_level == second.escalation_level == 2
    assert _told(first, NOW + MIN) == {desk.cept_user.email, desk.admin.email}
    assert _told(second, NOW + timedelta(days=1)) == {desk.cept_user.email, desk.admin.email}
    assert first.events[-1].data == second.events[-1].data
