"""Notification templates: overrides per channel and language with validated
placeholders, preview, reset; notify.render uses an override first."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification, NotificationTemplate
from app.services.administration import admin_templates as templates
from app.services.administration.admin_common import AdminError
from app.services.engine import notify
from tests.conftest import NOW
from tests.factories import make_case, make_user

URL = "/admin/templates/case_created/sms/hi"


@pytest.fixture
def rq(app):
    with app.test_request_context():
        yield


def test_list_shows_every_template_and_language(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.get("/admin/templates")
    for name in notify.TEMPLATES:
        assert name.encode() in r.data
    assert r.data.count(b"Built-in") == len(notify.TEMPLATES) * 6
    r = client.get("/admin/templates?q=otp", headers={"HX-Request": "true"})
    assert b"otp" in r.data and b"case_created" not in r.data


def test_edit_shows_default_and_preview(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.get("/admin/templates/case_created/email/en")
    assert b"Registered: %(ref)s" in r.data
    assert b"Registered: SR-2611-7Q4K9" in r.data  # preview with sample values
    assert b"%(url)s" in r.data  # allowed placeholders listed


def test_save_override_is_used_by_notify(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post(URL, data={"body": "सेवा डेस्क: अनुरोध %(ref)s दर्ज। %(url)s", "save": "1"})
    assert r.status_code == 303
    case = make_case("service_request", world.d1, requester={"name": "Ravi", "mobile": "9876543210",
                                                             "locale": "hi"})
    case.data = {**(case.data or {}), "locale": "hi"}
    db.session.commit()
    subject, body, sms = notify.render("case_created", "hi", notify.case_context(case, "hi"))
    assert sms == f"सेवा डेस्क: अनुरोध {case.reference} दर्ज। " + notify.case_context(case, "hi")["url"]
    assert "%(" not in body  # the e-mail keeps its built-in wording
    en = notify.render("case_created", "en", notify.case_context(case, "en"))
    assert en[2].startswith("Seva Desk: your request is registered")


@pytest.mark.parametrize("body,message", [
    ("Reference %(reference)s", b"Unknown placeholder: reference"),
    ("100% done %(ref)s", b"must be written"),
    ("", b"This field is required"),
])
def test_bad_templates_refused_and_input_kept(client, auth, world, body, message):
    auth.login(world.admin.login_id)
    r = client.post(URL, data={"body": body, "save": "1"})
    assert r.status_code == 422 and message in r.data
    if body:
        assert body.encode() in r.data
    assert db.session.scalar(select(NotificationTemplate)) is None


def test_preview_via_htmx_returns_fragment(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post(URL, data={"body": "Ref %(ref)s", "preview": "1"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and b"<html" not in r.data
    assert b'id="template-preview"' in r.data and b"Ref SR-2611-7Q4K9" in r.data
    assert db.session.scalar(select(NotificationTemplate)) is None
    r = client.post(URL, data={"body": "Ref %(nope)s", "preview": "1"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and b"Unknown placeholder" in r.data  # htmx swaps 2xx only


def test_reset_restores_default(client, auth, world):
    auth.login(world.admin.login_id)
    client.post(URL, data={"body": "Custom %(ref)s", "save": "1"})
    assert db.session.scalar(select(NotificationTemplate)) is not None
    r = client.post(URL + "/reset")
    assert r.status_code == 303
    assert db.session.scalar(select(NotificationTemplate)) is None


def test_unknown_template_404(client, auth, world):
    auth.login(world.admin.login_id)
    assert client.get("/admin/templates/nope/sms/hi").status_code == 404
    assert client.get("/admin/templates/otp/fax/hi").status_code == 404
    assert client.get("/admin/templates/otp/sms/de").status_code == 404


def test_circle_admin_cannot_edit_templates(client, auth, world):
    admin = make_user(world.c1, ["admin"])
    auth.login(admin.login_id)
    assert client.post(URL, data={"body": "Hacked %(ref)s", "save": "1"}).status_code == 403
    assert db.session.scalar(select(NotificationTemplate)) is None


def test_service_checks(rq, world):
    with pytest.raises(AdminError):
        templates.save(world.admin, name="otp", channel="sms", locale="en", subject="", body="x" * 321, now=NOW)
    with pytest.raises(AdminError):
        templates.save(world.admin, name="otp", channel="email", locale="en", subject="", body="Code %(code)s",
                       now=NOW)
    row = templates.save(world.admin, name="otp", channel="email", locale="fa", subject="کد شما",
                         body="کد %(code)s برای %(minutes)s دقیقه", now=NOW)
    assert row.id
    assert notify.render("otp", "fa", {"code": "123456", "minutes": "10"})[1] == "کد 123456 برای 10 دقیقه"


def test_override_failing_at_send_time_falls_back(rq, world):
    db.session.add(NotificationTemplate(name="otp", channel="sms", locale="en", body="Code %(code)s %(zzz)s"))
    db.session.commit()
    assert notify.render("otp", "en", {"code": "1", "minutes": "5"})[2].startswith("Seva Desk code 1")


def test_outbox_rows_use_override(rq, world):
    db.session.add(NotificationTemplate(name="case_created", channel="sms", locale="en",
                                        body="Registered %(ref)s"))
    db.session.commit()
    case = make_case("service_request", world.d1)
    sms = db.session.scalar(select(Notification).where(Notification.channel == "sms",
                                                       Notification.case_id == case.id))
    assert sms.body == f"Registered {case.reference}"
