"""The helpdesk desk (seed 002): L1 operators log a caller's issue, classify it, set its
priority; the category routes it to a team (functional → Master Trainers, technical →
Technical Team, bugs → vendor team, infrastructure → infrastructure team — the map is
the `route_to` column of the helpdesk categories). Due times come from the SLA matrix
in business days with the holiday calendar; the scheduler flags and escalates breaches
(`app.services.timers`). Every change goes through `app.services.cases`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from app.domain import sla as domain_sla
from app.domain import workflow as wf
from app.domain.errors import BadTarget
from app.extensions import db
from app.models import Case, Category, OrgUnit, User
from app.services import access, cases, sla

CHANNELS = ("phone", "email", "walk_in")
CLASSIFICATIONS = ("problem", "incident", "change_request", "bug_fix")
PRIORITIES = ("P1", "P2", "P3", "P4")


def categories() -> list[Category]:
    """Helpdesk categories (each names the team it routes to)."""
    return list(db.session.scalars(
        select(Category).where(Category.kind == wf.HELPDESK, Category.active.is_(True))
        .order_by(Category.sort_order, Category.id)))


def team_for(category: Category, fallback: OrgUnit) -> OrgUnit:
    """The team a category routes to; the desk's own office when none is configured."""
    if category.route_to_id:
        team = db.session.get(OrgUnit, category.route_to_id)
        if team is not None and team.active:
            return team
    return fallback


def log_call(actor: User, *, category: Category, classification: str, priority: str,
             channel: str, caller: dict, subject: str, description: str, diagnosis: str,
             now: datetime, submission_key: str | None = None) -> Case:
    """Log a caller's issue and route it to its category's team. The caller (name,
    mobile, e-mail) is the requester: they receive the ticket id and every reply."""
    if category.kind != wf.HELPDESK:
        raise BadTarget(field="category")
    if classification not in CLASSIFICATIONS or priority not in PRIORITIES or channel not in CHANNELS:
        raise BadTarget(field="classification")
    team = team_for(category, actor.office)
    return cases.raise_case(
        wf.HELPDESK, office=team, now=now, actor=actor, category=category, priority=priority,
        channel=channel, classification=classification, subject=subject, description=description,
        requester={k: v for k, v in caller.items() if v},
        data={"diagnosis": (diagnosis or "").strip(), "routed_to": team.id},
        submission_key=submission_key)


def team_queue(user: User, include_closed: bool = False):
    """A team's helpdesk queue: cases held by the user's office or assigned to them."""
    q = access.handler_queue(user, wf.HELPDESK)
    if not include_closed:
        q = q.where(Case.status != wf.CLOSED)
    return q


def desk_log(user: User):
    """The cases the user's helpdesk desk has logged."""
    return access.raised_by_office(user, wf.HELPDESK)


def get_for(user: User, reference: str) -> Case | None:
    case = access.get_case_for(user, reference)
    if case is None or case.kind != wf.HELPDESK:
        return None
    return case


def is_overdue(case: Case, now: datetime | None = None) -> bool:
    """Past the deadline it works to, with its clock running (`app.domain.sla.is_overdue`:
    the one definition the lists, the date they show and the sweep share)."""
    return domain_sla.is_overdue(case, now or datetime.utcnow())


def overdue_condition(now: datetime):
    """SQL form of `is_overdue`."""
    return sla.overdue_condition(now)


def compliance_report(user: User, now: datetime) -> list[dict]:
    """SLA compliance of helpdesk cases by priority and routed team (one aggregate query,
    scoped to the cases the user may see). A case is *met* when its first response came
    by the response due time, *breached* when it came late, was flagged by the sweep, or
    is still missing past the due time; otherwise it is *pending*."""
    team = aliased(OrgUnit)
    visible = access.visible_cases(user).with_only_columns(Case.id)
    met = and_(Case.first_response_at.is_not(None), Case.first_response_at <= Case.response_due,
               Case.sla_breached.is_(False))
    breached = or_(Case.sla_breached.is_(True), Case.first_response_at > Case.response_due,
                   and_(Case.first_response_at.is_(None), Case.response_due < now))
    rows = db.session.execute(
        select(Case.priority, team.name,
               func.count(Case.id),
               func.sum(sql_case((met, 1), else_=0)),
               func.sum(sql_case((breached, 1), else_=0)),
               func.sum(sql_case((Case.status != wf.CLOSED, 1), else_=0)))
        .outerjoin(Category, Case.category_id == Category.id)
        .outerjoin(team, Category.route_to_id == team.id)
        .where(Case.kind == wf.HELPDESK, Case.id.in_(visible))
        .group_by(Case.priority, team.name)
        .order_by(Case.priority, team.name)
    ).all()
    report = []
    for priority, team_name, total, n_met, n_breached, n_open in rows:
        n_met, n_breached = int(n_met or 0), int(n_breached or 0)
        decided = n_met + n_breached
        report.append({
            "priority": priority, "team": team_name, "total": int(total),
            "met": n_met, "breached": n_breached, "pending": int(total) - decided,
            "open": int(n_open or 0),
            "compliance": round(100.0 * n_met / decided, 1) if decided else None,
        })
    return report


# The actions the ticket page offers directly (the shared case page offers the rest).
TEAM_ACTIONS = ("reply", "assign", "close")


def allowed_actions(user: User, case: Case) -> set[str]:
    return {t.action for t in cases.available_actions(user, case)} & set(TEAM_ACTIONS)


def assign_targets(case: Case) -> list[User]:
    """Team mates the ticket may be assigned to (same holding office, not the assignee)."""
    return [u for u in db.session.scalars(access.colleagues(case)) if u.id != case.assignee_id]


def act(case: Case, action: str, actor: User, now: datetime, *, version: int | None = None,
        text: str = "", target_user: User | None = None):
    """Reply to the caller, assign to a team mate, or close — through the case engine."""
    if action not in TEAM_ACTIONS:
        raise BadTarget(field="action")
    return cases.act(case, action, now=now, actor=actor, expected_version=version, text=text,
                     target_user=target_user)
