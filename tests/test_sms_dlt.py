"""The HTTP SMS backend sends the DLT template and entity ids an Indian gateway needs
(issue 28 item 4), checked on a real HTTP server on a free local port."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.services.engine import notify
from tests.conftest import NOW


@pytest.fixture
def gateway(app):
    """A local SMS gateway: records each POST's JSON body and Authorization header."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"json": json.loads(body), "auth": self.headers.get("Authorization")})
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(NOTIFY_SMS_BACKEND="http", SMS_GATEWAY_URL=f"http://127.0.0.1:{server.server_port}/send",
                      SMS_GATEWAY_TOKEN="t0ken", SMS_DLT_ENTITY_ID="1101000000000000001",
                      SMS_DLT_TEMPLATE_IDS={"otp": "1107000000000000010", "case_created.hi": "1107000000000000021",
                                            "case_created": "1107000000000000020"},
                      SMS_DLT_REQUIRED=None)
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def _sms(template, locale="en", body="text", mobile="9876543210"):
    n = Notification(channel="sms", recipient=mobile, template=template, locale=locale, body=body,
                     status="pending", priority=notify.priority_of(template), next_attempt_at=NOW, created_at=NOW)
    db.session.add(n)
    db.session.commit()
    return n.id


def test_each_sms_carries_its_templates_dlt_id_and_the_entity_id(app, gateway):
    _sms("otp", body="Seva Desk code 123456")
    _sms("case_created", locale="hi", body="सेवा")
    _sms("case_created", locale="fa", body="سلام")
    counts = notify.deliver_batch(NOW, "w1")
    assert counts["sent"] == 3
    by_text = {r["json"]["text"]: r for r in gateway}
    assert by_text["Seva Desk code 123456"]["json"] == {
        "to": "9876543210", "text": "Seva Desk code 123456",
        "dlt_entity_id": "1101000000000000001", "dlt_template_id": "1107000000000000010"}
    assert by_text["सेवा"]["json"]["dlt_template_id"] == "1107000000000000021"  # the Hindi wording's own id
    assert by_text["سلام"]["json"]["dlt_template_id"] == "1107000000000000020"  # the template's id
    assert {r["auth"] for r in gateway} == {"Bearer t0ken"}


def test_field_names_are_configurable(app, gateway):
    app.config.update(SMS_DLT_TEMPLATE_FIELD="templateid", SMS_DLT_ENTITY_FIELD="peid")
    _sms("otp")
    notify.deliver_batch(NOW, "w1")
    assert gateway[0]["json"] == {"to": "9876543210", "text": "text", "peid": "1101000000000000001",
                                  "templateid": "1107000000000000010"}


def test_a_template_without_a_dlt_id_is_refused_not_sent(app, gateway):
    nid = _sms("info_requested")
    sent_id = _sms("otp")
    counts = notify.deliver_batch(NOW, "w1")
    assert counts["sent"] == 1 and counts["failed"] == 1  # at once: retrying cannot help
    assert [r["json"]["dlt_template_id"] for r in gateway] == ["1107000000000000010"]
    row = db.session.get(Notification, nid)
    assert row.status == "failed"
    assert "no DLT template id for template 'info_requested'" in row.last_error
    assert "SMS_DLT_TEMPLATE_IDS" in row.last_error
    assert db.session.get(Notification, sent_id).status == "sent"


def test_without_dlt_the_gateway_gets_to_and_text_only(app, gateway):
    app.config.update(SMS_DLT_ENTITY_ID="", SMS_DLT_TEMPLATE_IDS={})
    _sms("info_requested")
    assert notify.deliver_batch(NOW, "w1")["sent"] == 1
    assert gateway[0]["json"] == {"to": "9876543210", "text": "text"}


def test_required_without_an_entity_id_is_refused(app, gateway):
    app.config.update(SMS_DLT_ENTITY_ID="", SMS_DLT_REQUIRED=True)
    _sms("otp")
    assert notify.deliver_batch(NOW, "w1")["failed"] == 1
    assert gateway == []
    assert "SMS_DLT_ENTITY_ID" in db.session.scalar(select(Notification.last_error))
