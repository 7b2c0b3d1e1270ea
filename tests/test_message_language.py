"""Issue 25 item 2: e-mails and SMS in the recipient's language. An employee's follow
their saved preference, and the language chosen before signing in is saved at sign-in;
a citizen's follow the page they raised, tracked or answered from. Every template exists
in en/hi/fa, and the template editor reports an SMS's length in segments (UCS-2 for
Hindi and Persian)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.services.administration import admin_templates
from app.services.engine import cases, notify
from tests.citizen_support import add_services, make_request
from tests.complaints_support import complaint, make_taxonomy, respond_path
from tests.conftest import NOW


def test_language_chosen_before_sign_in_is_saved(client, world):
    user = world.d1_op
    assert user.locale in (None, "", "en")
    client.post("/language", data={"lang": "fa", "next": "/auth/login"})
    r = client.post("/auth/login", data={"login_id": user.login_id, "password": "Password-123"})
    assert r.status_code == 302
    db.session.refresh(user)
    assert user.locale == "fa"
    assert notify.user_contact(user)[2] == "fa"
    assert 'lang="fa"' in client.get("/").get_data(as_text=True)


def test_sign_in_without_a_choice_keeps_the_saved_preference(client, world):
    user = world.d1_op
    user.locale = "hi"
    db.session.commit()
    client.post("/auth/login", data={"login_id": user.login_id, "password": "Password-123"},
                headers={"Accept-Language": "fa"})
    db.session.refresh(user)
    assert user.locale == "hi"  # the browser's language is no choice


def test_an_unknown_cookie_value_is_ignored(client, world):
    client.set_cookie("lang", "xx")
    client.post("/auth/login", data={"login_id": world.d1_op.login_id, "password": "Password-123"})
    db.session.refresh(world.d1_op)
    assert world.d1_op.locale != "xx"


def test_tracking_from_a_persian_page_switches_the_citizens_messages(client, world):
    add_services(world)
    case = make_request(world)
    assert (case.data or {}).get("locale") in (None, "en")
    version = case.version
    client.set_cookie("lang", "fa")
    client.post("/track/mobile", data={"mobile": case.requester_mobile})
    sms = db.session.scalar(select(Notification).where(Notification.template == "otp"))
    assert sms.locale == "fa"
    code = re.search(r"\b(\d{6})\b", sms.body.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))).group(1)
    assert client.post("/track/verify", data={"code": code}).status_code == 303
    db.session.expire_all()
    assert case.data["locale"] == "fa" and case.version == version  # no edit conflict for staff
    before = db.session.scalar(select(db.func.max(Notification.id)))
    cases.act(case, "start", actor=world.d1_op, now=NOW + timedelta(hours=1), text="Coming tomorrow.")
    later = db.session.scalars(select(Notification).where(
        Notification.id > before, Notification.recipient.in_([case.requester_mobile, case.requester_email]))).all()
    assert later and {n.locale for n in later} == {"fa"}


def test_answering_from_a_hindi_page_switches_the_customers_messages(client, world):
    tax = make_taxonomy()
    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    cases.act(case, "start", now=NOW + timedelta(hours=1), actor=world.ho1_op)
    cases.act(case, "request_info", now=NOW + timedelta(hours=2), actor=world.ho1_op, text="Which date?")
    client.set_cookie("lang", "hi")
    r = client.post(respond_path(case), data={"action": "provide_info", "text": "On the 12th.",
                                              "version": case.version})
    assert r.status_code == 303
    db.session.expire_all()
    assert case.data["locale"] == "hi"


@pytest.mark.parametrize("locale", ["hi", "fa"])
def test_every_template_exists_in_every_language(app, locale):
    with app.test_request_context():
        for name in notify.TEMPLATES:
            ctx = {k: admin_templates.SAMPLE.get(k, k) for k in admin_templates.allowed_placeholders(name)}
            en = notify.render(name, "en", ctx)
            other = notify.render(name, locale, ctx)
            for part_en, part in zip(en, other, strict=True):
                if part_en:
                    assert part and part != part_en, (name, locale, part)


def test_sms_segments():
    assert notify.sms_segments("Seva Desk: SR-1") == ("GSM-7", 15, 1)
    assert notify.sms_segments("a" * 161)[2] == 2
    assert notify.sms_segments("{" * 80) == ("GSM-7", 160, 1)  # extension characters count twice
    assert notify.sms_segments("س" * 70) == ("UCS-2", 70, 1)
    assert notify.sms_segments("स" * 71) == ("UCS-2", 71, 2)
    assert notify.sms_segments("स" * 135)[2] == 3


def test_template_editor_reports_sms_segments(client, auth, world):
    auth.login(world.admin.login_id)
    html = client.get("/admin/templates/case_created/sms/fa").get_data(as_text=True)
    assert 'id="sms-length"' in html and "UCS-2" in html
    html = client.get("/admin/templates/case_created/sms/en").get_data(as_text=True)
    assert 'id="sms-length"' in html and "GSM-7" in html
    assert 'id="sms-length"' not in client.get("/admin/templates/case_created/email/en").get_data(as_text=True)
