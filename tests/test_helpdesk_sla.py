"""Helpdesk desk (seed 002): L1 first, escalation along each category's path, due times
from the SLA matrix in business days with the holiday calendar (a fresh clock at each
level), breach flag, escalation and the report."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.domain import workflow as wf
from app.domain.errors import BadTarget
from app.domain.sla import add_business_days
from app.extensions import db
from app.models import Case, Category, Holiday, SlaRule
from app.services.engine import access, cases, sla, timers
from app.services.front_doors import helpdesk, interactions
from tests.conftest import NOW
from tests.factories import make_office, make_user

FRIDAY = datetime(2026, 11, 20, 10, 30)  # 16:00 in India
SATURDAY = datetime(2026, 11, 21, 6, 0)
END_OF = {d: datetime(2026, 11, d, 18, 29, 59) for d in range(20, 31)}  # 23:59:59 IST in UTC


def build_desk(w):
    """The world plus a helpdesk desk, teams, routed categories and the SLA matrix."""
    w.desk = make_office("HELPDESK", "team", w.cept, name="O&M Helpdesk")
    w.operator = make_user(w.desk, ["helpdesk"], name="Pooja Nair")
    w.mt = make_office("MT", "team", w.cept, name="Master Trainers")
    w.mt_user = make_user(w.mt, ["operator"], name="Meena Rao")
    w.vendor = make_office("VEND", "team", w.cept, name="Vendor Team")
    w.cats = {}
    for i, (code, team) in enumerate([("functional", w.mt), ("technical", w.team),
                                      ("bug", w.vendor), ("unrouted", None)]):
        c = Category(kind="helpdesk", code=code, name_en=code.title(), name_fa=code, name_hi=code,
                     route_to_id=team.id if team else None, sort_order=i)
        db.session.add(c)
        w.cats[code] = c
    for prio, (resp, res) in {"P1": (1, 2), "P2": (2, 4), "P3": (2, 7), "P4": (2, 10)}.items():
        db.session.add(SlaRule(kind="helpdesk", priority=prio, response_days=resp, resolution_days=res))
    db.session.commit()
    return w


@pytest.fixture
def desk(world):
    return build_desk(world)


CALLER = {"name": "Ravi (ULB Jatni)", "mobile": "9876543210", "email": ""}


def log(w, code="technical", priority="P1", now=NOW, classification="incident", escalate=True):
    """Log a call with the desk; unless `escalate` is False, L1 escalates it at once along
    its category's path (when it has one): the team tests start from there."""
    case = helpdesk.log_call(w.operator, category=w.cats[code], classification=classification,
                             priority=priority, channel="phone", caller=dict(CALLER),
                             subject="Muster roll does not load", description="Blank screen",
                             diagnosis="Reproduced; cache cleared, still blank", now=now)
    if escalate and w.cats[code].route_to_id:
        cases.act(case, "escalate", now=now, actor=w.operator, text="Not solved on the call")
    return case


# ---- business days (pure) -----------------------------------------------------------

def test_business_days_skip_weekend_and_holidays():
    assert add_business_days(FRIDAY, 1, set()) == END_OF[23]  # Friday → Monday
    assert add_business_days(FRIDAY, 1, {date(2026, 11, 23)}) == END_OF[24]
    assert add_business_days(FRIDAY, 2, {date(2026, 11, 24)}) == END_OF[25]
    assert add_business_days(SATURDAY, 1, set()) == END_OF[23]  # counted from Monday


# ---- routing and due times ------------------------------------------------------------

def test_a_logged_call_stays_with_the_desk(desk):
    """L1 first (issue 26): whatever the category, the ticket stays with the desk."""
    for code in ("functional", "technical", "bug", "unrouted"):
        case = log(desk, code, escalate=False)
        assert case.current_office_id == desk.desk.id and case.escalation_level == 0
        assert helpdesk.with_desk(case) and "routed_to" not in case.data
    # the teams see none of them; the desk's operator handles them
    assert not db.session.scalars(access.handler_queue(desk.mt_user, wf.HELPDESK, include_closed=False)).all()
    assert len(db.session.scalars(access.handler_queue(desk.operator, wf.HELPDESK, include_closed=False)).all()) == 4


@pytest.mark.parametrize("code, team_attr", [("functional", "mt"), ("technical", "team"),
                                             ("bug", "vendor")])
def test_l1_escalates_along_the_path_of_the_category(desk, code, team_attr):
    case = log(desk, code)
    team = getattr(desk, team_attr)
    assert case.current_office_id == team.id and case.data["routed_to"] == team.id
    assert case.escalation_level == 1 and not helpdesk.with_desk(case)
    ev = case.events[-1]
    assert ev.type == "escalate" and ev.from_office_id == desk.desk.id and ev.to_office_id == team.id
    assert case.kind == wf.HELPDESK and case.status == wf.OPEN
    assert case.classification == "incident" and case.channel == "phone"
    assert case.requester_name == CALLER["name"] and case.requester_mobile == CALLER["mobile"]
    assert case.raised_by_id == desk.operator.id and case.raising_office_id == desk.desk.id
    assert case.data["diagnosis"].startswith("Reproduced")


def test_routing_map_is_data(desk):
    desk.cats["technical"].route_to_id = desk.mt.id
    db.session.commit()
    assert log(desk, "technical").current_office_id == desk.mt.id


def test_no_path_no_escalation(desk):
    from app.domain.errors import BadTarget as NoPath

    case = log(desk, "unrouted")
    assert case.current_office_id == desk.desk.id
    with pytest.raises(NoPath):
        cases.act(case, "escalate", now=NOW, actor=desk.operator, text="x")
    db.session.refresh(case)
    assert helpdesk.with_desk(case) and case.version == 1


def test_bad_classification_refused(desk):
    with pytest.raises(BadTarget):
        log(desk, classification="gossip")


def test_due_times_from_matrix_in_business_days(desk):
    case = log(desk, priority="P1", now=FRIDAY)
    assert case.response_due == END_OF[23] and case.resolution_due == END_OF[24]
    case = log(desk, priority="P4", now=FRIDAY)
    assert case.response_due == END_OF[24] and case.resolution_due == datetime(2026, 12, 4, 18, 29, 59)


def test_due_times_skip_the_holiday_calendar(desk):
    """2026-11-24 is Guru Nanak Jayanti in the Indian national calendar."""
    assert sla.load_national_holidays([2026], "IN") > 10
    assert db.session.scalar(select(Holiday).where(Holiday.day == date(2026, 11, 24))) is not None
    case = log(desk, priority="P1", now=NOW)  # Monday → Tuesday is a holiday → Wednesday
    assert case.response_due == END_OF[25]
    case = log(desk, priority="P2", now=FRIDAY)  # Mon + (Tue off) + Wed
    assert case.response_due == END_OF[25]


def test_matrix_change_applies_to_new_cases(desk):
    rule = db.session.scalar(select(SlaRule).where(SlaRule.kind == "helpdesk", SlaRule.priority == "P3"))
    rule.response_days = 5
    db.session.commit()
    assert log(desk, priority="P3", now=NOW).response_due == END_OF[30]


# ---- breach and escalation -----------------------------------------------------------

def test_overdue_is_shown_live_before_the_sweep(desk):
    case = log(desk, priority="P1", now=NOW)
    assert not helpdesk.is_overdue(case, case.response_due - timedelta(minutes=1))
    assert helpdesk.is_overdue(case, case.response_due + timedelta(minutes=1))
    late = db.session.scalars(select(Case).where(
        helpdesk.overdue_condition(case.response_due + timedelta(minutes=1)))).all()
    assert late == [case]


def test_sweep_flags_and_escalates_per_matrix(desk):
    case = log(desk, priority="P1", now=NOW)
    cases.act(case, "start", now=NOW + timedelta(hours=1), actor=desk.team_user)
    assert case.assignee_id == desk.team_user.id
    due = case.response_due
    assert timers.sweep(due - timedelta(minutes=1))["escalated"] == 0
    first = due + timedelta(minutes=1)
    assert timers.sweep(first)["escalated"] == 1
    db.session.refresh(case)
    assert case.sla_breached and case.escalation_level == 2 and case.status == wf.OPEN
    # the team (level 1, since L1 escalated it) escalates to the supervisors — the team
    # has none, so those above it (CEPT's); the case stays with the team, whose member
    # keeps seeing it
    assert case.current_office_id == desk.team.id
    assert case.assignee_id is None
    assert case.response_due > first  # a fresh window for the receiving level
    ev = case.events[-1]
    assert ev.type == "sla_escalate" and ev.actor_kind == "system"
    assert set(ev.data["supervisors"]) == {desk.cept_user.id, desk.admin.id}
    assert not helpdesk.is_overdue(case, first)  # within the fresh window
    assert timers.sweep(first)["escalated"] == 0  # idempotent
    timers.sweep(case.response_due + timedelta(minutes=1))
    db.session.refresh(case)
    # the SOP's path replaces climbing the office tree (issue 26): still with the team
    assert case.escalation_level == 3 and case.current_office_id == desk.team.id
    assert not helpdesk.is_overdue(case, first)
    assert helpdesk.is_overdue(case, case.response_due)


def test_answered_case_is_not_escalated_for_response(desk):
    case = log(desk, priority="P1", now=NOW)
    cases.act(case, "reply", now=NOW + timedelta(hours=2), actor=desk.team_user, text="On it")
    assert timers.sweep(case.response_due + timedelta(minutes=1))["escalated"] == 0
    assert not helpdesk.is_overdue(case, case.response_due + timedelta(minutes=1))


def test_interaction_breach_is_flagged_not_moved(desk):
    subj = Category(kind="interaction", level="subject", code="s", name_en="S",
                    department_id=desk.dept.id)
    db.session.add(subj)
    db.session.commit()
    case = interactions.raise_to_department(desk.d1_op, desk.dept, subj, "x", NOW)
    timers.sweep(case.response_due + timedelta(minutes=1))
    db.session.refresh(case)
    assert case.sla_breached and case.current_office_id == desk.dept.id
    assert helpdesk.is_overdue(case)


# ---- the report ---------------------------------------------------------------------------

def test_compliance_report_by_priority_and_team(desk):
    met = log(desk, "technical", "P1", NOW)
    cases.act(met, "reply", now=NOW + timedelta(hours=1), actor=desk.team_user, text="ok")
    breached = log(desk, "technical", "P1", NOW)
    timers.sweep(breached.response_due + timedelta(minutes=1))
    late = log(desk, "functional", "P2", NOW)
    cases.act(late, "reply", now=late.response_due + timedelta(hours=1), actor=desk.mt_user, text="x")
    pending = log(desk, "functional", "P2", NOW)
    now = NOW + timedelta(hours=2)
    rows = {(r["priority"], r["team"]): r for r in helpdesk.compliance_report(desk.admin, now)}
    p1 = rows[("P1", "Technical Team")]
    assert (p1["total"], p1["met"], p1["breached"], p1["pending"], p1["compliance"]) == (2, 1, 1, 0, 50.0)
    p2 = rows[("P2", "Master Trainers")]
    assert (p2["total"], p2["met"], p2["breached"], p2["pending"]) == (2, 0, 1, 1)
    assert p2["compliance"] == 0.0
    assert pending.first_response_at is None
    # scoped: a division operator sees none of these tickets
    assert helpdesk.compliance_report(desk.d3_op, now) == []
