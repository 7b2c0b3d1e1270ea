"""API keys of partner systems (external authorities, the mobile app's back office)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.org import OrgUnit


class ApiKey(db.Model):
    """A partner's key, scoped to an office subtree. Only a SHA-256 hash of the secret
    is stored; the short public `prefix` finds the row. Revoked keys stay for the record."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    office_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    office: Mapped[OrgUnit] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None
