"""The sweep's set-based path (`app.services.front_doors.bulk`) against the per-case ORM path: on the
same cases, at the same moment, both must leave exactly the same case rows, timeline
rows, outbox messages and dashboard counters."""

from datetime import timedelta

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import delete, func, insert, select, update

from app.domain import workflow as wf
from app.extensions import db
from app.models import (
    Case,
    CaseDayTally,
    CaseDisposalTally,
    CaseEvent,
    CaseFlowTally,
    CaseTally,
    Notification,
    NotificationTemplate,
    User,
)
from app.services.engine import cases, notify, timers
from app.services.front_doors import bulk
from app.services.read_models import refcache, tallies
from tests.conftest import NOW
from tests.factories import CITIZEN, make_case

H = timedelta(hours=1)
LATER = NOW + 10 * 24 * H  # every deadline below has passed


def _scenario(world):
    """Cases due for every sweep rule, with every kind of requester: a citizen in Hindi,
    an employee (own contact, Persian), a customer registered by an employee (signed
    link), a caller of the helpdesk; clocks paused for days; an administrator's wording."""
    db.session.add(NotificationTemplate(name="case_closed", channel="sms", locale="hi",
                                        subject="", body="बंद: %(ref)s %(status)s %(url)s"))
    db.session.get(User, world.ho1_op.id).locale = "fa"
    db.session.commit()
    made = []
    for i in range(3):
        c = make_case("complaint", world.ho1, requester={**CITIZEN, "locale": "hi"}, category=world.cat)
        cases.act(c, "start", actor=world.ho1_op, now=NOW)
        cases.act(c, "propose_resolution", actor=world.ho1_op, now=NOW + i * H, text="Delivered.")
        made.append(c)
    own = make_case("complaint", world.ho1, actor=world.ho1_op)  # an employee's own complaint
    cases.act(own, "propose_resolution", actor=world.ho1_sup, now=NOW, text="Fixed.")
    customer = make_case("complaint", world.ho1, actor=world.ho1_op,
                         requester={"name": "Customer", "mobile": "9123456789"})
    cases.act(customer, "propose_resolution", actor=world.ho1_sup, now=NOW, text="Fixed.")
    # helpdesk tickets the desk (L1, at CEPT here) escalated to the team (issue 26)
    call = make_case("helpdesk", world.team, requester={"name": "Caller", "email": "caller@example.in"},
                     raising_office=world.cept)
    cases.act(call, "request_info", actor=world.team_user, now=NOW, text="Which counter?")
    asked = make_case("interaction", world.dept, actor=world.d1_op)
    cases.act(asked, "request_info", actor=world.dept_user, now=NOW, text="Screenshot?")
    doorstep = make_case("service_request", world.d1)  # breach only
    ticket = make_case("office_ticket", world.d1, actor=world.so1_user)
    return [*made, own, customer, call, asked, doorstep, ticket, *_escalations(world)]


def _escalations(world):
    """Overdue cases at every kind of escalation: level 0 (to the supervisors of the
    same office), a level higher up the chain from a post office, from a team (past the
    teams and departments), at the top (CEPT: stays), one with an assignee and another
    priority, one with its clock paused waiting on the requester."""
    first = make_case("complaint", world.ho1)  # level 0: same office, supervisors' queue
    up = make_case("complaint", world.ho1, requester={**CITIZEN, "locale": "hi"}, priority="P1",
                   category=world.cat)
    cases.act(up, "propose_resolution", actor=world.ho1_op, now=NOW, text="Done.")
    cases.act(up, "reject", as_=wf.REQUESTER, now=NOW + H, text="Not done.")  # level 1
    cases.act(up, "start", actor=world.ho1_sup, now=NOW + 2 * H)  # assigned: cleared on escalation
    desk = make_case("helpdesk", world.team, requester={"name": "Caller", "mobile": "9000000001"},
                     raising_office=world.cept)
    cases.act(desk, "escalate", actor=world.team_user, now=NOW, text="Supervisor please.")  # level 1
    top = make_case("complaint", world.cept, actor=world.c1_op)
    cases.act(top, "escalate", actor=world.cept_user, now=NOW, text="Look at this.")  # level 1 at the top
    waiting = make_case("complaint", world.d1)
    cases.act(waiting, "escalate", actor=world.d1_sup, now=NOW, text="Supervisor please.")  # level 1
    cases.act(waiting, "request_info", actor=world.d1_sup, now=NOW + H, text="Which parcel?")
    return [first, up, desk, top, waiting]


def _state():
    """Everything a sweep may write, keyed so that two runs compare directly."""
    case_rows = {r.id: dict(r._mapping) for r in db.session.execute(select(Case.__table__))}
    events = sorted(tuple((k, v) for k, v in dict(r._mapping).items() if k != "id")
                    for r in db.session.execute(select(CaseEvent.__table__)))
    messages = sorted(tuple((k, v) for k, v in dict(r._mapping).items() if k != "id")
                      for r in db.session.execute(select(Notification.__table__)))
    tally = sorted(tuple(r) for r in db.session.execute(select(CaseTally.__table__)) if r.n or r.rating_n)
    days = sorted(tuple(r) for r in db.session.execute(select(CaseDayTally.__table__)) if r.raised or r.closed)
    league = (sorted(tuple(r) for r in db.session.execute(select(CaseFlowTally.__table__)) if any(r[4:])),
              sorted(tuple(r) for r in db.session.execute(select(CaseDisposalTally.__table__)) if r.n))
    return case_rows, events, messages, tally, days, league


def _restore(snapshot, max_event, max_message):
    case_rows, _events, _messages, tally, days, (flow_rows, disposal_rows) = snapshot
    for row in case_rows.values():
        db.session.execute(update(Case.__table__).where(Case.__table__.c.id == row["id"]).values(row))
    db.session.execute(delete(CaseEvent).where(CaseEvent.id > max_event))
    db.session.execute(delete(Notification).where(Notification.id > max_message))
    db.session.execute(delete(CaseTally))
    cols = [c.name for c in CaseTally.__table__.columns]
    db.session.execute(insert(CaseTally.__table__), [dict(zip(cols, r, strict=True)) for r in tally])
    db.session.execute(delete(CaseDayTally))
    cols = [c.name for c in CaseDayTally.__table__.columns]
    db.session.execute(insert(CaseDayTally.__table__), [dict(zip(cols, r, strict=True)) for r in days])
    for model, rows in ((CaseFlowTally, flow_rows), (CaseDisposalTally, disposal_rows)):
        db.session.execute(delete(model))
        cols = [c.name for c in model.__table__.columns]
        if rows:
            db.session.execute(insert(model.__table__), [dict(zip(cols, r, strict=True)) for r in rows])
    db.session.commit()
    db.session.expire_all()


@pytest.fixture
def frozen_links(monkeypatch):
    """Signed links carry the second they were made: make both runs sign at the same one."""
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_800_000_000)


@pytest.mark.parametrize("policy", ["close", "escalate"])
def test_set_based_and_per_case_paths_write_the_same(world, app, monkeypatch, frozen_links, policy):
    app.config["INFO_TIMEOUT_POLICY"] = policy
    cases_made = _scenario(world)
    before = _state()
    max_event = db.session.scalar(select(func.max(CaseEvent.id)))
    max_message = db.session.scalar(select(func.max(Notification.id)))

    with monkeypatch.context() as m:  # the per-case ORM path only
        m.setattr(bulk, "may_apply", lambda action, as_=wf.SYSTEM: False)
        per_case_counts = timers.sweep(LATER)
    per_case = _state()
    assert tallies.check() == []

    _restore(before, max_event, max_message)
    assert _state() == before
    calls, per_case_calls = [], []
    real_act_set, real_act_many = bulk.act_set, cases.act_many
    monkeypatch.setattr(bulk, "act_set", lambda *a, **k: calls.append(a[1]) or real_act_set(*a, **k))
    monkeypatch.setattr(cases, "act_many", lambda *a, **k: per_case_calls.append(a[1]) or real_act_many(*a, **k))
    set_based_counts = timers.sweep(LATER)
    assert {"confirmation_timeout", "sla_breach", "sla_escalate"} <= set(calls)  # the fast path did run
    assert per_case_calls == []  # and took every case, the escalations too
    assert set_based_counts == per_case_counts
    assert set_based_counts["auto_closed"] == 5
    assert set_based_counts["info_timeout"] == 3
    assert set_based_counts["escalated"] == 4
    after = _state()
    assert after[0] == per_case[0]  # case rows, column by column
    assert after[1] == per_case[1]  # timeline rows
    assert after[2] == per_case[2]  # outbox messages, word for word
    assert after[3] == per_case[3]  # dashboard counters
    assert after[4] == per_case[4]  # and the per-day ones
    assert after[5] == per_case[5]  # and the league's (issue 27)
    assert tallies.check() == []
    # the administrator's Hindi wording and the customer's signed link were used
    bodies = [dict(m)["body"] for m in after[2] if dict(m)["template"] == "case_closed"]
    assert any(b.startswith("बंद: ") for b in bodies)
    assert any("/respond/" in b for b in bodies)
    # escalations: where each case went, its level, its timeline row and its messages
    first, up, desk, top, waiting = cases_made[-5:]
    rows = after[0]
    assert (rows[first.id]["current_office_id"], rows[first.id]["escalation_level"]) == (world.ho1.id, 1)
    assert (rows[up.id]["current_office_id"], rows[up.id]["escalation_level"]) == (world.d1.id, 2)
    assert rows[up.id]["assignee_id"] is None and rows[up.id]["sla_breached"]
    assert rows[up.id]["resolution_due"] > LATER  # the receiving level's own window
    # a helpdesk ticket stays with its team: its supervisors (CEPT's) are told (issue 26)
    assert (rows[desk.id]["current_office_id"], rows[desk.id]["escalation_level"]) == (world.team.id, 2)
    assert (rows[top.id]["current_office_id"], rows[top.id]["escalation_level"]) == (world.cept.id, 2)
    moved = {dict(e)["case_id"]: dict(e) for e in after[1] if dict(e)["type"] == "sla_escalate"}
    assert (moved[up.id]["from_office_id"], moved[up.id]["to_office_id"]) == (world.ho1.id, world.d1.id)
    assert moved[up.id]["data"] == {"level": 2}
    received = [dict(m) for m in after[2] if dict(m)["template"] == "office_received"
                and dict(m)["created_at"] == LATER]
    to_d1 = [m for m in received if m["case_id"] == up.id]
    assert {m["recipient"] for m in to_d1} == {world.d1_op.email, world.d1_op2.email, world.d1_sup.email}
    assert all("queue of D1" in m["body"] for m in to_d1)  # the office it went to
    if policy == "escalate":  # the unanswered request for information climbs from D1 to R1
        assert (rows[waiting.id]["current_office_id"], rows[waiting.id]["escalation_level"]) == (world.r1.id, 2)
        assert rows[waiting.id]["status"] == wf.OPEN and rows[waiting.id]["paused_since"] is None
    else:
        assert rows[waiting.id]["status"] == wf.CLOSED


def test_set_based_transitions_come_from_the_workflow_table():
    by_action = {t.action: bulk.set_based(t) for t in wf.TRANSITIONS if wf.SYSTEM in t.who}
    assert by_action == {"confirmation_timeout": True, "info_timeout_close": True,
                         "info_timeout_escalate": True, "sla_escalate": True, "sla_breach": True}
    assert not any(bulk.set_based(t) for t in wf.TRANSITIONS if t.needs or t.needs_text)


def test_a_guard_that_misses_undoes_the_batch_and_the_per_case_path_takes_it(world, monkeypatch):
    due = []
    for _ in range(3):
        c = make_case("complaint", world.ho1)
        cases.act(c, "propose_resolution", actor=world.ho1_op, now=NOW, text="Done.")
        due.append(c.id)

    def refuse(*_args):  # after the UPDATEs, timeline rows and counters were written
        raise bulk.Refused("simulated")

    monkeypatch.setattr(bulk, "_messages", refuse)
    assert timers.sweep(NOW + 49 * H)["auto_closed"] == 3
    db.session.expire_all()
    assert {db.session.get(Case, i).status for i in due} == {wf.CLOSED}
    assert db.session.scalar(select(func.count()).where(CaseEvent.type == "confirmation_timeout")) == 3
    assert db.session.scalar(select(func.count()).where(Notification.template == "case_closed")) == 3 * 2  # e-mail and SMS
    assert tallies.check() == []


def test_set_based_path_skips_a_case_changed_after_it_was_found_due(world):
    due = []
    for _ in range(3):
        c = make_case("complaint", world.ho1)
        cases.act(c, "propose_resolution", actor=world.ho1_op, now=NOW, text="Done.")
        due.append(c.id)
    versions = {i: db.session.get(Case, i).version for i in due}
    versions[due[0]] -= 1  # seen at an older version: someone changed it since
    timers._begin_batch()
    changed, rest = bulk.act_set(versions, "confirmation_timeout", now=NOW + 49 * H)
    db.session.commit()
    assert (changed, rest) == (2, [])
    db.session.expire_all()
    assert [db.session.get(Case, i).status for i in due] == [
        wf.AWAITING_CONFIRMATION, wf.CLOSED, wf.CLOSED]
    assert db.session.get(Case, due[1]).version == versions[due[1]] + 1
    assert tallies.check() == []


def _overdue_complaints(world, offices, level=1):
    """Overdue complaints at `offices`, each escalated `level` times by a supervisor."""
    made = []
    for office in offices:
        c = make_case("complaint", office)
        for _ in range(level):
            cases.act(c, "escalate", actor=world.cept_user, now=NOW, text="Up.")
        made.append(c.id)
    return made


def test_set_based_escalation_skips_a_case_changed_after_it_was_found_due(world):
    due = _overdue_complaints(world, [world.ho1, world.d1, world.so3])
    versions = {i: db.session.get(Case, i).version for i in due}
    versions[due[1]] -= 1  # seen at an older version: someone changed it since
    timers._begin_batch()
    changed, rest = bulk.act_set(versions, "sla_escalate", now=LATER)
    db.session.commit()
    assert (changed, rest) == (2, [])
    db.session.expire_all()
    got = [(db.session.get(Case, i).current_office_id, db.session.get(Case, i).escalation_level) for i in due]
    assert got == [(world.d1.id, 2), (world.d1.id, 1), (world.d3.id, 2)]
    assert db.session.get(Case, due[0]).version == versions[due[0]] + 1
    assert db.session.scalar(select(func.count()).where(CaseEvent.type == "sla_escalate")) == 2
    assert tallies.check() == []


def test_a_case_with_no_higher_level_is_left_to_the_per_case_path(world, monkeypatch):
    due = _overdue_complaints(world, [world.ho1, world.d1])
    real = bulk.routing.escalation_target

    def nowhere_for_the_first(case, *args, **kw):
        return None if case.id == due[0] else real(case, *args, **kw)

    monkeypatch.setattr(bulk.routing, "escalation_target", nowhere_for_the_first)
    versions = {i: db.session.get(Case, i).version for i in due}
    timers._begin_batch()
    assert bulk.act_set(versions, "sla_escalate", now=LATER) == (1, [due[0]])
    db.session.commit()
    assert tallies.check() == []


def test_set_based_escalation_runs_the_same_statements_for_any_number_of_cases(world):
    """The parent offices, the SLA windows and the offices' contacts are read once per
    batch, not once per case (or per office)."""
    from tests.test_query_counts import count_queries

    def statements(offices):
        due = _overdue_complaints(world, offices)
        versions = {i: db.session.get(Case, i).version for i in due}
        refcache.clear()  # both counts with the reference data read afresh
        timers._begin_batch()
        with count_queries() as c, notify.batch():  # as the sweep runs it
            assert bulk.act_set(versions, "sla_escalate", now=LATER) == (len(due), [])
        db.session.commit()
        return c["n"]

    few = statements([world.ho1, world.d1])
    many = statements([world.ho1, world.so1, world.d1, world.d3, world.so3, world.team, world.ho1] * 3)
    assert many == few
    assert tallies.check() == []
