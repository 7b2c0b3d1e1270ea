"""Outbox delivery order (issue 22, item 7): one-time codes and the messages a person is
waiting for go before the backlog; within a priority, oldest first."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import inspect, select

from app.extensions import db
from app.models import Notification
from app.services.engine import notify
from app.services.front_doors import citizen
from tests.citizen_support import add_services, make_request
from tests.conftest import NOW


def _backlog(n: int, at) -> None:
    """`n` pending staff messages, older than anything else (the demo data's backlog)."""
    db.session.execute(db.insert(Notification), [
        dict(channel="email", recipient=f"staff{i}@example.in", template="office_received", locale="en",
             subject="s", body="b", status="pending", priority=notify.PRIORITY_NORMAL,
             next_attempt_at=at, created_at=at) for i in range(n)])
    db.session.commit()


def test_a_code_is_delivered_in_the_first_sweep_behind_a_backlog(app, world):
    add_services(world)
    make_request(world)  # the mobile has a request: a code is sent
    _backlog(30, NOW - timedelta(days=3))
    code = citizen.send_otp("9876543210", now=NOW)
    assert code
    sent = app.extensions.setdefault("outbox_sent", [])
    sent.clear()
    counts = notify.deliver_due(NOW + timedelta(seconds=1), limit=5)
    assert counts["sent"] == 5
    # the code first, then the new requester's acknowledgement (e-mail and SMS), then the backlog
    assert code in sent[0]["body"]
    otp = db.session.scalar(select(Notification).where(Notification.template == "otp"))
    assert otp.status == "sent" and otp.priority == notify.PRIORITY_CODE
    templates = [db.session.get(Notification, m["id"]).template for m in sent]
    assert templates[:3] == ["otp", "case_created", "case_created"]
    assert templates[3:] == ["office_received", "office_received"]


def test_priorities_of_the_messages():
    # codes, then what a person waits for (reference, reply, request for information,
    # resolution to confirm), then staff messages, then office notices and digests
    assert notify.priority_of("otp") == notify.PRIORITY_CODE
    for waiting in ("case_created", "case_updated", "info_requested", "confirmation_requested", "case_closed"):
        assert notify.priority_of(waiting) == notify.PRIORITY_WAITING
    assert notify.priority_of("assigned") == notify.PRIORITY_NORMAL
    assert notify.priority_of("office_received") == notify.priority_of("office_digest") == notify.PRIORITY_OFFICE
    assert (notify.PRIORITY_CODE < notify.PRIORITY_WAITING < notify.PRIORITY_NORMAL < notify.PRIORITY_OFFICE)


def test_within_a_priority_the_oldest_goes_first(app, world):
    _backlog(3, NOW - timedelta(days=1))
    older = Notification(channel="sms", recipient="9876543210", template="case_updated", body="older",
                         next_attempt_at=NOW - timedelta(days=2), created_at=NOW - timedelta(days=2))
    db.session.add(older)
    db.session.commit()
    sent = app.extensions.setdefault("outbox_sent", [])
    sent.clear()
    notify.deliver_due(NOW, limit=1)
    assert [m["body"] for m in sent] == ["older"]


def test_an_index_serves_the_delivery_order(app):
    indexes = {ix["name"]: ix["column_names"]
               for ix in inspect(db.session.connection()).get_indexes("notification")}
    assert indexes["ix_notification_status_priority"] == ["status", "priority", "next_attempt_at", "id"]
