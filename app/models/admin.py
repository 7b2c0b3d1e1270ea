"""Administration data: notification templates edited by administrators."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class NotificationTemplate(db.Model):
    """An administrator's wording of a built-in notification (`notify.TEMPLATES`) for one
    channel and language. When present it is used instead of the code default."""

    __tablename__ = "notification_template"
    __table_args__ = (UniqueConstraint("name", "channel", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    locale: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
