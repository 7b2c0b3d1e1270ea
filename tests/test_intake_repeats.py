"""Issue 27 item 3: repeats at intake. Before a complaint or a doorstep request is sent
again, the open cases of the same mobile number or e-mail address about the same service
are shown (in full to staff, masked to the public), with a way to send it anyway; a case
raised anyway is a possible repeat, linked both ways on the staff case page."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Case
from app.services.engine import cases
from app.services.front_doors import intake
from tests.citizen_support import add_services
from tests.citizen_support import form_data as request_form
from tests.complaints_support import form_data, make_taxonomy

NOTICE = "Already open for this service"


@pytest.fixture
def tax(world):
    return make_taxonomy()


def _post(client, url, data):
    return client.post(url, data={**data, "attachments": [(io.BytesIO(b""), "")]},
                       content_type="multipart/form-data")


def _complaints():
    return list(db.session.scalars(select(Case).where(Case.kind == wf.COMPLAINT).order_by(Case.id)))


def test_counter_shows_the_open_complaint_of_the_same_service_first(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    assert _post(client, "/complaints/new", form_data(tax, submission_key="a" * 32)).status_code == 303
    first = _complaints()[0]
    # another type under the same service (Speed Post), another form: shown first
    again = form_data(tax, type=str(tax.loss.id), submission_key="b" * 32)
    r = _post(client, "/complaints/new", again)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and NOTICE in html
    assert f"/cases/{first.reference}" in html  # staff: the reference in full, one click away
    assert 'name="confirm_new" value="1"' in html and "Register a new complaint anyway" in html
    assert len(_complaints()) == 1
    # sent anyway: registered, and marked a possible repeat of the first
    assert _post(client, "/complaints/new", {**again, "confirm_new": "1"}).status_code == 303
    second = _complaints()[1]
    assert second.repeat_of_id == first.id


def test_another_service_or_a_closed_complaint_is_not_shown(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    _post(client, "/complaints/new", form_data(tax, submission_key="a" * 32))
    other = form_data(tax, category=str(tax.fin.id), service=str(tax.neft.id), type=str(tax.dispute.id),
                      submission_key="c" * 32)
    assert _post(client, "/complaints/new", other).status_code == 303
    assert _complaints()[1].repeat_of_id is None
    first = _complaints()[0]
    cases.act(first, "close", actor=world.ho1_sup, text="Delivered.", now=datetime.utcnow())
    db.session.commit()
    assert intake.open_cases(mobile=first.requester_mobile, email=None, category=tax.delay) == []


def test_the_same_email_from_another_mobile_is_shown(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    _post(client, "/complaints/new", form_data(tax, submission_key="a" * 32))
    r = _post(client, "/complaints/new", form_data(tax, mobile="9123456780", email="RAVI@example.in".lower(),
                                                      submission_key="d" * 32))
    assert r.status_code == 200 and NOTICE in r.get_data(as_text=True)


def test_a_resubmission_is_not_a_repeat(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    data = form_data(tax, submission_key="k" * 32)
    assert _post(client, "/complaints/new", data).status_code == 303
    assert _post(client, "/complaints/new", data).status_code == 303
    assert len(_complaints()) == 1


def test_public_complaint_form_masks_the_reference(client, world, tax):
    assert _post(client, "/complaint/new", form_data(tax, submission_key="a" * 32)).status_code == 303
    first = _complaints()[0]
    r = _post(client, "/complaint/new", form_data(tax, submission_key="e" * 32))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and NOTICE in html
    html = html.split('class="flash flash-info repeats-notice"', 1)[1].split("</section>", 1)[0]
    assert first.reference not in html and "…" + first.reference[-4:] in html
    assert f"/cases/{first.reference}" not in html


def test_doorstep_form_shows_the_open_request_before_sending(client, world):
    services = add_services(world)
    assert client.post("/request", data=request_form(services[0])).status_code == 303
    first = db.session.scalar(select(Case).where(Case.kind == wf.SERVICE_REQUEST))
    # the same service for another address: not main's 24-hour rule (same pincode), ours
    data = request_form(services[0], pincode="570001", submission_key="second-" + "z" * 20)
    r = client.post("/request", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and NOTICE in html
    assert "You already have …" + first.reference[-4:] in html and first.reference not in html
    assert 'href="/track"' in html and "Send a new request anyway" in html
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    r = client.post("/request", data={**data, "confirm_new": "1"})
    assert r.status_code == 303
    second = db.session.scalar(select(Case).where(Case.id != first.id))
    assert second.repeat_of_id == first.id
    # another service: no question asked
    r = client.post("/request", data=request_form(services[1], submission_key="third-" + "z" * 20))
    assert r.status_code == 303


def test_doorstep_notice_in_persian(client, world):
    services = add_services(world)
    client.set_cookie("lang", "fa")
    client.post("/request", data=request_form(services[0]))
    r = client.post("/request", data=request_form(services[0], pincode="570001", submission_key="s-" + "q" * 20))
    html = r.get_data(as_text=True)
    assert 'dir="rtl"' in html and "برای این خدمت از پیش باز است" in html


def test_case_pages_link_the_repeat_and_the_earlier_case_both_ways(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    _post(client, "/complaints/new", form_data(tax, submission_key="a" * 32))
    _post(client, "/complaints/new", form_data(tax, submission_key="b" * 32, confirm_new="1"))
    first, second = _complaints()
    html = client.get(f"/cases/{second.reference}").get_data(as_text=True)
    assert "Possible repeat of" in html and f'href="/cases/{first.reference}"' in html
    html = client.get(f"/cases/{first.reference}").get_data(as_text=True)
    assert "Possibly repeated by" in html and f'href="/cases/{second.reference}"' in html


def test_service_ids_cover_a_complaint_services_types(world, tax):
    assert set(intake.service_ids(tax.delay)) == {tax.speed.id, tax.delay.id, tax.loss.id}
    assert intake.service_ids(tax.speed) == [tax.speed.id]
    assert intake.masked("SR-2611-ABCD1234") == "…1234"
