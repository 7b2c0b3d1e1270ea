"""One-time codes by which a citizen without an account proves a mobile number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class OtpCode(db.Model):
    """A code sent by SMS. Only a keyed hash is stored; it expires, and it accepts a
    limited number of attempts. A newer code for the same mobile replaces older ones."""

    __tablename__ = "otp_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(20), default="track")
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]


Index("ix_otp_code_mobile_purpose_created", OtpCode.mobile, OtpCode.purpose, OtpCode.created_at)
