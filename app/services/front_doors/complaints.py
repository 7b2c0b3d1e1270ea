"""Customer complaints: registration, processing queues, bulk actions, the escalation
trail and the two clocks. Status changes go through `app.services.engine.cases` only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select

from app.domain import workflow as wf
from app.domain.errors import BadTarget, WorkflowError
from app.extensions import db
from app.models import Case, CaseEvent, Category, OrgUnit, PincodeEntry, User
from app.services.engine import access, cases

KIND = wf.COMPLAINT

# Processing queues: key -> SQL condition on Case (disjoint; escalated ones have their own).
QUEUE_KEYS = ("pending", "external", "confirmation", "info", "escalated")


def queue_condition(key: str):
    working = Case.status.in_(sorted(wf.WORKING))
    return {
        "pending": and_(working, Case.escalation_level == 0),
        "external": Case.status == wf.PENDING_EXTERNAL,
        "confirmation": Case.status == wf.AWAITING_CONFIRMATION,
        "info": Case.status == wf.AWAITING_INFO,
        "escalated": and_(working, Case.escalation_level > 0),
    }[key]


def scoped(user: User):
    """The complaints of the user's jurisdiction (Complaint Processing's cases)."""
    return select(Case).where(Case.kind == KIND, access.jurisdiction_filter(user))


# ---- taxonomy ------------------------------------------------------------------

def categories(level: str, parent_id: int | None = None) -> list[Category]:
    q = select(Category).where(Category.kind == KIND, Category.level == level,
                               Category.active.is_(True))
    if level != "category":
        q = q.where(Category.parent_id == parent_id)
    return list(db.session.scalars(q.order_by(Category.sort_order, Category.name_en)))


def valid_type(category_id, service_id, type_id) -> Category | None:
    """The type row when category → service → type is a consistent active chain."""
    t = db.session.get(Category, type_id) if type_id else None
    if t is None or t.kind != KIND or t.level != "type" or not t.active:
        return None
    s = t.parent
    if s is None or s.id != service_id or s.parent_id != category_id:
        return None
    return t


def office_for_pincode(pincode: str) -> OrgUnit | None:
    """The post office serving the pincode when known, else its division."""
    entry = db.session.scalar(select(PincodeEntry).where(PincodeEntry.pincode == pincode))
    if entry is None:
        return None
    if entry.office_id:
        office = db.session.get(OrgUnit, entry.office_id)
        if office is not None and office.active:
            return office
    return entry.division


def find_related(reference: str, mobile: str, user: User | None = None) -> Case | None:
    """The earlier complaint a new one refers to: found when the customer's mobile
    matches it (or the employee may see it). None otherwise — existence is not revealed."""
    from app.domain.references import normalize

    ref = normalize(reference or "")
    old = db.session.scalar(select(Case).where(Case.reference == ref, Case.kind == KIND))
    if old is None:
        return None
    if old.requester_mobile and old.requester_mobile == (mobile or "").strip():
        return old
    if user is not None and access.can_view(user, old):
        return old
    return None


def register(*, requester: dict, type_row: Category, description: str, now: datetime,
             office: OrgUnit, actor: User | None = None, article: str = "",
             related: Case | None = None, uploads=(), channel: str = "web",
             submission_key: str | None = None) -> Case:
    """Register a complaint for a customer (at a counter by `actor`, or on the web)."""
    if related is not None and not related.is_closed:
        raise BadTarget("refers to an open complaint", field="related")
    data = {}
    if article:
        data["article"] = article.strip()
    if actor is not None:
        data["registered_at_counter"] = True
    return cases.raise_case(
        # No subject text: the complaint's type is its subject, named in the reader's language.
        KIND, office=office, now=now, actor=actor,
        description=description, category=type_row, channel=channel, requester=requester,
        data=data, related_case=related, uploads=uploads, submission_key=submission_key,
        raising_office=actor.office if actor is not None else office,
    )


def follow_ups(case: Case) -> list[Case]:
    """Complaints that refer to this one (repeat complaints, review follow-ups)."""
    return list(db.session.scalars(
        select(Case).where(Case.related_case_id == case.id).order_by(Case.created_at)))


# ---- bulk processing -------------------------------------------------------------

BULK_ACTIONS = ("start", "reply", "note", "request_info", "propose_resolution", "transfer",
                "escalate", "close")


@dataclass
class BulkResult:
    reference: str
    ok: bool
    error: object = None  # a WorkflowError, or the string "not_found"


def bulk_act(user: User, references: list[str], action: str, *, now: datetime, text: str = "",
             target_office: OrgUnit | None = None) -> list[BulkResult]:
    """Take `action` on each complaint in turn through the engine; one transaction per
    complaint, so one refusal does not undo the others. Complaints outside the user's
    jurisdiction are reported as not found."""
    results = []
    seen = set()
    for ref in references:
        if ref in seen:
            continue
        seen.add(ref)
        case = access.get_case_for(user, ref)
        if case is None or case.kind != KIND or not access.in_jurisdiction(user, case):
            results.append(BulkResult(ref, False, "not_found"))
            continue
        try:
            cases.act(case, action, now=now, actor=user, text=text, target_office=target_office)
            results.append(BulkResult(ref, True))
        except WorkflowError as exc:
            db.session.rollback()
            results.append(BulkResult(ref, False, exc))
    return results


# ---- escalation trail and clocks --------------------------------------------------

MOVES = {"transfer", "escalate", "sla_escalate", "reject", "info_timeout_escalate",
         "refer_external", "recall_external"}


@dataclass
class Stint:
    """One stretch of time a complaint spent with one holder at one level."""

    office: OrgUnit | None
    level: int
    start: datetime
    end: datetime | None = None
    handlers: list = field(default_factory=list)
    external: bool = False
    reason: str | None = None  # the action that ended the stint
    reason_text: str = ""
    moved_by: str = ""  # user | requester | system

    def seconds(self, now: datetime) -> int:
        return int(((self.end or now) - self.start).total_seconds())


def escalation_trail(case: Case) -> list[Stint]:
    """Who held the complaint, at which level, for how long and why it moved —
    computed from the timeline rows (nothing stored twice)."""
    events = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    stints: list[Stint] = []
    cur: Stint | None = None
    level = 0
    home = None  # the office holding it while it is with an external authority
    for e in events:
        if e.type == "created":
            cur = Stint(office=e.to_office or case.current_office, level=0, start=e.at)
            if e.to_user is not None:
                cur.handlers.append(e.to_user.name)
            stints.append(cur)
            continue
        if cur is None:
            continue
        if e.type in MOVES and (e.to_office_id or e.type == "recall_external"):
            cur.end, cur.reason, cur.reason_text, cur.moved_by = e.at, e.type, e.text, e.actor_kind
            if e.type == "refer_external":
                home = cur.office
                cur = Stint(office=e.to_office, level=level, start=e.at, external=True)
            elif e.type == "recall_external":
                cur = Stint(office=home or case.current_office, level=level, start=e.at)
            else:
                level = int((e.data or {}).get("level", level))
                cur = Stint(office=e.to_office, level=level, start=e.at)
            stints.append(cur)
        elif e.to_user is not None and e.to_user.name not in cur.handlers:
            cur.handlers.append(e.to_user.name)
        if e.to_status == wf.CLOSED and cur.end is None:
            cur.end, cur.reason, cur.reason_text, cur.moved_by = e.at, e.type, e.text, e.actor_kind
    return stints


def clocks(case: Case, now: datetime) -> dict[str, int]:
    """Seconds with us, with an external authority and waiting for the customer (the
    running pause included), so our own time is never charged for others' delays."""
    external, customer = case.external_seconds, case.customer_seconds
    if case.paused_since is not None and not case.is_closed:
        running = int((now - case.paused_since).total_seconds())
        if case.paused_for == "external":
            external += running
        else:
            customer += running
    end = case.closed_at or now
    total = int((end - case.created_at).total_seconds())
    return {"total": total, "ours": max(total - external - customer, 0), "external": external,
            "customer": customer}


def duration_parts(seconds: int) -> tuple[int, int, int]:
    """(days, hours, minutes) of a duration."""
    seconds = max(int(seconds or 0), 0)
    return seconds // 86400, (seconds % 86400) // 3600, (seconds % 3600) // 60
