"""The customer's answers through a signed link: accept / reject / clarify a proposed
resolution, provide requested information, rate once; and the 48-hour auto-close."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Attachment, Feedback, Notification
from app.services.engine import cases, timers
from app.services.front_doors import complaints
from app.services.infrastructure import tokens
from tests.complaints_support import EXE, PDF, complaint, make_taxonomy, queue_refs, respond_path
from tests.conftest import NOW

H = timedelta(hours=1)


@pytest.fixture
def tax(world):
    return make_taxonomy()


@pytest.fixture
def proposed(world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    cases.act(case, "start", now=NOW + H, actor=world.ho1_op)
    cases.act(case, "propose_resolution", now=NOW + 2 * H, actor=world.ho1_op,
              text="The article was delivered on the 12th; signature attached.")
    return case


def _answer(client, case, action, **data):
    return client.post(respond_path(case), data={"action": action, **data})


def test_customer_is_notified_with_a_signed_link(world, proposed):
    rows = db.session.scalars(select(Notification).where(
        Notification.case_id == proposed.id, Notification.template == "confirmation_requested")).all()
    assert {n.channel for n in rows} == {"sms", "email"}
    assert {n.recipient for n in rows} == {"9876543210", "ravi@example.in"}
    assert all("/respond/" in n.body for n in rows)


def test_bad_tokens_are_404(client, world, proposed):
    assert client.get("/respond/not-a-token").status_code == 404
    other_purpose = tokens.make_case_token(proposed, "other")
    assert client.get(f"/respond/{other_purpose}").status_code == 404
    good = respond_path(proposed)
    assert client.get(good[:-3] + "abc").status_code == 404


def test_page_shows_the_resolution_and_choices(client, world, proposed):
    r = client.get(respond_path(proposed))
    assert r.status_code == 200 and b"<html" in r.data
    html = r.data.decode()
    assert "delivered on the 12th" in html
    for action in ("accept", "reject", "clarify"):
        assert f'value="{action}"' in html
    assert 'value="rate"' not in html
    partial = client.get(respond_path(proposed), headers={"HX-Request": "true"})
    assert b"<html" not in partial.data and b'id="respond-panel"' in partial.data


def test_accept_closes(client, world, proposed):
    r = _answer(client, proposed, "accept", version=proposed.version)
    assert r.status_code == 303
    db.session.refresh(proposed)
    assert proposed.status == wf.CLOSED and proposed.resolution == "accepted"
    assert proposed.events[-1].actor_kind == "requester"
    # a second click finds it already answered
    r = _answer(client, proposed, "accept", version=proposed.version - 1)
    assert r.status_code == 409 and b"changed by someone else meanwhile" in r.data


def test_reject_needs_a_reason_and_escalates(client, world, proposed):
    r = _answer(client, proposed, "reject", text="")
    assert r.status_code == 422 and b"Please write your text." in r.data
    assert db.session.get(type(proposed), proposed.id).status == wf.AWAITING_CONFIRMATION
    r = _answer(client, proposed, "reject", text="The article never reached me.")
    assert r.status_code == 303
    db.session.refresh(proposed)
    assert proposed.status == wf.OPEN and proposed.escalation_level == 1
    assert proposed.assignee_id is None
    assert proposed.reference in queue_refs(world.ho1_sup, "escalated")
    trail = complaints.escalation_trail(proposed)
    assert trail[0].reason == "reject" and trail[0].reason_text == "The article never reached me."
    assert trail[0].moved_by == "requester" and trail[1].level == 1


def test_clarify_goes_back_to_the_handler(client, world, proposed):
    r = _answer(client, proposed, "clarify", text="Which post office delivered it?")
    assert r.status_code == 303
    db.session.refresh(proposed)
    assert proposed.status == wf.IN_PROGRESS and proposed.assignee_id == world.ho1_op.id
    assert proposed.escalation_level == 0 and proposed.confirmation_due is None
    note = db.session.scalars(select(Notification).where(
        Notification.case_id == proposed.id, Notification.template == "requester_answered")).all()
    assert note and note[0].recipient == world.ho1_op.email


def test_provide_information_with_attachment(client, world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.dispute)
    cases.act(case, "request_info", now=NOW + H, actor=world.ho1_op, text="Send the NEFT receipt.")
    asked = db.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.template == "info_requested")).all()
    assert {n.channel for n in asked} == {"sms", "email"} and all("/respond/" in n.body for n in asked)
    page = client.get(respond_path(case)).data.decode()
    assert "Send the NEFT receipt." in page and 'value="provide_info"' in page
    r = client.post(respond_path(case), data={"action": "provide_info", "text": "Attached.",
                                               "attachment": (io.BytesIO(EXE), "receipt.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and b"Only JPEG images and PDF documents are accepted." in r.data
    assert b"Attached." in r.data  # the text is kept
    r = client.post(respond_path(case), data={"action": "provide_info", "text": "Attached.",
                                               "attachment": (io.BytesIO(PDF), "receipt.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 303
    db.session.refresh(case)
    assert case.status == wf.IN_PROGRESS and case.info_due is None
    att = db.session.scalar(select(Attachment).where(Attachment.case_id == case.id))
    assert att.content_type == "application/pdf"


def test_actions_not_offered_in_the_state_are_refused(client, world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    r = _answer(client, case, "accept")
    assert r.status_code == 409
    r = _answer(client, case, "close", text="x")  # not a requester action at all
    assert r.status_code == 422
    db.session.refresh(case)
    assert case.status == wf.OPEN


# ---- 48-hour auto-close, frozen clock ---------------------------------------------------------

def test_auto_close_after_48_hours(client, world, proposed):
    asked_at = NOW + 2 * H
    assert proposed.confirmation_due == asked_at + timedelta(hours=48)
    assert timers.sweep(asked_at + timedelta(hours=47, minutes=59))["auto_closed"] == 0
    db.session.refresh(proposed)
    assert proposed.status == wf.AWAITING_CONFIRMATION
    assert timers.sweep(asked_at + timedelta(hours=48))["auto_closed"] == 1
    db.session.refresh(proposed)
    assert proposed.status == wf.CLOSED and proposed.resolution == "auto_closed"
    last = proposed.events[-1]
    assert last.type == "confirmation_timeout" and last.actor_kind == "system"
    assert proposed.customer_seconds == 48 * 3600
    assert timers.sweep(asked_at + timedelta(hours=49))["auto_closed"] == 0  # idempotent
    closed_mail = db.session.scalars(select(Notification).where(
        Notification.case_id == proposed.id, Notification.template == "case_closed")).all()
    assert closed_mail and all("/respond/" in n.body for n in closed_mail)
    # too late to reject; the rating is offered
    r = _answer(client, proposed, "reject", text="late")
    assert r.status_code == 409
    assert b'value="rate"' in r.data


def test_confirmation_window_is_configurable(app, world, tax):
    app.config["CONFIRMATION_HOURS"] = 24
    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    cases.act(case, "propose_resolution", now=NOW, actor=world.ho1_op, text="Done.")
    assert timers.sweep(NOW + timedelta(hours=24))["auto_closed"] == 1


# ---- rating, once -------------------------------------------------------------------------------

def test_rating_once_only(client, world, proposed):
    _answer(client, proposed, "accept")
    r = _answer(client, proposed, "rate", rating="9", text="")
    assert r.status_code == 422 and b"Choose a rating from 1 to 5." in r.data
    r = _answer(client, proposed, "rate", rating="", text="Great")
    assert r.status_code == 422
    r = _answer(client, proposed, "rate", rating="4", text="Quick and polite.")
    assert r.status_code == 303
    fb = db.session.scalar(select(Feedback).where(Feedback.case_id == proposed.id))
    assert fb.rating == 4 and fb.comment == "Quick and polite."
    page = client.get(respond_path(proposed)).data.decode()
    assert 'value="rate"' not in page and "Your rating: 4 of 5" in page
    r = _answer(client, proposed, "rate", rating="1", text="Changed my mind")
    assert r.status_code == 409 and b"already rated" in r.data
    assert db.session.scalar(select(Feedback.rating).where(Feedback.case_id == proposed.id)) == 4


def test_respond_link_is_kind_agnostic(client, world):
    case = cases.raise_case("helpdesk", office=world.team, now=NOW, actor=world.dept_user,
                            subject="Printer", description="Printer does not print.",
                            requester={"name": "Caller", "mobile": "9123456789"})
    cases.act(case, "propose_resolution", now=NOW + H, actor=world.team_user, text="Driver reinstalled.")
    sms = db.session.scalar(select(Notification).where(
        Notification.case_id == case.id, Notification.template == "confirmation_requested",
        Notification.channel == "sms"))
    assert "/respond/" in sms.body
    assert _answer(client, case, "accept").status_code == 303
    db.session.refresh(case)
    assert case.status == wf.CLOSED
