"""Office tickets through the engine: the climb SO → Division → Region → Circle → CEPT,
the forbidden moves, notifications, bulk actions and the queues (services layer)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain import workflow as wf
from app.domain.errors import InvalidTransition, MissingInput, NotAllowed, NotAtThisLevel
from app.extensions import db
from app.models import CaseEvent, Category, Notification
from app.services.engine import access, cases
from app.services.front_doors import tickets
from app.services.read_models import queues, views
from tests.conftest import NOW

T = timedelta(hours=1)


@pytest.fixture
def cats(world):
    rows = {}
    for i, code in enumerate(["login", "sync", "transactions", "device", "other"]):
        rows[code] = Category(kind="office_ticket", code=code, name_en=code.title(), name_hi=code,
                              name_fa=code, sort_order=i)
        db.session.add(rows[code])
    db.session.commit()
    return rows


def raise_from(user, cats, subject="DARPAN app does not sync", now=NOW, category="sync"):
    return tickets.raise_ticket(user, subject=subject, description="Sync fails since morning.",
                                category=cats[category], now=now)


def snapshot(case):
    db.session.refresh(case)
    n_events = db.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
    return (case.status, case.current_office_id, case.version, case.escalation_level, n_events)


def notes_to(case, email):
    return db.session.scalars(select(Notification).where(Notification.case_id == case.id,
                                                         Notification.recipient == email)
                              .order_by(Notification.id)).all()


def test_raise_goes_to_the_division_of_the_raising_office(world, cats):
    case = raise_from(world.so1_user, cats)
    assert case.kind == wf.OFFICE_TICKET
    assert case.current_office_id == world.d1.id  # SO1 → HO1 → D1
    assert case.raising_office_id == world.so1.id
    assert case.status == wf.OPEN
    assert case.reference
    # The Division hears about it.
    assert notes_to(case, world.d1_op.email)
    ho_case = raise_from(world.ho1_op, cats)
    assert ho_case.current_office_id == world.d1.id


def test_full_path_so_to_cept_with_replies_at_each_level(world, cats):
    case = raise_from(world.so1_user, cats)
    so_mail = world.so1_user.email
    t = NOW
    steps = [
        (world.d1_op, world.r1, world.r1_op),
        (world.r1_op, world.c1, world.c1_op),
        (world.c1_op, world.cept, world.cept_user),
    ]
    for handler, next_office, next_user in steps:
        t += T
        cases.act(case, "reply", actor=handler, now=t, text=f"Reply from {handler.office.name}")
        t += T
        cases.act(case, "note", actor=handler, now=t, text=f"Internal from {handler.office.name}")
        before = len(notes_to(case, so_mail))
        t += T
        ev = cases.act(case, "escalate", actor=handler, now=t, text=f"Needs {next_office.name}")
        assert ev.from_office_id == handler.office_id and ev.to_office_id == next_office.id
        assert case.current_office_id == next_office.id
        assert case.status == wf.OPEN
        # the receiving office is told; the raising office only on public replies/closure
        assert [n.template for n in notes_to(case, next_user.email)] == ["office_received"]
        assert len(notes_to(case, so_mail)) == before
    assert case.escalation_level == 3
    # CEPT is the top: no escalate there, reply and close only.
    names = {t.action for t in cases.available_actions(world.cept_user, case)}
    assert "escalate" not in names and {"reply", "close", "note"} <= names
    t += T
    cases.act(case, "reply", actor=world.cept_user, now=t, text="Fixed in the next app release.")
    t += T
    cases.act(case, "close", actor=world.cept_user, now=t, text="Resolved by release 4.2.")
    assert case.status == wf.CLOSED and case.resolution == "resolved" and case.closed_at == t
    types = [e.type for e in case.events]
    assert types.count("reply") == 4 and types.count("escalate") == 3 and types[-1] == "close"
    # every move has who, when and why
    for e in case.events:
        if e.type == "escalate":
            assert e.actor_id and e.at and e.text
    # the raising office heard every public reply and the closure
    templates = [n.template for n in notes_to(case, so_mail) if n.channel == "email"]
    assert templates.count("case_updated") == 4
    assert templates[-1] == "ticket_closed"  # no rating invitation: office tickets have none
    assert "rate" not in notes_to(case, so_mail)[-1].body.lower()


def test_raising_office_answers_back_and_confirms_solved(world, cats):
    case = raise_from(world.so1_user, cats)
    cases.act(case, "reply", actor=world.d1_op, now=NOW + T, text="Clear the cache and sync again.")
    assert {t.action for t in cases.available_actions(world.so1_user, case)} >= {"requester_reply", "accept"}
    cases.act(case, "requester_reply", actor=world.so1_user, now=NOW + 2 * T, text="Still failing.")
    assert case.current_office_id == world.d1.id and case.status == wf.IN_PROGRESS
    assert notes_to(case, world.d1_op.email)[-1].template == "requester_answered"
    cases.act(case, "accept", actor=world.so1_user, now=NOW + 3 * T)
    assert case.status == wf.CLOSED and case.resolution == "confirmed"


def test_division_does_not_close_it_replies_or_assigns(world, cats):
    case = raise_from(world.so1_user, cats)
    names = {t.action for t in cases.available_actions(world.d1_op, case)}
    assert "close" not in names and {"reply", "note", "escalate"} <= names
    before = snapshot(case)
    with pytest.raises(NotAtThisLevel):
        cases.act(case, "close", actor=world.d1_op, now=NOW + T, text="Closing")
    assert snapshot(case) == before


def test_division_cannot_close_or_reply_after_assigning_away(world, cats):
    case = raise_from(world.so1_user, cats)
    cases.act(case, "escalate", actor=world.d1_op, now=NOW + T, text="Needs the Region")
    before = snapshot(case)
    assert cases.available_actions(world.d1_op, case) == []
    for action in ("close", "reply", "escalate", "note"):
        with pytest.raises((NotAllowed, NotAtThisLevel)):
            cases.act(case, action, actor=world.d1_op, now=NOW + 2 * T, text="x")
    assert snapshot(case) == before
    # it still sees the ticket (raised in its subtree), with the internal notes of its level
    assert access.can_view(world.d1_op, case) and access.sees_internal(world.d1_op, case)


def test_other_region_and_other_division_cannot_touch_or_see(world, cats):
    case = raise_from(world.so1_user, cats)
    cases.act(case, "escalate", actor=world.d1_op, now=NOW + T, text="Needs the Region")
    before = snapshot(case)
    for outsider in (world.r2_op, world.r3_op, world.d2_op, world.d3_op, world.so3_user):
        assert not access.can_view(outsider, case)
        assert access.get_case_for(outsider, case.reference) is None
        with pytest.raises(NotAllowed):
            cases.act(case, "close", actor=outsider, now=NOW + 2 * T, text="Not mine")
    assert snapshot(case) == before


def test_supervisors_above_do_not_act_on_tickets_below_them(world, cats):
    case = raise_from(world.so1_user, cats)
    # R1's officer sees what is in its subtree, but acts only when the ticket reaches R1
    assert access.can_view(world.r1_op, case)
    assert cases.available_actions(world.r1_op, case) == []
    with pytest.raises(NotAllowed):
        cases.act(case, "reply", actor=world.r1_op, now=NOW + T, text="From above")


def test_escalate_needs_a_reason(world, cats):
    case = raise_from(world.so1_user, cats)
    with pytest.raises(MissingInput):
        cases.act(case, "escalate", actor=world.d1_op, now=NOW + T, text="  ")
    assert case.current_office_id == world.d1.id


def test_escalate_at_cept_is_refused(world, cats):
    case = raise_from(world.so1_user, cats)
    for i, u in enumerate((world.d1_op, world.r1_op, world.c1_op)):
        cases.act(case, "escalate", actor=u, now=NOW + (i + 1) * T, text="up")
    before = snapshot(case)
    with pytest.raises(NotAtThisLevel):
        cases.act(case, "escalate", actor=world.cept_user, now=NOW + 5 * T, text="higher?")
    assert snapshot(case) == before


def test_workflow_rows_for_office_tickets_are_level_bound():
    close = [t for t in wf.TRANSITIONS if t.action == "close" and wf.OFFICE_TICKET in t.kinds][0]
    esc = [t for t in wf.TRANSITIONS if t.action == "escalate" and wf.OFFICE_TICKET in t.kinds][0]
    assert not wf.allowed_at(close, "division") and wf.allowed_at(close, "region")
    assert not wf.allowed_at(esc, "cept") and wf.allowed_at(esc, "circle")
    assert wf.allowed_at(close, None)
    with pytest.raises(NotAtThisLevel):
        wf.find(wf.OFFICE_TICKET, wf.OPEN, "close", {wf.HANDLER}, office_kind="division")
    with pytest.raises(InvalidTransition):
        wf.find(wf.OFFICE_TICKET, wf.CLOSED, "close", {wf.HANDLER}, office_kind="region")
    # other kinds are not affected by the office kind
    assert wf.find(wf.HELPDESK, wf.OPEN, "close", {wf.HANDLER}, office_kind="division").action == "close"


def test_internal_notes_are_hidden_from_the_raising_side(world, cats):
    case = raise_from(world.so1_user, cats)
    cases.act(case, "note", actor=world.d1_op, now=NOW + T, text="Secret")
    assert not access.sees_internal(world.so1_user, case)
    assert not access.sees_internal(world.ho1_op, case)  # the Head Office above the SO
    assert not access.sees_internal(world.ho1_sup, case)
    assert access.sees_internal(world.d1_op2, case)
    assert access.sees_internal(world.r1_op, case)
    # notes notify nobody on the raising side
    assert all(n.template != "case_updated" for n in notes_to(case, world.so1_user.email))


# ---- out of scope ------------------------------------------------------------------

@pytest.mark.parametrize("subject, system", [
    ("CBS account opening fails", "CBS"),
    ("Finacle screen hangs", "CBS"),
    ("SAP CSI login issue", "CSI"),
    ("RPLI premium not posted", "PLI/RPLI"),
    ("pli policy loan", "PLI/RPLI"),
    ("IPPB AePS withdrawal", "IPPB"),
])
def test_out_of_scope_keywords(subject, system):
    assert system in [o.system for o in tickets.out_of_scope(subject)]


@pytest.mark.parametrize("subject", ["DARPAN app does not sync", "Printer not pairing",
                                     "Application shows subscription error", "Login fails"])
def test_in_scope_subjects(subject):
    assert tickets.out_of_scope(subject) == []


def test_out_of_scope_by_category_code():
    assert [o.system for o in tickets.out_of_scope("", category_code="ippb")] == ["IPPB"]


# ---- queues ------------------------------------------------------------------------

def test_queues_filters_sorting_and_keyset_pages(world, cats):
    made = [raise_from(world.so1_user, cats, subject=f"Sync problem {i}", now=NOW + i * T,
                       category="sync" if i % 2 else "device") for i in range(7)]
    # keyset pages of the inbox's view (newest first, on (created_at, id))
    view = views.get("tickets-pending")
    now = NOW + 10 * T

    def page(cursor=None):
        return queues.page(views.query(view, world.d1_op, views.Filters(), now), cursor, size=3)

    p1 = page()
    assert [c.id for c in p1.rows] == [made[6].id, made[5].id, made[4].id]
    p2 = page(p1.next_cursor)
    assert [c.id for c in p2.rows] == [made[3].id, made[2].id, made[1].id]
    p3 = page(p2.next_cursor)
    assert [c.id for c in p3.rows] == [made[0].id] and p3.next_cursor is None
    # category
    f = tickets.Filters(category=str(cats["device"].id))
    assert {c.id for c in db.session.scalars(tickets.pending_query(world.d1_op, f, now))} == \
        {made[i].id for i in (0, 2, 4, 6)}
    # search by subject and by reference
    f = tickets.Filters(q="problem 3")
    assert [c.id for c in db.session.scalars(tickets.pending_query(world.d1_op, f, now))] == [made[3].id]
    f = tickets.Filters(q=made[5].reference)
    assert [c.id for c in db.session.scalars(tickets.pending_query(world.d1_op, f, now))] == [made[5].id]
    # age: made[0] is 10 h old, all younger than a day
    f = tickets.Filters(age="1d")
    assert len(db.session.scalars(tickets.pending_query(world.d1_op, f, now)).all()) == 7
    f = tickets.Filters(age="old")
    assert db.session.scalars(tickets.pending_query(world.d1_op, f, now + timedelta(days=8))).all()
    assert not db.session.scalars(tickets.pending_query(world.d1_op, f, now)).all()
    # status: closed ones are hidden by default
    cases.act(made[0], "reply", actor=world.d1_op, now=now, text="Fixed on our side.")
    cases.act(made[0], "accept", actor=world.so1_user, now=now)
    assert made[0].id not in {c.id for c in db.session.scalars(
        tickets.pending_query(world.d1_op, tickets.Filters(), now))}
    assert made[0].id in {c.id for c in db.session.scalars(
        tickets.pending_query(world.d1_op, tickets.Filters(status="closed"), now))}
    assert views.counts(world.d1_op, now, only=[view]) == {"tickets-pending": 6}


def test_levels_each_sees_what_reached_it(world, cats):
    a = raise_from(world.so1_user, cats)
    b = raise_from(world.so1_user, cats)
    c = raise_from(world.so3_user, cats)  # D3 under R2
    cases.act(b, "escalate", actor=world.d1_op, now=NOW + T, text="up")
    now = NOW + 2 * T
    here = tickets.Filters()
    assert {x.id for x in db.session.scalars(tickets.pending_query(world.d1_op, here, now))} == {a.id}
    assert {x.id for x in db.session.scalars(tickets.pending_query(world.r1_op, here, now))} == {b.id}
    assert {x.id for x in db.session.scalars(tickets.pending_query(world.r2_op, here, now))} == set()
    assert {x.id for x in db.session.scalars(tickets.pending_query(world.d3_op, here, now))} == {c.id}
    # a Region looks down into its subtree by level; never into another region's
    div = tickets.Filters(level="division")
    assert {x.id for x in db.session.scalars(tickets.pending_query(world.r1_op, div, now))} == {a.id}
    assert {x.id for x in db.session.scalars(tickets.pending_query(world.r2_op, div, now))} == {c.id}
    anyl = tickets.Filters(level="any")
    assert {x.id for x in db.session.scalars(tickets.pending_query(world.c1_op, anyl, now))} == {a.id, b.id, c.id}
    assert {x.id for x in db.session.scalars(tickets.pending_query(world.c2_sup, anyl, now))} == set()
    # My tickets: the raising office's own
    mine = {x.id for x in db.session.scalars(tickets.mine_query(world.so1_user, tickets.Filters(), now))}
    assert mine == {a.id, b.id}
    assert {x.id for x in db.session.scalars(tickets.mine_query(world.so3_user, tickets.Filters(), now))} == {c.id}
    at_region = tickets.Filters(level="region")
    assert {x.id for x in db.session.scalars(tickets.mine_query(world.so1_user, at_region, now))} == {b.id}


def test_who_raises_and_who_handles(world):
    assert access.can_raise_ticket(world.so1_user) and access.can_raise_ticket(world.ho1_op)
    assert not access.can_raise_ticket(world.d1_op)
    assert access.handles_tickets(world.d1_op) and access.handles_tickets(world.cept_user)
    assert not access.handles_tickets(world.so1_user) and not access.handles_tickets(world.r1_mon)
    assert not access.handles_tickets(world.dept_user)


# ---- bulk --------------------------------------------------------------------------

def test_bulk_escalate_reports_each_ticket(world, cats):
    a = raise_from(world.so1_user, cats)
    b = raise_from(world.so1_user, cats)
    c = raise_from(world.so3_user, cats)  # another division's ticket
    d = raise_from(world.so1_user, cats)
    cases.act(d, "escalate", actor=world.d1_op, now=NOW + T, text="already up")
    before_c, before_d = snapshot(c), snapshot(d)
    sel = [(a.reference, a.version), (b.reference, None), (c.reference, c.version),
           (d.reference, None), ("NOPE-1", None)]
    results = tickets.bulk_act(world.d1_op, sel, "escalate", text="Needs the Region", now=NOW + 2 * T)
    by_ref = {r.reference: r for r in results}
    assert by_ref[a.reference].ok and by_ref[b.reference].ok
    assert by_ref[c.reference].error == "not_found"  # not even its existence is told
    assert by_ref[d.reference].error == "not_allowed"
    assert by_ref["NOPE-1"].error == "not_found"
    for x in (a, b):
        db.session.refresh(x)
        assert x.current_office_id == world.r1.id
    assert snapshot(c) == before_c and snapshot(d) == before_d


def test_bulk_close_refused_at_division_and_done_at_region(world, cats):
    a = raise_from(world.so1_user, cats)
    b = raise_from(world.so1_user, cats)
    before = snapshot(a)
    res = tickets.bulk_act(world.d1_op, [(a.reference, None)], "close", text="done", now=NOW + T)
    assert [r.error for r in res] == ["not_at_this_level"]
    assert snapshot(a) == before
    assert tickets.bulk_actions_for(world.d1_op) == ["escalate"]
    assert tickets.bulk_actions_for(world.r1_op) == ["escalate", "close"]
    assert tickets.bulk_actions_for(world.cept_user) == ["close"]
    tickets.bulk_act(world.d1_op, [(a.reference, None), (b.reference, None)], "escalate", text="up",
                     now=NOW + 2 * T)
    res = tickets.bulk_act(world.r1_op, [(a.reference, None), (b.reference, None)], "close",
                           text="Fixed by the Region", now=NOW + 3 * T)
    assert all(r.ok for r in res)
    for x in (a, b):
        db.session.refresh(x)
        assert x.status == wf.CLOSED
        assert notes_to(x, world.so1_user.email)[-1].template == "ticket_closed"


def test_bulk_stale_version_changes_nothing(world, cats):
    a = raise_from(world.so1_user, cats)
    old_version = a.version
    cases.act(a, "reply", actor=world.d1_op2, now=NOW + T, text="Meanwhile")
    before = snapshot(a)
    res = tickets.bulk_act(world.d1_op, [(a.reference, old_version)], "escalate", text="up", now=NOW + 2 * T)
    assert [r.error for r in res] == ["changed_meanwhile"]
    assert snapshot(a) == before


def test_bulk_missing_reason_and_unknown_action(world, cats):
    a = raise_from(world.so1_user, cats)
    before = snapshot(a)
    res = tickets.bulk_act(world.d1_op, [(a.reference, None)], "escalate", text="", now=NOW + T)
    assert [r.error for r in res] == ["missing_input"]
    res = tickets.bulk_act(world.d1_op, [(a.reference, None)], "note", text="x", now=NOW + T)
    assert [r.error for r in res] == ["invalid_transition"]
    assert snapshot(a) == before


def test_parse_selection():
    assert tickets.parse_selection(["abc@3", "ABC@4", "", "x", "y@z"]) == [("ABC", 3), ("X", None), ("Y", None)]



# ---- the table, level by level -------------------------------------------------------

LEVEL_ACTIONS = {
    # level: (actions its handler may take on an open ticket it holds)
    "division": {"start", "reply", "note", "assign", "escalate"},
    "region": {"start", "reply", "note", "assign", "escalate", "close"},
    "circle": {"start", "reply", "note", "assign", "escalate", "close"},
    "cept": {"start", "reply", "note", "assign", "close"},
}


@pytest.mark.parametrize("level", list(LEVEL_ACTIONS))
def test_available_actions_per_level(world, cats, level):
    case = raise_from(world.so1_user, cats)
    handlers = {"division": world.d1_op, "region": world.r1_op, "circle": world.c1_op, "cept": world.cept_user}
    order = list(LEVEL_ACTIONS)
    for i in range(order.index(level)):
        cases.act(case, "escalate", actor=handlers[order[i]], now=NOW + (i + 1) * T, text="up")
    assert case.current_office.kind == level
    assert {t.action for t in cases.available_actions(handlers[level], case)} == LEVEL_ACTIONS[level]
    # the raising office: answer back, whatever the level; confirm solved only once a
    # level has answered (nobody has here)
    assert {t.action for t in cases.available_actions(world.so1_user, case)} == {"requester_reply"}
    # the levels it passed through: nothing
    for passed in order[:order.index(level)]:
        assert cases.available_actions(handlers[passed], case) == []


def test_nothing_to_do_on_a_closed_ticket(world, cats):
    case = raise_from(world.so1_user, cats)
    cases.act(case, "reply", actor=world.d1_op, now=NOW + T, text="Done.")
    cases.act(case, "accept", actor=world.so1_user, now=NOW + T)
    assert cases.available_actions(world.so1_user, case) == []
    assert cases.available_actions(world.d1_op, case) == []
    before = snapshot(case)
    for action, user in (("reply", world.d1_op), ("requester_reply", world.so1_user), ("escalate", world.d1_op)):
        with pytest.raises(InvalidTransition):
            cases.act(case, action, actor=user, now=NOW + 2 * T, text="late")
    assert snapshot(case) == before


def test_a_reply_after_escalation_starts_the_new_level(world, cats):
    case = raise_from(world.so1_user, cats)
    cases.act(case, "start", actor=world.d1_op, now=NOW + T)
    assert case.assignee_id == world.d1_op.id
    cases.act(case, "escalate", actor=world.d1_op, now=NOW + 2 * T, text="up")
    assert case.assignee_id is None  # the Division's owner no longer holds it
    assert cases.available_actions(world.d1_op, case) == []
    cases.act(case, "reply", actor=world.r1_op, now=NOW + 3 * T, text="Region here")
    assert case.status == wf.IN_PROGRESS and case.current_office_id == world.r1.id
