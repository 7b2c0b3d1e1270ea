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
    t = wf.find(kind, state, action, {rel}, facts={wf.ANSWERED})
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
    from app.services import cases  # noqa: F401 - the interpreter of the effects

    known = {"assign_actor", "assign_target", "clear_assignee", "move_to_target", "move_up",
             "escalate", "set_external", "pause_external", "pause_customer", "resume_clock",
             "set_info_due", "clear_info_due", "set_confirmation_due", "clear_confirmation_due",
             "first_response", "close", "renew_due", "mark_breached", "feedback",
             "notify_requester", "notify_office", "notify_assignee", "notify_handlers"}
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
