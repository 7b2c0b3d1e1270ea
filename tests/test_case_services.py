"""The case engine against a real database: every transition through `cases.act`,
refusals that change nothing, optimistic locking, timers, outbox."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.domain import workflow as wf
from app.domain.errors import (
    AlreadyDone,
    BadTarget,
    ChangedMeanwhile,
    InvalidTransition,
    MissingInput,
    NotAllowed,
)
from app.domain.references import is_well_formed
from app.extensions import db
from app.models import Case, CaseEvent, Feedback, Notification, User
from app.services.engine import cases, timers
from tests.conftest import NOW
from tests.factories import make_case


def _office_for(kind, w):
    return {wf.SERVICE_REQUEST: w.d1, wf.OFFICE_TICKET: w.d1, wf.COMPLAINT: w.ho1,
            wf.INTERACTION: w.dept, wf.HELPDESK: w.team}[kind]


def _raise(kind, w):
    office = _office_for(kind, w)
    if kind == wf.OFFICE_TICKET:
        return make_case(kind, office, actor=w.so1_user)
    if kind == wf.INTERACTION:
        return make_case(kind, office, actor=w.d1_op, data={"addressed_to": "department"})
    if kind == wf.HELPDESK:
        # Raised by the office that holds it: with the desk (L1, issue 26), whose rows
        # are the first ready ones; its category's escalation path leads to the department.
        from app.models import Category

        cat = Category(kind="helpdesk", code="svc-test", name_en="T", route_to_id=w.dept.id)
        db.session.add(cat)
        db.session.commit()
        return make_case(kind, office, category=cat)
    return make_case(kind, office)


def _actor_for(rel, case, w):
    """A user with exactly the relation `rel` to `case` (or None with as_)."""
    handlers = {w.d1.id: w.d1_op, w.ho1.id: w.ho1_op, w.dept.id: w.dept_user, w.team.id: w.team_user,
                w.r1.id: w.r1_op}
    if rel == wf.HANDLER:
        return handlers[case.current_office_id], "user"
    if rel == wf.SUPERVISOR:
        return w.c1_sup if case.current_office.is_within(w.c1) else w.admin, "user"
    if rel == wf.REQUESTER and case.raised_by_id:
        return case.raised_by, "user"
    return None, rel


def _payload(t, case, w):
    kw = {"text": "Some details." if True else ""}
    if t.needs == "office":
        kw["target_office"] = w.d2 if case.current_office_id != w.d2.id else w.d1
    if t.needs == "external":
        kw["target_office"] = w.ext
    if t.needs == "user":
        kw["target_user"] = {w.d1.id: w.d1_op2, w.ho1.id: w.ho1_sup, w.dept.id: w.dept_user2,
                             w.team.id: w.team_user, w.r1.id: w.r1_op}[case.current_office_id]
    if "feedback" in t.effects:
        kw["data"] = {"rating": 4, "comment": "Good"}
    return kw


CASES = sorted({
    (kind, state, t.action, sorted(t.who - ({wf.SUPERVISOR} if kind not in wf.SUPERVISED_KINDS else set()))[0])
    for t in wf.TRANSITIONS for kind in t.kinds for state in t.sources
    if t.who - ({wf.SUPERVISOR} if kind not in wf.SUPERVISED_KINDS else set())
})


@pytest.mark.parametrize("kind,state,action,rel", CASES)
def test_every_transition_through_the_service(world, kind, state, action, rel):
    w = world
    case = _raise(kind, w)
    # Arrange the source state directly (test set-up only; the app never does this).
    case.status = state
    if state == wf.CLOSED:
        case.closed_at = NOW
    if state in (wf.AWAITING_INFO, wf.AWAITING_CONFIRMATION, wf.PENDING_EXTERNAL):
        case.paused_since = NOW
        case.paused_for = "external" if state == wf.PENDING_EXTERNAL else "customer"
    if action == "assign":
        case.assignee_id = None
    t0 = wf.find(kind, state, action, {rel}, facts={wf.ANSWERED, wf.WITH_DESK})
    if "division" in t0.extra.get("not_at", ()):
        case.current_office_id = w.r1.id  # e.g. a ticket is closed from the Region upwards
    if t0.requires == wf.ANSWERED:
        case.first_response_at = NOW  # e.g. a ticket is confirmed solved once answered
    db.session.commit()
    db.session.refresh(case)
    t = wf.find(kind, state, action, {rel}, facts=wf.facts_of(case))
    actor, as_ = _actor_for(rel, case, w)
    before_events = db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id))
    later = NOW + timedelta(hours=5)
    event = cases.act(case, action, actor=actor, as_=as_, now=later, expected_version=case.version,
                      **_payload(t, case, w))
    db.session.refresh(case)
    assert event.type == action
    assert case.status == (t.target or state)
    assert event.from_status == state and event.to_status == case.status
    assert db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id)) == before_events + 1
    if t.target == wf.CLOSED:
        assert case.closed_at == later and case.resolution == t.resolution
    if "resume_clock" in t.effects and state in (wf.AWAITING_INFO, wf.AWAITING_CONFIRMATION, wf.PENDING_EXTERNAL):
        assert case.paused_since is None
        assert case.external_seconds + case.customer_seconds == 5 * 3600
    if t.effects and any(e in t.effects for e in ("move_up", "escalate", "move_to_target")):
        assert event.to_office_id == case.current_office_id
    if "feedback" in t.effects:
        assert db.session.scalar(select(Feedback.rating).where(Feedback.case_id == case.id)) == 4


def test_forbidden_transition_changes_nothing(world):
    case = make_case("complaint", world.ho1)
    cases.act(case, "start", actor=world.ho1_op, now=NOW)
    version, events = case.version, len(case.events)
    with pytest.raises(NotAllowed):
        cases.act(case, "close", actor=world.ho1_op, now=NOW, text="done")  # operator may not close
    with pytest.raises(InvalidTransition):
        cases.act(case, "accept", as_=wf.REQUESTER, now=NOW)  # nothing proposed yet
    with pytest.raises(MissingInput):
        cases.act(case, "reply", actor=world.ho1_op, now=NOW, text="   ")
    db.session.refresh(case)
    assert (case.version, len(case.events), case.status) == (version, events, wf.IN_PROGRESS)


def test_other_office_cannot_act(world):
    case = make_case("service_request", world.d1)
    with pytest.raises(NotAllowed):
        cases.act(case, "start", actor=world.d2_op, now=NOW)
    with pytest.raises(NotAllowed):  # region monitors doorstep requests read-only
        cases.act(case, "complete", actor=world.r1_op, now=NOW)


def test_closed_case_is_never_reopened(world):
    case = make_case("service_request", world.d1)
    cases.act(case, "complete", actor=world.d1_op, now=NOW)
    for action in ("start", "reply", "note", "complete", "not_served"):
        with pytest.raises((InvalidTransition, NotAllowed)):
            cases.act(case, action, actor=world.d1_op, now=NOW, text="x")
    assert case.status == wf.CLOSED


def test_second_actor_on_same_version_gets_changed_meanwhile(world):
    case = make_case("complaint", world.ho1)
    seen = case.version
    cases.act(case, "reply", actor=world.ho1_op, now=NOW, text="First answer", expected_version=seen)
    with pytest.raises(ChangedMeanwhile):
        cases.act(case, "reply", actor=world.ho1_sup, now=NOW, text="Second answer", expected_version=seen)
    texts = [e.text for e in case.events]
    assert "First answer" in texts and "Second answer" not in texts


def test_concurrent_update_in_database_is_detected(world, app):
    """Another process bumps the version behind this session's back: the versioned
    UPDATE matches no row and the whole action is rolled back."""
    case = make_case("complaint", world.ho1)
    with db.engine.begin() as other:
        other.execute(text('UPDATE "case" SET version = version + 1 WHERE id = :id'), {"id": case.id})
    n_before = db.session.scalar(select(func.count(Notification.id)))
    with pytest.raises(ChangedMeanwhile):
        cases.act(case, "propose_resolution", actor=world.ho1_op, now=NOW, text="Resolved")
    db.session.expire_all()
    fresh = db.session.get(Case, case.id)
    assert fresh.status == wf.OPEN
    assert db.session.scalar(select(func.count(Notification.id))) == n_before
    assert all(e.type != "propose_resolution" for e in fresh.events)


def test_reference_numbers_are_unique_and_well_formed(world):
    refs = {make_case("service_request", world.d1).reference for _ in range(30)}
    assert len(refs) == 30
    assert all(is_well_formed(r) and r.startswith("SR-") for r in refs)


def test_submission_key_makes_raising_idempotent(world):
    a = make_case("service_request", world.d1, submission_key="k-123")
    b = make_case("service_request", world.d1, submission_key="k-123")
    assert a.id == b.id
    assert db.session.scalar(select(func.count(Case.id))) == 1


def test_raising_writes_outbox_for_email_and_sms(world):
    case = make_case("service_request", world.d1)
    rows = db.session.scalars(select(Notification).where(Notification.case_id == case.id,
                                                         Notification.template == "case_created")).all()
    assert {r.channel for r in rows} == {"email", "sms"}
    assert all(case.reference in r.body for r in rows)


def test_new_case_may_refer_only_to_a_closed_one(world):
    old = make_case("complaint", world.ho1)
    with pytest.raises(BadTarget):
        make_case("complaint", world.ho1, related_case=old)
    cases.act(old, "close", actor=world.ho1_sup, now=NOW, text="Closed by supervisor")
    new = make_case("complaint", world.ho1, related_case=old)
    assert new.related_case_id == old.id


def test_rating_only_once(world):
    case = make_case("service_request", world.d1)
    cases.act(case, "complete", actor=world.d1_op, now=NOW)
    cases.act(case, "rate", as_=wf.REQUESTER, now=NOW, data={"rating": 5})
    with pytest.raises(AlreadyDone):
        cases.act(case, "rate", as_=wf.REQUESTER, now=NOW, data={"rating": 1})
    with pytest.raises(MissingInput):
        other = make_case("service_request", world.d1)
        cases.act(other, "complete", actor=world.d1_op, now=NOW)
        cases.act(other, "rate", as_=wf.REQUESTER, now=NOW, data={"rating": 9})


def test_transfer_target_rules(world):
    case = make_case("complaint", world.ho1)
    with pytest.raises(BadTarget):
        cases.act(case, "transfer", actor=world.ho1_op, now=NOW, text="x", target_office=world.ext)
    with pytest.raises(BadTarget):
        cases.act(case, "refer_external", actor=world.ho1_op, now=NOW, text="x", target_office=world.d2)
    with pytest.raises(BadTarget):
        cases.act(case, "assign", actor=world.ho1_op, now=NOW, target_user=world.d2_op)
    cases.act(case, "transfer", actor=world.ho1_op, now=NOW, text="Belongs to D2", target_office=world.d2)
    assert case.current_office_id == world.d2.id and case.status == wf.OPEN


@pytest.mark.parametrize("how", ["transfer", "sweep"])
def test_the_receiving_office_is_told_its_own_name(world, how):
    """The message to the office a case moves to names that office, not the one it left
    (a transfer by a person; an escalation up the chain by the sweep, per case)."""
    case = make_case("complaint", world.ho1)
    if how == "transfer":
        cases.act(case, "transfer", actor=world.ho1_op, now=NOW, text="Belongs to D2", target_office=world.d2)
        office, when = world.d2, NOW
    else:
        cases.act(case, "escalate", actor=world.ho1_sup, now=NOW, text="Up.")  # level 1, stays at HO1
        timers._begin_batch()
        case = db.session.get(Case, case.id)
        assert cases.act_many([(case, case.version)], "sla_escalate", now=NOW + timedelta(days=30)) == 1
        db.session.commit()
        office, when = world.d1, NOW + timedelta(days=30)
    staff = set(db.session.scalars(select(User.email).where(User.office_id == office.id)))
    # (the supervisor's own escalation reached D1's supervisor, above HO1, earlier)
    received = db.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.template == "office_received",
        Notification.recipient.in_(staff), Notification.created_at == when)).all()
    assert len(received) == len(staff)
    assert all(f"queue of {office.name}." in n.body for n in received)


def test_external_clock_is_kept_apart_and_sla_shifted(world):
    case = make_case("complaint", world.ho1)
    due = case.resolution_due
    cases.act(case, "refer_external", actor=world.ho1_op, now=NOW, text="To customs", target_office=world.ext)
    cases.act(case, "recall_external", actor=world.ho1_op, now=NOW + timedelta(days=3), text="Back")
    assert case.external_seconds == 3 * 86400 and case.customer_seconds == 0
    assert case.resolution_due == due + timedelta(days=3)


class TestTimers:
    def test_confirmation_timeout_auto_closes_once(self, world, app):
        case = make_case("complaint", world.ho1)
        cases.act(case, "propose_resolution", actor=world.ho1_op, now=NOW, text="Delivered")
        assert timers.sweep(NOW + timedelta(hours=47))["auto_closed"] == 0
        later = NOW + timedelta(hours=48, minutes=1)
        assert timers.sweep(later)["auto_closed"] == 1
        assert timers.sweep(later)["auto_closed"] == 0  # idempotent
        db.session.refresh(case)
        assert case.status == wf.CLOSED and case.resolution == "auto_closed"
        assert [e.actor_kind for e in case.events if e.type == "confirmation_timeout"] == ["system"]

    def test_info_timeout_policy(self, world, app):
        a = make_case("complaint", world.ho1)
        cases.act(a, "request_info", actor=world.ho1_op, now=NOW, text="Receipt please")
        assert timers.sweep(NOW + timedelta(days=8))["info_timeout"] == 1
        assert a.status == wf.CLOSED and a.resolution == "no_response"
        app.config["INFO_TIMEOUT_POLICY"] = "escalate"
        b = make_case("complaint", world.ho1)
        cases.act(b, "request_info", actor=world.ho1_op, now=NOW, text="Receipt please")
        timers.sweep(NOW + timedelta(days=8))
        assert b.status == wf.OPEN and b.escalation_level == 1

    def test_overdue_complaint_escalates_one_level_per_breach(self, world):
        case = make_case("complaint", world.ho1)
        first = case.response_due + timedelta(minutes=1)
        assert timers.sweep(first)["escalated"] == 1
        assert case.escalation_level == 1 and case.current_office_id == world.ho1.id  # supervisors' queue
        assert case.sla_breached
        assert timers.sweep(first)["escalated"] == 0  # fresh window for the new level
        timers.sweep(case.resolution_due + timedelta(minutes=1))
        assert case.escalation_level == 2 and case.current_office_id == world.d1.id

    def test_breach_flags_doorstep_request(self, world):
        case = make_case("service_request", world.d1)
        timers.sweep(case.response_due + timedelta(seconds=1))
        assert case.sla_breached and case.status == wf.OPEN


def test_outbox_delivery_retries_and_never_touches_the_case(world, app):
    from app.services.engine import notify

    case = make_case("service_request", world.d1)
    app.config["NOTIFY_FAIL"] = "gateway down"
    counts = notify.deliver_due(NOW)
    assert counts["retry"] >= 2 and counts["sent"] == 0
    row = db.session.scalars(select(Notification).where(Notification.case_id == case.id)).first()
    assert row.status == "pending" and row.attempts == 1 and "gateway down" in row.last_error
    assert notify.deliver_due(NOW)["sent"] == 0  # not due again before the backoff
    app.config["NOTIFY_FAIL"] = None
    assert notify.deliver_due(NOW + timedelta(minutes=2))["sent"] >= 2
    assert db.session.get(Case, case.id).status == wf.OPEN
