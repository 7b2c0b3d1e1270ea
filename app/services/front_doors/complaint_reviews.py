"""Closure quality review: supervisors sample closed complaints of their subtree and
mark each closure good or poor; a poor one opens a linked follow-up complaint."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain import workflow as wf
from app.domain.errors import AlreadyDone, MissingInput, NotAllowed
from app.extensions import db
from app.models import Case, ComplaintReview, User
from app.services.engine import access, cases

VERDICTS = ("good", "poor")


def may_review(user: User) -> bool:
    return user.has_role("supervisor", "admin")


def _reviewable(user: User):
    reviewed = select(ComplaintReview.case_id)
    return select(Case).where(Case.kind == wf.COMPLAINT, Case.status == wf.CLOSED,
                              access.jurisdiction_filter(user), Case.id.not_in(reviewed))


def sample(user: User, size: int = 10) -> list[Case]:
    """A random sample of closed, not yet reviewed complaints of the user's subtree."""
    return list(db.session.scalars(_reviewable(user).order_by(func.random()).limit(size)))


def recent(user: User, limit: int = 20) -> list[ComplaintReview]:
    return list(db.session.scalars(
        select(ComplaintReview).join(Case, ComplaintReview.case_id == Case.id)
        .where(access.jurisdiction_filter(user))
        .order_by(ComplaintReview.created_at.desc(), ComplaintReview.id.desc()).limit(limit)))


def review_of(case: Case) -> ComplaintReview | None:
    return db.session.scalar(select(ComplaintReview).where(ComplaintReview.case_id == case.id))


def record(user: User, case: Case, verdict: str, remark: str, now: datetime) -> ComplaintReview:
    """Record the verdict; a poor closure raises a follow-up complaint that refers to
    the closed one (which stays closed) in the office that closed it."""
    if not may_review(user) or case.kind != wf.COMPLAINT or not access.in_jurisdiction(user, case):
        raise NotAllowed("not in the reviewer's jurisdiction")
    if not case.is_closed:
        raise MissingInput(field="case")
    if verdict not in VERDICTS:
        raise MissingInput(field="verdict")
    remark = (remark or "").strip()
    if verdict == "poor" and not remark:
        raise MissingInput(field="remark")
    if review_of(case) is not None:
        raise AlreadyDone(field="review")
    # The review row first: its unique key settles a race between two reviewers
    # before any follow-up is raised.
    review = ComplaintReview(case_id=case.id, reviewer_id=user.id, verdict=verdict, remark=remark,
                             created_at=now)
    db.session.add(review)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyDone(field="review") from None
    if verdict == "poor":
        follow_up = cases.raise_case(
            wf.COMPLAINT, office=case.current_office, now=now, actor=user, raising_office=user.office,
            subject=case.subject, description=remark, category=case.category, priority=case.priority,
            channel="review", related_case=case, notify_requester=False,
            requester={"name": case.requester_name, "mobile": case.requester_mobile,
                       "email": case.requester_email, "address": case.requester_address,
                       "pincode": case.pincode, "locale": (case.data or {}).get("locale")},
            data={"review_of": case.reference, **({"article": case.data["article"]}
                                                  if (case.data or {}).get("article") else {})},
        )
        review.follow_up_case_id = follow_up.id
        db.session.commit()
    return review
