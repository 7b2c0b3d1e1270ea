"""Each kind's notifications say only what that kind allows (issue 22, item 9): the
doorstep "Completed" message carries a signed link that opens a working rating form and
takes one rating; office tickets, interactions and helpdesk tickets are never invited to
rate from a message."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.domain import kinds
from app.domain import workflow as wf
from app.extensions import db
from app.models import Feedback, Notification
from app.services.engine import cases, notify
from tests.citizen_support import add_services, make_request
from tests.conftest import NOW

RATING = re.compile(r"\brat(e|ed|es|ing)\b|\brate us\b", re.IGNORECASE)
H = timedelta(hours=1)

# What every case of a kind can be sent, besides its requester's messages
COMMON = ("case_created", "office_received", "assigned", "requester_answered")


def _requester_templates(kind: str) -> set[str]:
    return {cases.requester_template(kind, t) for t in wf.TRANSITIONS
            if kind in t.kinds and "notify_requester" in t.effects}


# The words of a rating invitation in the translations
RATING_WORDS = {"en": RATING, "hi": re.compile("रेटिंग|मूल्यांकन|रेट"), "fa": re.compile("امتیاز|نظرسنجی|ارزیابی")}
CTX = {"ref": "X-1", "kind": "k", "status": "s", "office": "o", "url": "https://u.example/x", "text": "",
       "code": "123456", "minutes": "10"}


@pytest.mark.parametrize("kind", [wf.OFFICE_TICKET, wf.INTERACTION, wf.HELPDESK])
@pytest.mark.parametrize("locale", ["en", "hi", "fa"])
def test_no_office_ticket_interaction_or_helpdesk_message_mentions_rating(app, kind, locale):
    names = _requester_templates(kind) | set(COMMON)
    assert names <= set(notify.TEMPLATES)
    closing = kinds.get(kind).template("closed")
    assert closing in names and closing != "case_closed"
    with app.test_request_context(), force_locale(locale):
        for name in names:
            for part in notify.render(name, locale, CTX):
                assert not RATING_WORDS[locale].search(part), (name, part)
        subject, body, sms = notify.render(closing, locale, CTX)
    assert "X-1" in subject and CTX["url"] in body and CTX["url"] in sms


@pytest.mark.parametrize("locale", ["en", "hi", "fa"])
def test_complaints_and_doorstep_requests_are_invited_to_rate(app, locale):
    done = cases.requester_template(wf.SERVICE_REQUEST, wf.find(wf.SERVICE_REQUEST, wf.OPEN, "complete",
                                                                {"handler"}))
    with app.test_request_context(), force_locale(locale):
        assert RATING_WORDS[locale].search(notify.render(kinds.get(wf.COMPLAINT).template("closed"), locale, CTX)[1])
        assert all(RATING_WORDS[locale].search(part) for part in notify.render(done, locale, CTX)[1:])


def test_an_office_tickets_closure_mail_does_not_invite_a_rating(world):
    from app.models import Category
    from app.services.front_doors import tickets

    cat = Category(kind="office_ticket", code="sync", name_en="Sync", name_hi="sync", name_fa="sync")
    db.session.add(cat)
    db.session.commit()
    case = tickets.raise_ticket(world.so1_user, subject="App does not sync", description="Since morning.",
                                category=cat, now=NOW)
    cases.act(case, "reply", actor=world.d1_op, now=NOW + H, text="Looking.")
    cases.act(case, "escalate", actor=world.d1_op, now=NOW + 2 * H, text="Needs the Region.")
    cases.act(case, "close", actor=world.r1_op, now=NOW + 3 * H, text="Fixed.")
    rows = db.session.scalars(select(Notification).where(Notification.case_id == case.id)).all()
    closing = [n for n in rows if n.template == "ticket_closed"]
    assert closing and all(not RATING.search(n.subject + " " + n.body) for n in rows)


# ---- the doorstep "Completed" message: a signed link to a working rating form --------------

def _completed(world):
    add_services(world)
    case = make_request(world)
    cases.act(case, "start", actor=world.d1_op, now=NOW + H)
    cases.act(case, "complete", actor=world.d1_op, now=NOW + 2 * H, text="Cash delivered.")
    return case


def _link(case, channel) -> str:
    msg = db.session.scalar(select(Notification).where(Notification.case_id == case.id,
                                                       Notification.template == "service_completed",
                                                       Notification.channel == channel))
    assert RATING.search(msg.body)
    url = re.search(r"https?://\S+", msg.body).group(0).rstrip(".")
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_the_completed_messages_link_opens_a_rating_form_that_takes_one_rating(client, world, channel):
    case = _completed(world)
    path = _link(case, channel)
    assert path.startswith(f"/track/{case.reference}/rate/")
    page = client.get(path)  # a fresh browser: no one-time code asked
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Rate the service" in html and 'name="rating"' in html and f'action="{path}"' in html
    assert "Ravi Kumar" not in html  # the contact details stay masked
    r = client.post(path, data={"rating": "4", "comment": "On time."})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/track/{case.reference}")
    assert "Thank you for rating the service." in client.get(r.headers["Location"]).get_data(as_text=True)
    fb = db.session.scalar(select(Feedback).where(Feedback.case_id == case.id))
    assert (fb.rating, fb.comment) == (4, "On time.")
    # once only: the form is gone, and a second post changes nothing
    assert 'name="rating"' not in client.get(path).get_data(as_text=True)
    r = client.post(path, data={"rating": "1"})
    assert r.status_code == 303
    assert "You have already rated this request. Thank you." in client.get(r.headers["Location"]).get_data(
        as_text=True)
    assert db.session.scalar(select(func.count(Feedback.id))) == 1


def test_the_rating_form_of_the_link_keeps_what_was_typed(client, world):
    case = _completed(world)
    path = _link(case, "sms")
    r = client.post(path, data={"comment": "Nice postman"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Please choose a rating." in html and "Nice postman" in html


def test_a_forged_or_foreign_link_is_404(client, world):
    case = _completed(world)
    other = make_request(world, requester={"name": "B", "mobile": "9123456780", "pincode": "560001"})
    token = _link(case, "sms").rsplit("/", 1)[1]
    assert client.get(f"/track/{case.reference}/rate/{token}x").status_code == 404
    assert client.get(f"/track/{other.reference}/rate/{token}").status_code == 404
    from app.services.infrastructure.tokens import make_case_token

    respond = make_case_token(case, "respond")  # another purpose's token does not open it
    assert client.get(f"/track/{case.reference}/rate/{respond}").status_code == 404


def test_the_link_before_the_request_is_closed_shows_no_form(client, world):
    add_services(world)
    case = make_request(world)
    token = notify.rate_url(case).rsplit("/", 1)[1]
    html = client.get(f"/track/{case.reference}/rate/{token}").get_data(as_text=True)
    assert 'name="rating"' not in html
