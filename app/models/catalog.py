"""Reference data: taxonomies, pincode directory, SLA matrix, holidays."""

from __future__ import annotations

from collections import namedtuple
from datetime import date

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class Category(db.Model):
    """One taxonomy table for every kind. Levels: `category` → `service` → `type`
    (complaints, tickets, helpdesk), `service` alone (doorstep service types), and
    `subject` under a department (staff interactions). Names are data, so each row
    carries its own en/hi/fa label."""

    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    level: Mapped[str] = mapped_column(String(12), default="category")
    code: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    route_to_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    name_en: Mapped[str] = mapped_column(String(160))
    name_hi: Mapped[str] = mapped_column(String(160), default="")
    name_fa: Mapped[str] = mapped_column(String(160), default="")
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id])

    def label(self, locale: str | None = None) -> str:
        """The name in `locale` (the request's locale by default), English as fallback."""
        if locale is None:
            from app.i18n import current_locale

            locale = current_locale()
        return getattr(self, f"name_{locale}", "") or self.name_en


class CatalogueName(namedtuple("CatalogueName", "name_en name_hi name_fa")):
    """A catalogue row's three names as one plain, hashable value: what a queue row or a
    case page's header carries (kept HTML is keyed by value, `app.fragments`), shown by
    the `label` filter as a `Category` is (an English fallback marked `lang="en"`)."""

    __slots__ = ()

    @classmethod
    def of(cls, row) -> CatalogueName | None:
        """The names of a `Category` (or a snapshot with the same three names), or None."""
        if row is None:
            return None
        return cls(row.name_en, row.name_hi or "", row.name_fa or "")

    def label(self, locale: str | None = None) -> str:
        return Category.label(self, locale)


class PincodeEntry(db.Model):
    """Pincode directory: which post office and division serve a pincode."""

    __tablename__ = "pincode"

    id: Mapped[int] = mapped_column(primary_key=True)
    pincode: Mapped[str] = mapped_column(String(6), unique=True)
    office_name: Mapped[str] = mapped_column(String(120))
    district: Mapped[str] = mapped_column(String(80), default="")
    state: Mapped[str] = mapped_column(String(80), default="")
    division_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))

    division = relationship("OrgUnit", foreign_keys=[division_id])


class SlaRule(db.Model):
    """SLA matrix row: business days to first response and to resolution."""

    __tablename__ = "sla_rule"
    __table_args__ = (UniqueConstraint("kind", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(2))
    response_days: Mapped[int]
    resolution_days: Mapped[int]


class Holiday(db.Model):
    """A non-working day for business-time computations."""

    __tablename__ = "holiday"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(120))


class RefGeneration(db.Model):
    """One row whose `token` changes (to a fresh random number) in the same transaction
    as every change to the reference data that processes cache across requests
    (`app.services.read_models.refcache`): services and categories, pincodes, offices, the SLA
    matrix, holidays, notification wording and staff contact details. A worker that
    reads a token other than the one its cache was filled under drops the cache."""

    __tablename__ = "ref_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[int] = mapped_column(BigInteger)
