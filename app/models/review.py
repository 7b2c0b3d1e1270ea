"""Closure quality review of complaints: a supervisor's verdict on how a closed
complaint was handled; a poor closure opens a linked follow-up complaint."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.case import Case
from app.models.org import User


class ComplaintReview(db.Model):
    """One review per closed complaint (append-only, like the timeline)."""

    __tablename__ = "complaint_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(8))  # good | poor
    remark: Mapped[str] = mapped_column(Text, default="")
    follow_up_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)

    case: Mapped[Case] = relationship(foreign_keys=[case_id])
    follow_up: Mapped[Case | None] = relationship(foreign_keys=[follow_up_case_id])
    reviewer: Mapped[User] = relationship()
