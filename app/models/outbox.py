"""Notification outbox and audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, SmallInteger, String, Text, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Notification(db.Model):
    """A message to send, written in the same transaction as the change that causes it
    and delivered later by the scheduler with retries."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    recipient: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(5), default="en")
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sending|sent|failed
    # Lower goes first: 0 a one-time code, 1 a message a person is waiting for, 5 the rest
    # (`app.services.engine.notify.PRIORITIES`). Delivery is by priority, then age.
    priority: Mapped[int] = mapped_column(SmallInteger, default=5, server_default="5")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
    sent_at: Mapped[datetime | None]
    # An e-mail's one attachment (the weekly summary's XLSX), sent with it.
    attachment_name: Mapped[str | None] = mapped_column(String(120))
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The Message-ID an e-mail was sent with: a reply naming it (In-Reply-To,
    # References) is threaded onto the message's case; a message of ours coming back
    # is a mail loop (`app.services.front_doors.mail_intake`).
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # The delivery worker holding the row (status "sending") and until when: after
    # `claimed_until` another worker takes it up (`notify.claim`).
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None]


Index("ix_notification_status_next", Notification.status, Notification.next_attempt_at)
# The delivery order (`notify.claim`): pending rows by priority, then when they came due.
Index("ix_notification_status_priority", Notification.status, Notification.priority,
      Notification.next_attempt_at, Notification.id)


class OfficeNotice(db.Model):
    """A case that came to an office, held for the office's next digest
    (OFFICE_NOTICE_MODE=digest, `notify.send_digests`); deleted once in a digest."""

    __tablename__ = "office_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    template: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)


Index("ix_office_notice_office_created", OfficeNotice.office_id, OfficeNotice.created_at)

# Delivered messages by sending time: what the retention job removes (a constant, not a
# bound parameter, as the retention query writes it: see NOT_CLOSED in models/case.py).
SENT = Notification.status == literal_column("'sent'")
Index("ix_notification_sent_at", Notification.sent_at, postgresql_where=SENT, sqlite_where=SENT)


class AuditLog(db.Model):
    """Security-relevant happenings (sign-ins, denials, admin changes). Insert-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=datetime.utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_label: Mapped[str] = mapped_column(String(40), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(80), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
