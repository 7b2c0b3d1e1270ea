"""The helpdesk as seed 002 describes it (issue 26, items 1-2): L1 first, escalation
along each category's path, a fresh SLA clock at each level, the first-contact figure
and the time at each level."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import workflow as wf
from app.domain.errors import NotAllowed, NotYet
from app.extensions import db
from app.models import Notification
from app.services.engine import cases, timers
from app.services.front_doors import helpdesk
from tests.conftest import NOW
from tests.test_helpdesk_sla import CALLER, build_desk, log

H = timedelta(hours=1)


@pytest.fixture
def desk(world):
    return build_desk(world)


def test_l1_resolves_a_call_with_the_fix_and_the_caller_is_told(desk):
    case = log(desk, "technical", "P2", escalate=False)
    ev = cases.act(case, "close", now=NOW + H, actor=desk.operator, text="Cleared the app cache.")
    assert case.status == wf.CLOSED and case.resolution == "first_contact"
    assert ev.text == "Cleared the app cache." and ev.public
    sms = db.session.scalars(select(Notification).where(
        Notification.template == "helpdesk_closed", Notification.recipient == CALLER["mobile"])).all()
    assert len(sms) == 1
    # the team never saw it
    assert case.current_office_id == desk.desk.id and not any(
        e.type == "escalate" for e in case.events)


def test_solved_on_the_call_is_logged_closed(desk):
    case = helpdesk.log_call(desk.operator, category=desk.cats["functional"], classification="problem",
                             priority="P3", channel="phone", caller=dict(CALLER), subject="s",
                             description="d", diagnosis="", now=NOW, fix="Showed the menu.")
    assert case.status == wf.CLOSED and case.resolution == "first_contact"
    assert [e.type for e in case.events] == ["created", "close"]


def test_a_team_cannot_act_on_an_l1_ticket(desk):
    case = log(desk, "technical", escalate=False)
    with pytest.raises(NotAllowed):
        cases.act(case, "reply", now=NOW, actor=desk.team_user, text="x")


def test_team_closure_is_not_first_contact(desk):
    case = log(desk, "technical")
    cases.act(case, "close", now=NOW + H, actor=desk.team_user, text="Fixed on the server.")
    assert case.resolution == "resolved"
    with pytest.raises(NotYet):  # only L1 classifies, only while it holds the ticket
        cases.act(log(desk, "technical"), "classify", now=NOW, actor=desk.team_user,
                  data={"priority": "P4"})


def test_each_level_gets_its_own_clock_from_arrival(desk):
    case = log(desk, "bug", "P1", escalate=False)
    l1_due = case.response_due
    cases.act(case, "reply", now=NOW + H, actor=desk.operator, text="Looking into it")
    assert case.first_response_at == NOW + H
    arrive = NOW + timedelta(days=1)
    cases.act(case, "escalate", now=arrive, actor=desk.operator, text="A bug: to the vendor")
    assert case.current_office_id == desk.vendor.id and case.escalation_level == 1
    assert case.first_response_at is None  # the vendor has not answered yet
    assert case.response_due > l1_due and case.response_due == helpdesk.sla.due_times(
        "helpdesk", "P1", arrive)[0]
    assert not case.sla_breached
    # the vendor's answer meets the vendor's clock
    vendor = __import__("tests.factories", fromlist=["make_user"]).make_user(desk.vendor, ["operator"])
    cases.act(case, "reply", now=arrive + H, actor=vendor, text="Fix in next release")
    rows = {(r["priority"], r["team"]): r for r in helpdesk.compliance_report(desk.admin, arrive + 2 * H)}
    assert rows[("P1", "Vendor Team")]["met"] == 1


def test_the_sweep_forwards_an_overdue_l1_ticket_along_its_path(desk):
    case = log(desk, "functional", "P1", escalate=False)
    late = case.response_due + timedelta(minutes=1)
    assert timers.sweep(late)["escalated"] == 1
    db.session.refresh(case)
    assert case.current_office_id == desk.mt.id and case.escalation_level == 1
    assert case.response_due > late and not case.sla_breached  # the team's own clock
    ev = case.events[-1]
    assert ev.type == "sla_escalate" and ev.from_office_id == desk.desk.id and ev.actor_kind == "system"
    told = set(db.session.scalars(select(Notification.recipient).where(
        Notification.case_id == case.id, Notification.template == "office_received",
        Notification.created_at == late)))
    assert desk.mt_user.email in told
    # an L1 ticket whose category has no path stays with the desk (nothing to forward to)
    stuck = log(desk, "unrouted", "P1", escalate=False)
    timers.sweep(stuck.response_due + timedelta(minutes=1))
    db.session.refresh(stuck)
    assert stuck.current_office_id == desk.desk.id


def test_classify_changes_the_path_and_the_due_times(desk):
    case = log(desk, "functional", "P4", escalate=False)
    cases.act(case, "classify", now=NOW + H, actor=desk.operator,
              data={"category_id": desk.cats["bug"].id, "classification": "bug_fix", "priority": "P1"})
    assert case.category_id == desk.cats["bug"].id and case.priority == "P1"
    assert case.response_due == helpdesk.sla.due_times("helpdesk", "P1", case.created_at)[0]
    assert helpdesk.path_of(case).id == desk.vendor.id
    ev = case.events[-1]
    assert ev.type == "classify" and not ev.public and ev.data["before"]["priority"] == "P4"


def test_first_contact_figure_and_time_at_each_level(desk):
    first = log(desk, "technical", "P3", escalate=False)
    cases.act(first, "close", now=NOW + H, actor=desk.operator, text="fixed")
    second = log(desk, "technical", "P3", escalate=False)
    cases.act(second, "escalate", now=NOW + 2 * H, actor=desk.operator, text="to tech")
    cases.act(second, "close", now=NOW + 6 * H, actor=desk.team_user, text="fixed by tech")
    third = log(desk, "functional", "P3", escalate=False)
    now = NOW + 10 * H
    rep = helpdesk.level_report(desk.admin, now)
    assert (rep["logged"], rep["first_contact"], rep["escalated"], rep["closed"]) == (3, 1, 1, 2)
    assert rep["first_contact_rate"] == 33.3
    levels = {lv["name"]: lv for lv in rep["levels"]}
    l1 = levels["O&M Helpdesk"]
    assert l1["desk"] and rep["levels"][0] is l1
    assert (l1["reached"], l1["now"], l1["resolved"]) == (3, 1, 1)
    assert l1["hours"] == 1 + 2 + 10 and l1["longest"] == 10.0
    tech = levels["Technical Team"]
    assert (tech["reached"], tech["now"], tech["resolved"], tech["hours"]) == (1, 0, 1, 4.0)
    assert third.status == wf.OPEN
    # scoped like every report
    assert helpdesk.level_report(desk.d3_op, now)["logged"] == 0
