"""Helpdesk pages: log a call (roles, validation, htmx), the ticket page with the id to
share, the desk log and team queue with the overdue flag, the SLA report."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import Case
from app.services.engine import timers
from tests.conftest import NOW
from tests.test_helpdesk_sla import build_desk, log

HX = {"HX-Request": "true"}


@pytest.fixture
def desk(world):
    return build_desk(world)


def _form(w, **extra):
    data = {"channel": "phone", "caller_name": "Ravi", "caller_mobile": "9876543210",
            "caller_email": "", "category": str(w.cats["functional"].id),
            "classification": "problem", "priority": "P2", "subject": "Cannot create estimate",
            "description": "Save button greyed out", "diagnosis": "Role missing?"}
    data.update(extra)
    return data


def test_only_helpdesk_operators_log_calls(client, auth, desk):
    auth.login(desk.d1_op.login_id)
    assert client.get("/helpdesk/new").status_code == 403
    assert client.post("/helpdesk/new", data=_form(desk)).status_code == 403
    assert client.get("/helpdesk/").status_code == 301  # the old address of the desk's log
    assert client.get("/helpdesk/", follow_redirects=True).status_code == 404  # not one of its views
    assert db.session.scalar(select(db.func.count(Case.id))) == 0


def test_log_a_call(client, auth, desk):
    auth.login(desk.operator.login_id)
    r = client.get("/helpdesk/new")
    assert r.status_code == 200 and b"Functional" in r.data and b"Master Trainers" in r.data
    r = client.post("/helpdesk/new", data=_form(desk))
    assert r.status_code == 303
    case = db.session.scalar(select(Case))
    # L1 first (issue 26): the ticket stays with the desk
    assert case.current_office_id == desk.desk.id and case.classification == "problem"
    assert case.priority == "P2" and case.data["diagnosis"] == "Role missing?"
    r = client.get(r.headers["Location"])
    assert b"Ticket id to share with the caller" in r.data and case.reference.encode() in r.data
    assert b"Share this ticket id with the caller" in r.data  # the flash
    assert b"Role missing?" in r.data


def test_log_a_call_htmx(client, auth, desk):
    auth.login(desk.operator.login_id)
    r = client.get("/helpdesk/new", headers=HX)
    assert b"<html" not in r.data and b'id="helpdesk-form"' in r.data
    r = client.post("/helpdesk/new", data=_form(desk), headers=HX)
    assert r.status_code == 204 and "/cases/HD-" in r.headers["HX-Redirect"]


def test_log_a_call_validation_keeps_input(client, auth, desk):
    auth.login(desk.operator.login_id)
    r = client.post("/helpdesk/new", data=_form(desk, caller_mobile="", caller_email="",
                                                 category="", subject=""))
    assert r.status_code == 422
    assert b"mobile number or e-mail so that replies reach them." in r.data
    assert b"Please fill in this field." in r.data
    assert b"Save button greyed out" in r.data
    r = client.post("/helpdesk/new", data=_form(desk, caller_mobile="12345"), headers=HX)
    # htmx 2 swaps only 2xx answers: the form with its errors comes back as 200
    assert r.status_code == 200 and b"Enter a 10-digit mobile number." in r.data
    assert b"<html" not in r.data
    r = client.post("/helpdesk/new", data=_form(desk, category="99999"))
    assert r.status_code == 422 and b"Choose a category from the list." in r.data
    assert db.session.scalar(select(db.func.count(Case.id))) == 0


def test_desk_log_and_team_queue_flag_overdue(client, auth, desk):
    # "Overdue" is judged against the clock: hold it at the fixture's NOW.
    with time_machine.travel(NOW, tick=False):
        on_time = log(desk, "technical", "P3")
        late = log(desk, "technical", "P1", now=NOW - timedelta(days=5))
        other_team = log(desk, "functional", "P3")
        auth.login(desk.operator.login_id)
        r = client.get("/helpdesk/", follow_redirects=True)
        for c in (on_time, late, other_team):
            assert c.reference.encode() in r.data
        assert r.data.count(b"badge badge-warn") == 1  # live, before any sweep
        auth.logout()
        auth.login(desk.team_user.login_id)
        r = client.get("/helpdesk/queue", follow_redirects=True)
        assert on_time.reference.encode() in r.data and late.reference.encode() in r.data
        assert other_team.reference.encode() not in r.data
        r = client.get("/helpdesk/queue?show=overdue", headers=HX, follow_redirects=True)
        assert b"<html" not in r.data and late.reference.encode() in r.data
        assert on_time.reference.encode() not in r.data
        r = client.get(f"/cases/{late.reference}")
        assert r.status_code == 200 and b'badge badge-warn">Overdue' in r.data
        assert b"Reply to the caller" in r.data
        # the sweep escalates it with a fresh window: no longer past its due time
        timers.sweep(NOW)
        r = client.get(f"/cases/{late.reference}")
        assert r.status_code == 200 and b'badge badge-warn">Overdue' not in r.data


def test_ticket_page_is_404_outside_jurisdiction(client, auth, desk):
    case = log(desk)
    auth.login(desk.d3_op.login_id)
    assert client.get(f"/helpdesk/{case.reference}").status_code == 404


def test_report(client, auth, desk):
    case = log(desk, "technical", "P1", now=NOW - timedelta(days=5))
    timers.sweep(NOW)
    auth.login(desk.admin.login_id)
    r = client.get("/helpdesk/report")
    assert r.status_code == 200
    assert b"Technical Team" in r.data and b"SLA matrix in force" in r.data
    r = client.get("/helpdesk/report", headers=HX)
    assert b"<html" not in r.data and b'id="sla-report"' in r.data
    auth.logout()
    auth.login(desk.d1_op.login_id)
    assert client.get("/helpdesk/report").status_code == 403
    assert case.sla_breached


def _act(client, case, **data):
    data.setdefault("version", str(case.version))
    return client.post(f"/cases/{case.reference}/act", data=data)


def test_team_replies_assigns_and_closes_from_the_ticket_page(client, auth, desk):
    from app.models import Notification
    from tests.factories import make_user

    mate = make_user(desk.team, ["operator"], name="Team Mate")
    case = log(desk, "technical", "P2")
    auth.login(desk.team_user.login_id)
    r = client.get(f"/cases/{case.reference}")
    assert b"Reply to the caller" in r.data and b"Team Mate" in r.data
    r = _act(client, case, action="reply", text="")
    assert r.status_code == 422 and b"Please write your text." in r.data
    r = _act(client, case, action="reply", text="Please clear the cache and retry.")
    assert r.status_code == 303
    db.session.refresh(case)
    assert case.first_response_at is not None and case.status == "in_progress"
    sms = db.session.scalars(select(Notification).where(Notification.channel == "sms")).all()
    assert any(n.recipient == "9876543210" and "Please clear the cache" not in n.subject for n in sms)
    r = client.post(f"/cases/{case.reference}/act", headers=HX, data={
        "action": "assign", "version": str(case.version), "user": str(mate.id), "text": "Yours"})
    assert r.status_code == 200 and b'id="case-panel"' in r.data and b"<html" not in r.data
    assert b"Done: Assign to a team mate." in r.data
    db.session.refresh(case)
    assert case.assignee_id == mate.id
    auth.logout()
    auth.login(mate.login_id)
    r = _act(client, case, action="close", text="Cache cleared remotely.")
    assert r.status_code == 303
    db.session.refresh(case)
    assert case.status == "closed" and case.resolution == "resolved"


def test_outsiders_and_the_desk_cannot_act_as_the_team(client, auth, desk):
    case = log(desk, "technical", "P2")
    auth.login(desk.mt_user.login_id)  # another team: the ticket is not visible
    assert _act(client, case, action="reply", text="x").status_code == 404
    auth.logout()
    auth.login(desk.operator.login_id)  # the desk raised it: requester, not handler
    r = _act(client, case, action="reply", text="x")
    assert r.status_code == 403 and b"You are not allowed to take this action on this case." in r.data
    db.session.refresh(case)
    assert case.first_response_at is None
