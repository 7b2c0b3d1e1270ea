"""The state machine table, exhaustively (pure: no app, no database)."""

import itertools

import pytest

from app.domain import workflow as wf
from app.domain.errors import InvalidTransition, NotAllowed

RELATIONS = [wf.REQUESTER, wf.HANDLER, wf.SUPERVISOR, wf.SYSTEM, wf.PARTNER]

ALLOWED = sorted({
    (kind, state, t.action, rel)
    for t in wf.TRANSITIONS
    for kind in t.kinds
    for state in t.sources
    for rel in t.who
    if not (rel == wf.SUPERVISOR and kind not in wf.SUPERVISED_KINDS)
})


@pytest.mark.parametrize("kind,state,action,rel", ALLOWED)
def test_every_allowed_transition_is_found(kind, state, action, rel):
    t = wf.find(kind, state, action, {rel}, facts={wf.ANSWERED, wf.WITH_DESK})
    assert t.action == action
    assert kind in t.kinds and state in t.sources
    assert t.target is None or t.target in wf.STATES


ACTIONS = sorted({t.action for t in wf.TRANSITIONS})


@pytest.mark.parametrize("kind,state,action", [
    (k, s, a) for k, s, a in itertools.product(wf.KINDS, wf.STATES, ACTIONS)
    if not any(a == t.action and k in t.kinds and s in t.sources for t in wf.TRANSITIONS)
])
def test_every_missing_transition_is_invalid(kind, state, action):
    with pytest.raises(InvalidTransition):
        wf.find(kind, state, action, set(RELATIONS))


@pytest.mark.parametrize("kind,state,action,rel", [
    (k, s, a, r)
    for k, s, a, r in itertools.product(wf.KINDS, wf.STATES, ACTIONS, RELATIONS)
    if any(a == t.action and k in t.kinds and s in t.sources for t in wf.TRANSITIONS)
    and (k, s, a, r) not in set(ALLOWED)
])
def test_every_forbidden_actor_is_refused(kind, state, action, rel):
    with pytest.raises(NotAllowed):
        wf.find(kind, state, action, {rel})


def test_closed_is_final_except_rating():
    for kind in wf.KINDS:
        actions = {t.action for t in wf.transitions_for(kind, wf.CLOSED)}
        assert actions <= {"rate"}, (kind, actions)


def test_supervisors_do_not_act_on_doorstep_requests_or_tickets():
    for kind in (wf.SERVICE_REQUEST, wf.OFFICE_TICKET):
        for state in wf.STATES:
            assert wf.available(kind, state, {wf.SUPERVISOR}) == []


def test_operators_cannot_close_complaints_without_confirmation():
    with pytest.raises(NotAllowed):
        wf.find(wf.COMPLAINT, wf.IN_PROGRESS, "close", {wf.HANDLER})
    assert wf.find(wf.COMPLAINT, wf.IN_PROGRESS, "close", {wf.SUPERVISOR}).needs_text


def test_every_effect_is_known():
    from app.services.engine import cases  # noqa: F401 - the interpreter of the effects

    known = {"assign_actor", "assign_target", "clear_assignee", "move_to_target", "move_up",
             "escalate", "set_external", "pause_external", "pause_customer", "resume_clock",
             "set_info_due", "clear_info_due", "set_confirmation_due", "clear_confirmation_due",
             "first_response", "close", "renew_due", "mark_breached", "feedback",
             "notify_requester", "notify_office", "notify_assignee", "notify_handlers",
             "escalate_path", "restart_clock", "classify"}
    for t in wf.TRANSITIONS:
        assert set(t.effects) <= known, t
        if t.target == wf.CLOSED:
            assert "close" in t.effects and t.resolution, t


def test_available_lists_each_action_once():
    acts = [t.action for t in wf.available(wf.COMPLAINT, wf.IN_PROGRESS, {wf.HANDLER, wf.SUPERVISOR})]
    assert len(acts) == len(set(acts))
    assert "close" in acts and "propose_resolution" in acts


# ---- rows that require a fact besides the state (issue 22, item 13) ------------------

def test_office_ticket_confirm_solved_requires_an_answer_in_the_table():
    from app.domain.errors import InvalidTransition, NotYet

    for state in (wf.OPEN, wf.IN_PROGRESS):
        offered = {t.action for t in wf.available(wf.OFFICE_TICKET, state, {wf.REQUESTER})}
        assert "accept" not in offered and "requester_reply" in offered
        with pytest.raises(NotYet) as err:
            wf.find(wf.OFFICE_TICKET, state, "accept", {wf.REQUESTER})
        assert isinstance(err.value, InvalidTransition) and err.value.code == "not_yet"
        answered = wf.available(wf.OFFICE_TICKET, state, {wf.REQUESTER}, facts={wf.ANSWERED})
        assert "accept" in {t.action for t in answered}
        assert wf.find(wf.OFFICE_TICKET, state, "accept", {wf.REQUESTER},
                       facts={wf.ANSWERED}).resolution == "confirmed"
    # somebody who may not confirm at all is told so, answered or not
    with pytest.raises(wf.NotAllowed):
        wf.find(wf.OFFICE_TICKET, wf.OPEN, "accept", {wf.HANDLER})


def test_facts_of_a_case():
    from types import SimpleNamespace

    assert wf.facts_of(SimpleNamespace(first_response_at=None)) == frozenset()
    assert wf.facts_of(SimpleNamespace(first_response_at=object())) == {wf.ANSWERED}


# ---- helpdesk L1 first (issue 26, seed 002) ------------------------------------------

def test_facts_of_a_helpdesk_ticket_with_the_desk():
    from types import SimpleNamespace

    def case(**kw):
        base = dict(kind=wf.HELPDESK, first_response_at=None, escalation_level=0,
                    raising_office_id=7, current_office_id=7)
        return SimpleNamespace(**{**base, **kw})

    assert wf.facts_of(case()) == {wf.WITH_DESK}
    assert wf.facts_of(case(current_office_id=8)) == frozenset()  # with a team
    assert wf.facts_of(case(escalation_level=1)) == frozenset()  # escalated once
    assert wf.facts_of(case(kind=wf.COMPLAINT)) == frozenset()
    assert wf.facts_of(case(first_response_at=1)) == {wf.WITH_DESK, wf.ANSWERED}


@pytest.mark.parametrize("state", sorted(wf.WORKING))
def test_helpdesk_l1_resolves_at_first_contact_or_escalates_along_the_path(state):
    for rel in (wf.HANDLER, wf.SUPERVISOR):
        close = wf.find(wf.HELPDESK, state, "close", {rel}, facts={wf.WITH_DESK})
        assert close.resolution == "first_contact" and close.needs_text
        assert "notify_requester" in close.effects  # the caller is told the fix
        up = wf.find(wf.HELPDESK, state, "escalate", {rel}, facts={wf.WITH_DESK})
        assert up.effects[:2] == ("escalate_path", "restart_clock") and up.target == wf.OPEN
        # at a team: the general rows (closed as resolved; escalated to the supervisors)
        assert wf.find(wf.HELPDESK, state, "close", {rel}).resolution == "resolved"
        assert "escalate" in wf.find(wf.HELPDESK, state, "escalate", {rel}).effects
    # the overdue sweep forwards an L1 ticket along its path, a team's to its supervisors
    assert "escalate_path" in wf.find(wf.HELPDESK, state, "sla_escalate", {wf.SYSTEM},
                                      facts={wf.WITH_DESK}).effects
    assert "escalate" in wf.find(wf.HELPDESK, state, "sla_escalate", {wf.SYSTEM}).effects
    offered = {t.action: t for t in wf.available(wf.HELPDESK, state, {wf.HANDLER}, facts={wf.WITH_DESK})}
    assert {"close", "escalate", "classify", "reply"} <= set(offered)
    assert offered["close"].resolution == "first_contact"


def test_helpdesk_forbidden_transitions():
    from app.domain.errors import NotYet

    # only L1 classifies, and only a ticket it holds
    with pytest.raises(NotYet):
        wf.find(wf.HELPDESK, wf.IN_PROGRESS, "classify", {wf.HANDLER})
    for rel in (wf.REQUESTER, wf.PARTNER):
        with pytest.raises(NotAllowed):
            wf.find(wf.HELPDESK, wf.OPEN, "classify", {rel}, facts={wf.WITH_DESK})
        with pytest.raises(NotAllowed):
            wf.find(wf.HELPDESK, wf.OPEN, "escalate", {rel}, facts={wf.WITH_DESK})
    # the caller does not close; nothing but a rating after closing; no path while waiting
    with pytest.raises(NotAllowed):
        wf.find(wf.HELPDESK, wf.OPEN, "close", {wf.REQUESTER}, facts={wf.WITH_DESK})
    for action in ("escalate", "close", "classify"):
        with pytest.raises(InvalidTransition):
            wf.find(wf.HELPDESK, wf.CLOSED, action, {wf.HANDLER}, facts={wf.WITH_DESK})
        with pytest.raises(InvalidTransition):
            wf.find(wf.HELPDESK, wf.AWAITING_CONFIRMATION, action, {wf.HANDLER}, facts={wf.WITH_DESK})
    # a caller's e-mailed answer is a timeline row, no change of state
    assert wf.find(wf.HELPDESK, wf.IN_PROGRESS, "requester_reply", {wf.REQUESTER}).target is None
