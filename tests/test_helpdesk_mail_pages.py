"""The e-mail channel's pages (issue 26): the administrators' intake list and the raw
download, and the helpdesk's name and address on the public pages."""

from __future__ import annotations

from app.services.front_doors import mail_intake
from tests.conftest import NOW
from tests.test_helpdesk_mail import ADDRESS, desk, mail  # noqa: F401 - the fixture

HX = {"HX-Request": "true"}


def test_admin_sees_every_intake_and_downloads_the_raw_message(client, auth, desk):  # noqa: F811
    ticket = mail_intake.receive(mail(subject="Login fails"), now=NOW)
    failed = mail_intake.receive(b"Subject: x\r\n\r\nno sender\r\n", now=NOW)
    dropped = mail_intake.receive(mail(subject="Away", headers={"Auto-Submitted": "auto-replied"}), now=NOW)
    auth.login(desk.admin.login_id)
    r = client.get("/admin/mail")
    assert r.status_code == 200
    for text in (b"Login fails", b"Malformed message", b"Automatic reply", ticket.case.reference.encode(),
                 b"Download the message"):
        assert text in r.data, text
    r = client.get("/admin/mail?status=failed", headers=HX)
    assert b"<html" not in r.data and b"Malformed message" in r.data and b"Login fails" not in r.data
    r = client.get(f"/admin/mail/{failed.id}.eml")
    assert r.status_code == 200 and r.data == failed.raw and r.mimetype == "message/rfc822"
    assert "attachment" in r.headers["Content-Disposition"]
    assert client.get("/admin/mail/999999.eml").status_code == 404
    assert dropped.status == "dropped"
    auth.logout()
    auth.login(desk.operator.login_id)  # the desk's operators do not administer the mailbox
    assert client.get("/admin/mail").status_code == 403
    assert client.get(f"/admin/mail/{failed.id}.eml").status_code == 403


def test_the_helpdesk_name_and_address_on_the_public_pages(client, app):
    app.config.update(HELPDESK_NAME="MUKTASoft O&M Helpdesk", HELPDESK_PHONE="1800 345 6770",
                      HELPDESK_EMAIL=ADDRESS)
    for path in ("/", "/track", "/request"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert b"MUKTASoft O&amp;M Helpdesk" in r.data
        assert f'href="mailto:{ADDRESS}"'.encode() in r.data and b'href="tel:18003456770"' in r.data
    client.post("/language", data={"lang": "fa", "next": "/"})
    r = client.get("/")
    assert "راهنمایی دربارهٔ Seva Desk".encode() in r.data and ADDRESS.encode() in r.data
    app.config.update(HELPDESK_PHONE="", HELPDESK_EMAIL="")
    r = client.get("/")
    assert b"mailto:" not in r.data and b"MUKTASoft O&amp;M Helpdesk" in r.data
