"""Staff interactions (seed 004, «تعاملات سازمانی»): an employee sends a request to a
department (with a subject from that department's list) or to a named colleague; the
handlers answer from their cartable; the requester confirms or rejects the answer and
fills in a satisfaction survey once. Every change goes through `app.services.engine.cases`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from app.domain import workflow as wf
from app.domain.errors import BadTarget, MissingInput
from app.extensions import db
from app.inputs import as_id, search_text
from app.models import Case, Category, Feedback, OrgUnit, User
from app.services.engine import cases

KIND = wf.INTERACTION

DEPARTMENT = "department"
COLLEAGUE = "colleague"
REQUEST_TYPES = ("request", "question", "problem", "suggestion")


def departments() -> list[OrgUnit]:
    """Active departments, by name."""
    return list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.kind == "department", OrgUnit.active.is_(True))
        .order_by(OrgUnit.name)))


def subjects(department_id: int | None) -> list[Category]:
    """The request subjects of one department («موضوع درخواست»), in their set order."""
    if not department_id:
        return []
    return list(db.session.scalars(
        select(Category).where(Category.kind == wf.INTERACTION, Category.level == "subject",
                               Category.department_id == department_id,
                               Category.active.is_(True))
        .order_by(Category.sort_order, Category.id)))


def search_colleagues(text: str, exclude: User | None = None, limit: int = 10) -> list[User]:
    """Active employees whose name or Employee ID contains `text` (at least 2 characters)."""
    text = search_text(text)  # the form's own limit; SQLite refuses huge LIKE patterns
    if len(text) < 2:
        return []
    q = select(User).where(User.active.is_(True),
                           or_(User.name.ilike(f"%{text}%"), User.login_id.like(f"{text}%")))
    if exclude is not None:
        q = q.where(User.id != exclude.id)
    return list(db.session.scalars(q.order_by(User.name, User.id).limit(limit)))


def find_colleague(user_id, exclude: User | None = None) -> User | None:
    """The active employee with this id (not the requester themself)."""
    if as_id(user_id) is None:
        return None
    user = db.session.get(User, as_id(user_id))
    if user is None or not user.active or (exclude is not None and user.id == exclude.id):
        return None
    return user


def raise_to_department(actor: User, department: OrgUnit, subject: Category, description: str,
                        now: datetime, uploads=(), submission_key: str | None = None) -> Case:
    """A request to a department: it sits in the department's queue."""
    if department.kind != "department" or not department.active:
        raise BadTarget(field="department")
    if subject.kind != wf.INTERACTION or subject.department_id != department.id:
        raise BadTarget(field="subject")
    return cases.raise_case(
        # No subject text: the catalogue row is the subject, named in each reader's language.
        wf.INTERACTION, office=department, now=now, actor=actor, category=subject,
        description=description, channel="web",
        data={"addressed_to": DEPARTMENT}, uploads=uploads, submission_key=submission_key)


def raise_to_colleague(actor: User, colleague: User, request_type: str, priority: str,
                       description: str, now: datetime, uploads=(),
                       submission_key: str | None = None) -> Case:
    """A request to a named colleague: held by their office, assigned to them, and only
    they (not the rest of their office) handle it."""
    if colleague.id == actor.id or not colleague.active:
        raise BadTarget(field="recipient")
    if request_type not in REQUEST_TYPES:
        raise MissingInput(field="request_type")
    first_line = (description or "").strip().splitlines()[0] if (description or "").strip() else ""
    return cases.raise_case(
        wf.INTERACTION, office=colleague.office, now=now, actor=actor, assignee=colleague,
        subject=first_line[:120], description=description, priority=priority, channel="web",
        data={"addressed_to": COLLEAGUE, "request_type": request_type},
        uploads=uploads, submission_key=submission_key)


def feedback_for(case: Case) -> Feedback | None:
    return db.session.scalar(select(Feedback).where(Feedback.case_id == case.id))


def act(case: Case, action: str, actor: User, now: datetime, *, version: int | None = None,
        text: str = "", target_user: User | None = None, rating=None, comment: str = "",
        uploads=()):
    """An interaction's action as the case page takes it (`case_actions.perform`: the
    survey's rating and comment checked with it)."""
    from app.services.engine import case_actions

    return case_actions.perform(case, action, actor, now, version=version, text=text,
                                user_id=target_user.id if target_user is not None else None,
                                uploads=uploads, inputs={"rating": rating, "comment": comment})
