"""One definition of "overdue" (issue 22, item 11) and the timer rules read from the
workflow table (item 18, second half).

A case is overdue when its clock runs (open or in progress) and the deadline it works
to has passed: the response due time while nobody has answered, else the resolution
due time. The lists flag exactly that, show that deadline, and the sweep acts on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.domain import sla as domain_sla
from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, Category
from app.services.engine import cases, timers
from app.services.front_doors import helpdesk, interactions
from tests.conftest import NOW
from tests.factories import make_case
from tests.test_helpdesk_sla import build_desk, log

H = timedelta(hours=1)
MIN = timedelta(minutes=1)


@pytest.fixture
def desk(world):
    return build_desk(world)


def _sql_overdue(now) -> set[int]:
    return set(db.session.scalars(select(Case.id).where(helpdesk.overdue_condition(now))))


def _agree(case_list, now):
    """The flag, the date shown and the SQL form (list filter, sweep) say the same."""
    sql = _sql_overdue(now)
    for case in case_list:
        flagged = helpdesk.is_overdue(case, now)
        due = domain_sla.due_by(case)
        running = case.status in wf.WORKING
        assert flagged == (running and due is not None and due <= now), case
        assert flagged == (case.id in sql), case


def test_escalated_case_within_its_fresh_window_is_not_flagged(desk):
    """The bug: after an escalation set a new window the list said "Past due time" beside
    a response due date in the future."""
    case = log(desk, priority="P1", now=NOW)
    late = case.response_due + MIN
    assert helpdesk.is_overdue(case, late)
    assert timers.sweep(late)["escalated"] == 1
    db.session.refresh(case)
    assert case.sla_breached  # the record that it was once late stays
    assert domain_sla.due_by(case) > late  # the date shown is the new window's
    assert not helpdesk.is_overdue(case, late)  # so it is not flagged
    assert case.id not in _sql_overdue(late)
    _agree([case], late)
    _agree([case], domain_sla.due_by(case))


def test_flag_shown_date_and_sweep_agree_over_time(desk):
    fresh = log(desk, priority="P1", now=NOW)
    answered = log(desk, priority="P1", now=NOW)
    cases.act(answered, "reply", now=NOW + H, actor=desk.team_user, text="Looking into it")
    waiting = log(desk, priority="P1", now=NOW)
    cases.act(waiting, "request_info", now=NOW + H, actor=desk.team_user, text="Which screen?")
    closed = log(desk, priority="P1", now=NOW)
    cases.act(closed, "close", now=NOW + H, actor=desk.team_user, text="Fixed")
    every = [fresh, answered, waiting, closed]
    for step in range(0, 24 * 6):
        _agree(every, NOW + step * H)
    # after an answer the deadline is the resolution due time
    assert domain_sla.due_by(answered) == answered.resolution_due
    assert domain_sla.due_by(fresh) == fresh.response_due
    # waiting on the caller: the clock stands still, nothing is overdue
    assert not helpdesk.is_overdue(waiting, waiting.resolution_due + timedelta(days=30))


def test_sweep_escalates_exactly_the_overdue_cases(desk):
    made = [log(desk, priority=p, now=NOW - timedelta(days=d))
            for p in ("P1", "P2", "P4") for d in (0, 1, 2, 3, 6)]
    cases.act(made[3], "reply", now=NOW, actor=desk.team_user, text="On it")
    now = NOW + 30 * H
    expected = {c.id for c in made if helpdesk.is_overdue(c, now)}
    assert expected and len(expected) < len(made)
    assert timers.sweep(now)["escalated"] == len(expected)
    # each reached its team at level 1 (L1 escalated it, issue 26): the sweep's is level 2
    escalated = {c.id for c in made if db.session.get(Case, c.id).escalation_level == 2}
    assert escalated == expected


def test_desk_list_shows_the_deadline_it_flags(client, auth, desk):
    with time_machine.travel(NOW, tick=False):
        case = log(desk, "technical", "P1", now=NOW - timedelta(days=5))
        auth.login(desk.team_user.login_id)
        page = client.get("/cases/?view=helpdesk-queue").data.decode()
        assert page.count("badge badge-warn") == 1
        timers.sweep(NOW)  # escalated: a fresh window in the future
        db.session.refresh(case)
        assert case.response_due > NOW
        page = client.get("/cases/?view=helpdesk-queue").data.decode()
        assert case.reference in page and "badge badge-warn" not in page
        assert client.get("/cases/?view=helpdesk-queue&overdue=1").data.decode().count(case.reference) == 0
    with time_machine.travel(case.response_due + MIN, tick=False):
        page = client.get("/cases/?view=helpdesk-queue").data.decode()
        assert page.count("badge badge-warn") == 1


def test_case_page_header_flags_against_the_dates_it_shows(client, auth, world):
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        case = make_case("complaint", world.ho1)
        cases.act(case, "reply", actor=world.ho1_op, now=NOW + timedelta(days=30), text="Looking")
    later = case.resolution_due + MIN
    timers.sweep(later)
    db.session.refresh(case)
    assert case.sla_breached and case.resolution_due > later
    with time_machine.travel(later, tick=False):
        auth.login(world.ho1_sup.login_id)
        page = client.get(f"/cases/{case.reference}").data.decode()
        assert "Resolution due by" in page and "badge badge-warn" not in page


# ---- item 18: the kinds of the timer rules come from the workflow table --------------

def _overdue_case_of_each_kind(desk):
    subj = Category(kind="interaction", level="subject", code="s", name_en="S",
                    department_id=desk.dept.id)
    db.session.add(subj)
    db.session.commit()
    return {
        wf.SERVICE_REQUEST: make_case("service_request", desk.d1),
        wf.OFFICE_TICKET: make_case("office_ticket", desk.d1, actor=desk.so1_user),
        wf.COMPLAINT: make_case("complaint", desk.ho1),
        wf.INTERACTION: interactions.raise_to_department(desk.d1_op, desk.dept, subj, "x", NOW),
        wf.HELPDESK: log(desk, priority="P1", now=NOW),
    }


def test_overdue_cases_climb_or_are_flagged_by_kind(desk):
    """The rule, stated on its own: overdue complaints and helpdesk cases are escalated
    (they climb); overdue doorstep requests, office tickets and interactions are only
    flagged as breached, where they are."""
    made = _overdue_case_of_each_kind(desk)
    where = {k: c.current_office_id for k, c in made.items()}
    late = max(c.resolution_due for c in made.values()) + MIN
    timers.sweep(late)
    for kind, case in made.items():
        db.session.refresh(case)
        assert case.sla_breached, kind
        if kind in ("complaint", "helpdesk"):
            # a helpdesk ticket reached its team at level 1 (L1 escalated it, issue 26)
            level = 2 if kind == "helpdesk" else 1
            assert case.escalation_level == level and case.events[-1].type == "sla_escalate", kind
        else:
            assert case.escalation_level == 0 and case.current_office_id == where[kind], kind
            assert not [e for e in case.events if e.type == "sla_escalate"], kind


def test_timer_rules_follow_the_workflow_table(app, monkeypatch):
    """Change the table, and the sweep's rules change with it: timers hold no kind list
    of their own."""
    by_name = {r[0]: r for r in timers.rules(NOW)}
    assert set(by_name["escalated"][4]) == {"complaint", "helpdesk"}
    assert set(by_name["breached"][4]) == {"service_request", "office_ticket", "interaction"}
    assert set(by_name["escalated"][2]) == set(by_name["breached"][2]) == {"open", "in_progress"}
    moved = tuple(
        wf.Transition(t.action, t.kinds - {wf.HELPDESK}, t.sources, t.target, t.who, t.effects)
        if t.action == "sla_escalate" else
        wf.Transition(t.action, t.kinds | {wf.HELPDESK}, t.sources, t.target, t.who, t.effects,
                      public=t.public) if t.action == "sla_breach" else t
        for t in wf.TRANSITIONS)
    monkeypatch.setattr(wf, "TRANSITIONS", moved)
    by_name = {r[0]: r for r in timers.rules(NOW)}
    assert set(by_name["escalated"][4]) == {"complaint"}
    assert set(by_name["breached"][4]) == {"service_request", "office_ticket", "interaction", "helpdesk"}


def test_timers_source_names_no_kind():
    import inspect

    source = inspect.getsource(timers)
    for kind in ("wf.COMPLAINT", "wf.HELPDESK", "wf.SERVICE_REQUEST", "wf.OFFICE_TICKET",
                 "wf.INTERACTION", "wf.WORKING"):
        assert kind not in source, kind
