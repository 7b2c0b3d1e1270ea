"""Read-only counts for home pages (aggregate queries, never cases loaded into Python)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, OrgUnit
from app.services.engine.access import in_subtree


def office_queue_counts(office_id: int) -> dict[tuple[str, str], int]:
    """{(kind, status): n} for the open cases an office holds."""
    rows = db.session.execute(
        select(Case.kind, Case.status, func.count())
        .where(Case.current_office_id == office_id, Case.status != wf.CLOSED)
        .group_by(Case.kind, Case.status)
    ).all()
    return {(k, s): n for k, s, n in rows}


def subtree_status_counts(office: OrgUnit) -> dict[str, int]:
    """{status: n} over every case held anywhere in `office`'s subtree."""
    rows = db.session.execute(
        select(Case.status, func.count())
        .join(OrgUnit, Case.current_office_id == OrgUnit.id)
        .where(in_subtree(OrgUnit.path, office))
        .group_by(Case.status)
    ).all()
    return {s: n for s, n in rows}


def my_raised_counts(user_id: int, office_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Case.status, func.count())
        .where(Case.raised_by_id == user_id)
        .group_by(Case.status)
    ).all()
    return {s: n for s, n in rows}
