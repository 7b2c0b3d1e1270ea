"""Repeats at intake (issue 27, item 3): before a complaint or a doorstep request is
raised — by a citizen or at a counter — the open cases of the same mobile number or
e-mail address about the same service are shown, so that the requester can follow the
one they have instead of raising it again.

"The same service": a doorstep request's service (its category), or a complaint's
service (the parent of its type of grievance: every type under it) — by the catalogue's
levels, not by kind. This is the same
rule by which a case raised anyway is marked a possible repeat (`repeat_of_id`,
`app.services.engine.flow`), which staff see on the case.

Without JavaScript the form is shown again with the open cases and a "raise it anyway"
button (a hidden `confirm_new` field); main's doorstep rule (the same mobile, service
and pincode within CITIZEN_REPEAT_HOURS returns the earlier request) still applies
first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, Category

CONFIRM_FIELD = "confirm_new"
SHOWN = 3


def service_ids(category) -> list[int]:
    """The categories that count as the same service as `category`: a type of grievance
    (the third level: category → service → type) counts with every type of its service;
    a service (a doorstep request's category) is itself."""
    if category is None:
        return []
    parent_id = getattr(category, "parent_id", None)  # a doorstep form's service is a plain value
    if parent_id is not None:
        parent = db.session.get(Category, parent_id)
        if parent is not None and parent.parent_id is not None:  # a type: its service's types
            return [parent_id, *db.session.scalars(select(Category.id).where(Category.parent_id == parent_id))]
    return [category.id]


def open_cases(*, mobile: str | None, email: str | None, category: Category | None,
               exclude_id: int | None = None, limit: int = SHOWN, submission_key: str | None = None) -> list[Case]:
    """The newest open cases from `mobile` or `email` about the same service; none when
    one of them was made by this very form (`submission_key`: a resubmission, which gets
    the case already made)."""
    ids = service_ids(category)
    who = []
    if mobile:
        who.append(Case.requester_mobile == mobile)
    if email and email.strip():
        e = email.strip()
        who.append(Case.requester_email.in_({e, e.lower()}))
    if not ids or not who:
        return []
    q = (select(Case).where(or_(*who), Case.category_id.in_(ids), Case.status != wf.CLOSED)
         .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit))
    if exclude_id is not None:
        q = q.where(Case.id != exclude_id)
    found = list(db.session.scalars(q))
    if submission_key and any(c.submission_key == submission_key for c in found):
        return []
    return found


def days_ago(case: Case, now: datetime) -> int:
    return max(0, (now - case.created_at).days)


def masked(reference: str) -> str:
    """A reference shown to someone not signed in: enough to recognise it, not enough to
    open it (tracking it goes through the one-time code sent to the mobile)."""
    return "…" + reference[-4:]


def related(case: Case) -> tuple[Case | None, list[Case]]:
    """(the case this one possibly repeats, the cases that possibly repeat this one),
    read in one statement."""
    rows = list(db.session.scalars(
        select(Case).where(or_(Case.repeat_of_id == case.id,
                               Case.id == case.repeat_of_id if case.repeat_of_id else False))
        .order_by(Case.created_at).limit(11)))
    before = next((r for r in rows if r.id == case.repeat_of_id), None)
    return before, [r for r in rows if r.repeat_of_id == case.id][:10]
