"""E-mail intake of the helpdesk (issue 26): every message received, whatever became of
it — a new ticket, a reply added to a ticket, dropped (auto-reply, mail loop) or failed
(malformed, oversize, wrongly encoded) with its reason. The raw message is kept, so
nothing received is lost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class MailIntake(db.Model):
    __tablename__ = "mail_intake"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
    source: Mapped[str] = mapped_column(String(8), default="imap")  # imap | pipe
    # sha256 of the raw bytes: a message fetched twice (a crash between storing it and
    # flagging it on the server) is stored once.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    sender: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10))  # ticket | reply | dropped | failed
    reason: Mapped[str | None] = mapped_column(String(24))
    detail: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)

    case = relationship("Case")


Index("ix_mail_intake_status_received", MailIntake.status, MailIntake.received_at)
