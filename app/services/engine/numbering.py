"""Allocating unique reference numbers under concurrency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select

from app.domain.references import make_reference
from app.extensions import db
from app.models import Case


def new_reference(kind: str, now: datetime) -> str:
    """A reference not yet used. The unique constraint on `case.reference` is the final
    guard: `raise_case` retries the insert on the (astronomically rare) collision."""
    for _ in range(20):
        ref = make_reference(kind, now)
        if not db.session.scalar(select(exists().where(Case.reference == ref))):
            return ref
    raise RuntimeError("could not allocate a reference number")
