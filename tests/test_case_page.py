"""THE case page of every kind (issue 24, item 3): each kind's panel from the registry,
every kind's actions through the one `act` endpoint (a 303 without JavaScript, the panel
for htmx), the one error mapping (`app.failures`), the old addresses redirected, and the
same words on the button, the flash message and the timeline."""

from __future__ import annotations

import re

import pytest

from app.domain import kinds
from app.domain import workflow as wf
from app.domain.errors import (
    AlreadyDone,
    BadTarget,
    ChangedMeanwhile,
    InvalidTransition,
    MissingInput,
    NotAllowed,
    NotAtThisLevel,
    NotYet,
)
from app.extensions import db
from app.failures import failure
from app.i18n import case_action_label
from app.services.front_doors import interactions
from tests.citizen_support import add_services, make_request
from tests.conftest import NOW
from tests.factories import make_case
from tests.test_helpdesk_sla import build_desk, log
from tests.test_interactions_flow import build_org

HX = {"HX-Request": "true"}


def _act(client, case, headers=None, **data):
    data.setdefault("version", str(case.version))
    return client.post(f"/cases/{case.reference}/act", data=data, headers=headers or {})


def _summaries(html: str) -> list[str]:
    return re.findall(r"<summary>([^<]+)</summary>", html)


def _timeline_heads(html: str) -> list[str]:
    timeline = html[html.index('<ol class="timeline"'):]
    return re.findall(r'<p class="event-head">\s*<strong>([^<]+)</strong>', timeline)


# ---- the one mapping of workflow errors --------------------------------------------

@pytest.mark.parametrize("exc, status, field", [
    (ChangedMeanwhile(), 409, None),
    (NotAllowed(), 403, None),
    (MissingInput(field="text"), 422, "text"),
    (MissingInput(field="user"), 422, "user"),
    (BadTarget(field="office"), 422, "office"),
    (BadTarget(field="category"), 422, "category"),
    (BadTarget(field="path"), 422, "text"),  # no such input: beside the action's text
    (MissingInput(field="rating"), 422, "rating"),
    (AlreadyDone(field="rating"), 409, "rating"),
    (InvalidTransition(), 409, None),
    (NotYet(), 409, None),
    (NotAtThisLevel(), 409, None),
    (MissingInput(), 422, "text"),
])
def test_one_mapping_of_workflow_errors(app, exc, status, field):
    with app.test_request_context():
        f = failure(exc)
    assert (f.status, f.field) == (status, field)
    assert f.message and isinstance(f.message, str)


def test_every_field_message_is_translated(app):
    from app.failures import ALREADY_DONE, FIELD_MESSAGES

    with app.test_request_context(headers={"Accept-Language": "fa"}):
        from flask_babel import refresh

        refresh()
        for text in [*FIELD_MESSAGES.values(), *ALREADY_DONE.values()]:
            assert str(text) != text._args[0], text._args[0]  # a Persian translation exists


# ---- each kind's panel from the registry -----------------------------------------------

def test_every_built_in_kind_names_its_panel():
    for code in (wf.SERVICE_REQUEST, wf.COMPLAINT, wf.INTERACTION, wf.HELPDESK):
        kind = kinds.get(code)
        assert kind.panel and kind.page_endpoint == "cases.detail", code


def test_each_kinds_panel_is_shown(client, auth, world):
    add_services(world)
    sr = make_request(world)
    desk = build_desk(world)
    ticket = log(desk, "functional", escalate=False)
    org = build_org(world)
    request = interactions.raise_to_colleague(org.d1_op, org.dept_user, "question", "P3", "Help", NOW)

    auth.login(world.d1_op.login_id)
    html = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert 'class="kind-panel doorstep-panel"' in html and "Bangalore GPO" in html
    auth.logout()
    auth.login(desk.operator.login_id)
    html = client.get(f"/cases/{ticket.reference}").get_data(as_text=True)
    assert 'class="kind-panel helpdesk-panel"' in html
    assert "Ticket id to share with the caller:" in html and "With the helpdesk (L1)" in html
    assert "Master Trainers" in html  # the escalation path
    auth.logout()
    auth.login(org.dept_user.login_id)
    html = client.get(f"/cases/{request.reference}").get_data(as_text=True)
    assert 'class="kind-panel interaction-panel"' in html and "Request type" in html
    assert "Question" in html and "Cartable" in html


# ---- the old addresses ---------------------------------------------------------------

def test_old_addresses_redirect_for_whoever_may_see_the_case(client, auth, world):
    desk = build_desk(world)
    ticket = log(desk, "functional", escalate=False)
    org = build_org(world)
    request = interactions.raise_to_department(org.d1_op, org.dept, org.it_subjects[0], "Locked", NOW)

    auth.login(desk.operator.login_id)
    r = client.get(f"/helpdesk/{ticket.reference}?tab=history&x=1")
    assert r.status_code == 301
    assert r.headers["Location"].endswith(f"/cases/{ticket.reference}?tab=history&x=1")
    assert client.get(r.headers["Location"]).status_code == 200
    # the door's own kind only: another kind's reference is not found there
    assert client.get(f"/helpdesk/{request.reference}").status_code == 404
    auth.logout()
    auth.login(org.d1_op.login_id)
    r = client.get(f"/interactions/{request.reference}")
    assert r.status_code == 301 and r.headers["Location"].endswith(f"/cases/{request.reference}")
    # no leak: a case the user may not see, and one that does not exist, look the same
    assert client.get(f"/helpdesk/{ticket.reference}").status_code == 404
    assert client.get("/helpdesk/HD-2611-ZZZZZZZ").status_code == 404
    auth.logout()
    auth.login(org.hr_user.login_id)
    assert client.get(f"/interactions/{request.reference}").status_code == 404


def test_old_act_endpoints_are_gone(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert not endpoints & {"helpdesk.act", "helpdesk.classify", "interactions.act", "citizen.office_update"}
    acts = [r.rule for r in app.url_map.iter_rules() if "POST" in r.methods and r.rule.endswith("/act")]
    assert acts == ["/cases/<reference>/act"]


# ---- every kind's actions through /cases/<ref>/act ---------------------------------------

def _every_kind(world):
    add_services(world)
    desk = build_desk(world)
    org = build_org(world)
    return [
        # (case, the user who acts, the action and its inputs)
        (make_request(world), world.d1_op, {"action": "start", "text": "Postman at 11."}),
        (make_case("office_ticket", world.d1, actor=world.so1_user), world.d1_op,
         {"action": "reply", "text": "Reinstall the app."}),
        (make_case("complaint", world.ho1), world.ho1_op, {"action": "reply", "text": "Looking into it."}),
        (interactions.raise_to_department(org.d1_op, org.dept, org.it_subjects[0], "Locked", NOW),
         org.dept_user, {"action": "propose_resolution", "text": "Unlocked."}),
        (log(desk, "functional", escalate=False), desk.operator,
         {"action": "classify", "category": str(desk.cats["bug"].id), "classification": "bug_fix",
          "priority": "P2"}),
    ]


@pytest.mark.parametrize("htmx", [False, True], ids=["nojs", "htmx"])
def test_every_kind_acts_through_the_one_endpoint(client, auth, world, htmx):
    for case, user, data in _every_kind(world):
        auth.login(user.login_id)
        before = case.version
        with client.application.test_request_context():
            label = case_action_label(data["action"], case)
        r = _act(client, case, headers=HX if htmx else None, **data)
        if htmx:
            html = r.get_data(as_text=True)
            assert r.status_code == 200, case.kind
            assert html.lstrip().startswith('<div id="case-panel"') and "<html" not in html
            assert f"Done: {label}." in html, case.kind
        else:
            assert r.status_code == 303, case.kind
            assert r.headers["Location"].endswith(f"/cases/{case.reference}")
            html = client.get(r.headers["Location"]).get_data(as_text=True)
            assert f"Done: {label}." in html, case.kind
        db.session.refresh(case)
        assert case.version > before, case.kind
        # the timeline names the action as the button did
        assert label in _timeline_heads(html), (case.kind, label)
        auth.logout()


@pytest.mark.parametrize("htmx", [False, True], ids=["nojs", "htmx"])
def test_refusals_read_the_same_on_every_kind(client, auth, world, htmx):
    """409 keeps the text, 403 for a relation the table does not allow, 422 beside the
    field: one mapping, the real status also for htmx (its config swaps 403/409/422)."""
    headers = HX if htmx else None
    for case, user, data in _every_kind(world):
        auth.login(user.login_id)
        # the version seen is not the case's any more (another's change in between)
        stale = case.version + 1
        r = _act(client, case, headers=headers, **{**data, "version": str(stale),
                                                   "text": data.get("text", "") + " My own words"})
        html = r.get_data(as_text=True)
        assert r.status_code == 409, case.kind
        assert "changed by someone else meanwhile" in html and "My own words" in html
        assert 'role="alert"' in html
        if data["action"] in ("reply", "propose_resolution"):  # rows that need a text
            r = _act(client, case, headers=headers, **{**data, "text": ""})
            html = r.get_data(as_text=True)
            assert r.status_code == 422, case.kind
            assert (f'id="err-text-{data["action"]}" aria-live="polite">Please write your text.</p>'
                    in html), case.kind
        auth.logout()
    sr = make_request(world)
    auth.login(world.r1_op.login_id)  # sees the doorstep request; only its Division acts
    r = _act(client, sr, headers=headers, action="start")
    assert r.status_code == 403 and "You are not allowed to take this action" in r.get_data(as_text=True)


def test_a_case_the_user_may_not_see_is_404_for_every_action(client, auth, world):
    for case, _user, data in _every_kind(world):
        auth.login(world.so3_user.login_id)
        assert client.get(f"/cases/{case.reference}").status_code == 404
        assert _act(client, case, **data).status_code == 404
        auth.logout()


# ---- the same words on the button, the flash and the timeline ---------------------------

def test_office_ticket_climb_says_where_it_goes_on_button_and_timeline(client, auth, world):
    ticket = make_case("office_ticket", world.d1, actor=world.so1_user)
    steps = [(world.d1_op, "Assign to Region"), (world.r1_op, "Escalate to Circle"),
             (world.c1_op, "Assign to CEPT")]
    for user, words in steps:
        auth.login(user.login_id)
        html = client.get(f"/cases/{ticket.reference}").get_data(as_text=True)
        assert words in _summaries(html)  # the button
        db.session.refresh(ticket)
        r = _act(client, ticket, action="escalate", text=f"Up: {words}")
        assert r.status_code == 303, words
        flash_page = client.get(r.headers["Location"]).get_data(as_text=True)
        assert f"Done: {words}." in flash_page  # the flash (the case has left the office: its queue)
        auth.logout()
    auth.login(world.so1_user.login_id)
    html = client.get(f"/cases/{ticket.reference}").get_data(as_text=True)
    heads = _timeline_heads(html)
    assert [h for h in heads if h in dict(steps).values() or "next level" in h] == \
        ["Assign to Region", "Escalate to Circle", "Assign to CEPT"]
    assert "Escalate to the next level" not in html


def test_doorstep_buttons_and_timeline_use_the_seeds_words(client, auth, world):
    add_services(world)
    sr = make_request(world)
    auth.login(world.d1_op.login_id)
    html = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert {"In progress", "Completed", "Could not be served"} <= set(_summaries(html))
    assert "Take up" not in html and "Mark completed" not in html
    _act(client, sr, action="start", text="On the way.")
    db.session.refresh(sr)
    r = _act(client, sr, action="complete", text="Served.")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Done: Completed." in html
    assert _timeline_heads(html)[-2:] == ["In progress", "Completed"]


def test_helpdesk_desk_and_team_words(app, world):
    app.test_request_context().push()  # labels are translated in a request's language
    desk = build_desk(world)
    at_desk = log(desk, "functional", escalate=False)
    with_team = log(desk, "technical")
    assert case_action_label("close", at_desk) == "Resolve at the helpdesk (L1)"
    assert case_action_label("escalate", at_desk) == "Escalate along the path"
    assert case_action_label("close", with_team) == "Close as resolved"
    assert case_action_label("escalate", with_team) == "Escalate to the supervisors"
    # the timeline row of the desk's escalation keeps the desk's words
    assert case_action_label("escalate", kind="helpdesk", qualifiers=("with_desk", "team")) == \
        "Escalate along the path"
