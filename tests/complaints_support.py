"""Helpers shared by the complaint tests."""

from __future__ import annotations

from types import SimpleNamespace

from app.extensions import db
from app.models import Category
from app.services.infrastructure import tokens
from tests.factories import CITIZEN, make_case

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 300


def make_taxonomy() -> SimpleNamespace:
    t = SimpleNamespace()

    def cat(code, en, level="category", parent=None, hi="", fa=""):
        c = Category(kind="complaint", code=code, name_en=en, name_hi=hi, name_fa=fa, level=level,
                     parent_id=parent.id if parent else None)
        db.session.add(c)
        db.session.flush()
        return c

    t.mail = cat("x.mail", "Mail / Money Orders", hi="डाक / मनीऑर्डर", fa="مرسولات / حواله پستی")
    t.speed = cat("x.mail.speed", "Speed Post", "service", t.mail)
    t.delay = cat("x.mail.speed.delay", "Delay in delivery", "type", t.speed)
    t.loss = cat("x.mail.speed.loss", "Article lost", "type", t.speed)
    t.fin = cat("x.fin", "Financial Services")
    t.neft = cat("x.fin.neft", "NEFT / RTGS transfer", "service", t.fin)
    t.dispute = cat("x.fin.neft.dispute", "Transfer not credited", "type", t.neft)
    db.session.commit()
    return t


def form_data(tax, **over) -> dict:
    data = {"name": "Ravi Kumar", "mobile": "9876543210", "email": "ravi@example.in",
            "address": "1 MG Road", "pincode": "560001", "category": str(tax.mail.id),
            "service": str(tax.speed.id), "type": str(tax.delay.id), "article": "EE123456789IN",
            "description": "My Speed Post article has not arrived after ten days."}
    data.update(over)
    return data


def complaint(office, actor=None, **kw):
    kw.setdefault("requester", dict(CITIZEN))
    return make_case("complaint", office, actor=actor, **kw)


def respond_path(case) -> str:
    return f"/respond/{tokens.make_case_token(case, 'respond')}"


def queue_counts(user) -> dict:
    """How many complaints each of Complaint Processing's queues holds for `user` (the
    inbox's "Complaint Processing" view with its queue filter)."""
    from sqlalchemy import func, select

    from app.services.front_doors import complaints
    from app.services.read_models import views
    from tests.conftest import NOW

    view = views.get("complaints")
    return {k: db.session.scalar(select(func.count()).select_from(
        views.query(view, user, views.Filters(extra={"queue": k}), NOW).subquery()))
        for k in complaints.QUEUE_KEYS}


def queue_refs(user, key: str) -> set:
    """The references in one of Complaint Processing's queues for `user`."""
    from app.services.read_models import views
    from tests.conftest import NOW

    q = views.query(views.get("complaints"), user, views.Filters(extra={"queue": key}), NOW)
    return {c.reference for c in db.session.scalars(q)}
