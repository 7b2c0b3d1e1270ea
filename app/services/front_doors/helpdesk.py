"""The helpdesk desk (seed 002). L1 operators log a caller's issue (or it arrives by
e-mail, `app.services.front_doors.mail_intake`), diagnose and classify it, set its priority, and try
to resolve it themselves: the ticket stays with the desk (L1) until L1 closes it with
the fix — "resolved at first contact" — or escalates it. Escalation follows the path of
the ticket's category (functional → Master Trainers, technical/infrastructure → the
technical team, technical/application and bugs and enhancements → the vendor team — the
`route_to` column of the helpdesk categories, edited in the admin area), and the
receiving team's SLA clock starts when the ticket reaches it. Due times come from the
SLA matrix in business days with the holiday calendar; the scheduler forwards a ticket
L1 leaves past its due time along its path, and tells a team's supervisors when the team
does (`app.services.engine.timers`). Every change goes through `app.services.engine.cases`."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from app.domain import sla as domain_sla
from app.domain import workflow as wf
from app.domain.errors import BadTarget
from app.extensions import db
from app.models import Case, CaseEvent, Category, OrgUnit, User
from app.services.engine import access, cases, routing, sla

KIND = wf.HELPDESK

CHANNELS = ("phone", "email", "walk_in")
CLASSIFICATIONS = ("problem", "incident", "change_request", "bug_fix")
PRIORITIES = ("P1", "P2", "P3", "P4")


def categories() -> list[Category]:
    """Helpdesk categories (each names the team it routes to)."""
    return list(db.session.scalars(
        select(Category).where(Category.kind == wf.HELPDESK, Category.active.is_(True))
        .order_by(Category.sort_order, Category.id)))


def log_call(actor: User, *, category: Category, classification: str, priority: str,
             channel: str, caller: dict, subject: str, description: str, diagnosis: str,
             now: datetime, submission_key: str | None = None, fix: str = "") -> Case:
    """Log a caller's issue with the desk (L1): it stays in the desk's queue until L1
    resolves or escalates it. The caller (name, mobile, e-mail) is the requester: they
    receive the ticket id and every reply. With `fix` (solved on the call) the ticket is
    closed at once as resolved at first contact, the fix sent to the caller."""
    if category.kind != wf.HELPDESK:
        raise BadTarget(field="category")
    if classification not in CLASSIFICATIONS or priority not in PRIORITIES or channel not in CHANNELS:
        raise BadTarget(field="classification")
    case = cases.raise_case(
        wf.HELPDESK, office=actor.office, now=now, actor=actor, category=category, priority=priority,
        channel=channel, classification=classification, subject=subject, description=description,
        requester={k: v for k, v in caller.items() if v},
        data={"diagnosis": (diagnosis or "").strip()},
        submission_key=submission_key)
    fix = (fix or "").strip()
    if fix and case.status != wf.CLOSED and wf.WITH_DESK in wf.facts_of(case):
        cases.act(case, "close", now=now, actor=actor, text=fix)
    return case


def with_desk(case: Case) -> bool:
    """Is the ticket still with the desk that logged it (L1)?"""
    return wf.WITH_DESK in wf.facts_of(case)


def path_of(case: Case) -> OrgUnit | None:
    """The team the ticket goes to if L1 escalates it now."""
    return routing.helpdesk_path(case)


def classification_data(category_id, classification, priority) -> dict:
    """The `classify` action's input checked: an active helpdesk category (its escalation
    path), a classification and a priority of the lists. Raises BadTarget naming the
    field that is wrong."""
    category = db.session.get(Category, category_id) if category_id is not None else None
    if category is None or category.kind != wf.HELPDESK or not category.active:
        raise BadTarget(field="category")
    if classification not in CLASSIFICATIONS:
        raise BadTarget(field="classification")
    if priority not in PRIORITIES:
        raise BadTarget(field="priority")
    return {"category_id": category.id, "classification": classification, "priority": priority}


def classify(case: Case, actor: User, now: datetime, *, category: Category | None,
             classification: str | None, priority: str | None, version: int | None = None,
             text: str = ""):
    """L1 sets the ticket's category, classification and priority (all three checked)."""
    data = classification_data(category.id if category is not None else None, classification, priority)
    return cases.act(case, "classify", now=now, actor=actor, expected_version=version, text=text,
                     data=data)


def is_overdue(case: Case, now: datetime | None = None) -> bool:
    """Past the deadline it works to, with its clock running (`app.domain.sla.is_overdue`:
    the one definition the lists, the date they show and the sweep share)."""
    return domain_sla.is_overdue(case, now or datetime.utcnow())


def overdue_condition(now: datetime):
    """SQL form of `is_overdue`."""
    return sla.overdue_condition(now)


def compliance_report(user: User, now: datetime) -> list[dict]:
    """SLA compliance of helpdesk cases by priority and the level that holds them (the
    desk, L1, or the team of the escalation path; one aggregate query, scoped to the
    cases the user may see). Each level has its own clock (`restart_clock`), so a case
    counts for the level it is with. A case is *met* when its first response came by
    the response due time, *breached* when it came late, was flagged by the sweep, or
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
        .join(team, Case.current_office_id == team.id)
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


# Types of timeline row that move a case to another office (a new level).
_MOVES = ("escalate", "sla_escalate", "transfer", "info_timeout_escalate")


def level_report(user: User, now: datetime) -> dict:
    """The desk's figures, over the helpdesk cases the user may see: how many were
    logged, resolved at first contact (closed by L1 without leaving the desk) and
    escalated; and per level (the desk, each team a ticket reached) how many tickets
    reached it, how many are there now, how many it resolved, and the average and
    longest time a ticket spent there (hours, from arrival to leaving or closing, or
    to now while it is there) — read from the timeline."""
    visible = access.visible_cases(user).with_only_columns(Case.id)
    rows = db.session.execute(
        select(Case.id, Case.created_at, Case.closed_at, Case.resolution, Case.current_office_id,
               Case.raising_office_id, Case.status)
        .where(Case.kind == wf.HELPDESK, Case.id.in_(visible))).all()
    by_case = {r.id: r for r in rows}
    moves = defaultdict(list)
    if by_case:
        for case_id, at, to_office in db.session.execute(
                select(CaseEvent.case_id, CaseEvent.at, CaseEvent.to_office_id)
                .join(Case, Case.id == CaseEvent.case_id)
                .where(Case.kind == wf.HELPDESK, Case.id.in_(visible),
                       CaseEvent.type.in_(_MOVES), CaseEvent.to_office_id.is_not(None),
                       CaseEvent.from_office_id != CaseEvent.to_office_id)
                .order_by(CaseEvent.case_id, CaseEvent.id)):
            moves[case_id].append((at, to_office))
    levels: dict[int, dict] = {}
    first_contact = escalated = closed = 0
    for r in rows:
        first = r.raising_office_id or r.current_office_id
        segments = [(r.created_at, first), *moves.get(r.id, [])]
        if len(segments) > 1:
            escalated += 1
        if r.status == wf.CLOSED:
            closed += 1
            if r.resolution == "first_contact":
                first_contact += 1
        end_all = r.closed_at or now
        seen_here = set()
        for i, (start, office_id) in enumerate(segments):
            end = segments[i + 1][0] if i + 1 < len(segments) else end_all
            hours = max((end - start).total_seconds(), 0) / 3600
            lv = levels.setdefault(office_id, {"office_id": office_id, "desk": False, "reached": 0,
                                               "now": 0, "resolved": 0, "hours": 0.0, "longest": 0.0})
            lv["desk"] = lv["desk"] or i == 0
            if office_id not in seen_here:
                lv["reached"] += 1
                seen_here.add(office_id)
            lv["hours"] += hours
            lv["longest"] = max(lv["longest"], hours)
            if i + 1 == len(segments):
                lv["resolved" if r.status == wf.CLOSED else "now"] += 1
    names = dict(db.session.execute(select(OrgUnit.id, OrgUnit.name)
                                    .where(OrgUnit.id.in_(list(levels)))).all()) if levels else {}
    table = []
    for lv in levels.values():
        lv["name"] = names.get(lv["office_id"], "")
        lv["average"] = round(lv["hours"] / lv["reached"], 1) if lv["reached"] else None
        lv["hours"] = round(lv["hours"], 1)
        lv["longest"] = round(lv["longest"], 1)
        table.append(lv)
    table.sort(key=lambda lv: (not lv["desk"], lv["name"]))
    logged = len(rows)
    return {
        "logged": logged, "closed": closed, "first_contact": first_contact, "escalated": escalated,
        "first_contact_rate": round(100.0 * first_contact / logged, 1) if logged else None,
        "levels": table,
    }
