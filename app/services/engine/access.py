"""Who may see and do what: role × jurisdiction, decided here and nowhere else."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Select, bindparam, false, or_, select
from sqlalchemy.orm import aliased, joinedload, lazyload, undefer

from app.domain import kinds
from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, OrgUnit, User

STAFF_ROLES = {"operator", "supervisor", "helpdesk", "admin"}
OVERSIGHT_ROLES = {"supervisor", "admin", "monitor"}
# Who has the SUPERVISOR relation over the cases of their office's subtree (and whom an
# escalation to the supervisors reaches: `routing.escalation_supervisors`).
SUPERVISING_ROLES = ("supervisor", "admin")


def subtree_pattern(office: OrgUnit) -> str:
    """The LIKE pattern of the materialized paths in `office`'s subtree (itself included)."""
    return f"{office.path}%"


def in_subtree(unit_path_col, office: OrgUnit):
    """SQL condition: the unit whose path column is given lies in `office`'s subtree."""
    return unit_path_col.like(subtree_pattern(office))


def relations(user: User | None, case: Case) -> set[str]:
    """The user's relations to the case (requester, handler, supervisor)."""
    rel: set[str] = set()
    if user is None or not user.is_authenticated or not user.active:
        return rel
    kind = kinds.get(case.kind)
    # A complaint's requester is the customer (signed link), never the employee who
    # registered it at the counter: otherwise they could accept their own resolution.
    if case.raised_by_id == user.id and kind.raiser_is_requester:
        rel.add(wf.REQUESTER)
    if kind.raising_office_is_requester and case.raising_office_id == user.office_id:
        rel.add(wf.REQUESTER)
    if case.assignee_id == user.id:
        rel.add(wf.HANDLER)
    elif case.current_office_id == user.office_id and user.has_role(*STAFF_ROLES):
        # A request addressed to a named colleague is theirs, not their whole office's.
        if not (kind.addressable and (case.data or {}).get("addressed_to") == "colleague") \
                and not _escalated_complaint_for_operator(user, case):
            rel.add(wf.HANDLER)
    if user.has_role(*SUPERVISING_ROLES) and case.current_office.is_within(user.office):
        rel.add(wf.SUPERVISOR)
    return rel


def _escalated_complaint_for_operator(user: User, case: Case) -> bool:
    """Escalated complaints are handled by supervisors (and up), not by the office's
    operators; a supervisor may still assign one to a named colleague."""
    return (kinds.get(case.kind).escalated_to_supervisors and case.escalation_level > 0
            and not user.has_role("supervisor", "admin"))


def can_view(user: User | None, case: Case) -> bool:
    """Requester, handler, or anyone whose jurisdiction covers where the case is or
    where it came from."""
    if user is None or not user.is_authenticated or not user.active:
        return False
    if relations(user, case):
        return True
    office = user.office
    if case.current_office.is_within(office):
        return True
    if case.raising_office is not None and case.raising_office.is_within(office):
        return True
    return False


def visible_cases(user: User) -> Select:
    """A SELECT of the cases `user` may see (same rule as `can_view`, in SQL)."""
    cur = aliased(OrgUnit)
    raising = aliased(OrgUnit)
    office = user.office
    return (
        select(Case)
        .join(cur, Case.current_office_id == cur.id)
        .outerjoin(raising, Case.raising_office_id == raising.id)
        .where(
            or_(
                Case.raised_by_id == user.id,
                Case.assignee_id == user.id,
                in_subtree(cur.path, office),
                in_subtree(raising.path, office),
            )
        )
    )


def office_queue_scope(office_id: int | None = None):
    """The condition "held by the office": with `office_id` None, the office is the bound
    parameter `queue_office`, to be given when a statement built once is executed."""
    if office_id is None:
        return Case.current_office_id == bindparam("queue_office", required=True)
    return Case.current_office_id == office_id


def office_queue(user: User) -> Select:
    """Cases the user's office holds (its working queue)."""
    return select(Case).where(office_queue_scope(user.office_id))


def offices_in_scope(user: User, kinds: tuple[str, ...] | None = None) -> Select:
    q = select(OrgUnit).where(in_subtree(OrgUnit.path, user.office))
    if kinds:
        q = q.where(OrgUnit.kind.in_(kinds))
    return q.order_by(OrgUnit.path)


def office_in_scope(user: User, office: OrgUnit) -> bool:
    return office.is_within(user.office)


@cache
def _case_by_reference() -> Select:
    # The case page shows these (and the access check reads the offices): one statement,
    # built once (building it cost more than running it).
    return (select(Case).where(Case.reference == bindparam("reference"))
            .options(joinedload(Case.current_office), joinedload(Case.raising_office),
                     joinedload(Case.category), joinedload(Case.assignee).lazyload(User.role_rows),
                     undefer(Case.pincode_office)))


def may_raise(user: User | None, kind) -> bool:
    """May `user` raise a case of `kind` (a `CaseKind`) on the generic raise page? Only an
    active employee with an office, and, when the kind names one, whom its `may_raise`
    function admits (a kind's own door checks its own rules)."""
    if user is None or not user.is_authenticated or not user.active or user.office_id is None:
        return False
    if not kind.may_raise:
        return True
    from importlib import import_module

    module, _sep, function = kind.may_raise.partition(":")
    return bool(getattr(import_module(module), function)(user))


def get_case_for(user: User, reference: str, kind: str | None = None) -> Case | None:
    """The case with `reference` (of `kind`, when given) if `user` may see it; None
    otherwise (the caller answers 404 either way, so existence is never revealed)."""
    case = db.session.scalar(_case_by_reference(), {"reference": reference})
    if case is None or (kind is not None and case.kind != kind) or not can_view(user, case):
        return None
    return case


def sees_internal(user: User | None, case: Case) -> bool:
    """Internal notes are for the handling side: handlers, supervisors, and offices
    whose jurisdiction covers the case — never for a requester as such (the raising
    Sub Office sees public replies only)."""
    if user is None or not user.is_authenticated:
        return False
    rel = relations(user, case)
    if rel & {wf.HANDLER, wf.SUPERVISOR}:
        return True
    if case.current_office.is_within(user.office):
        return True
    raising = case.raising_office
    if kinds.get(case.kind).raising_office_is_requester and user.office.kind in TICKET_RAISING_KINDS:
        # A Head Office is on the raising side of its Sub Offices' tickets.
        return False
    return bool(raising is not None and raising.id != user.office_id and raising.is_within(user.office)
                and user.office_id != raising.id)


# ---- office tickets (seed 000) -------------------------------------------------------

TICKET_RAISING_KINDS = frozenset({"sub_office", "head_office"})
TICKET_LEVEL_KINDS = ("division", "region", "circle", "cept")


def can_raise_ticket(user: User | None) -> bool:
    """Sub Office and Head Office logins raise office tickets."""
    return bool(user is not None and user.is_authenticated and user.active
                and user.office.kind in TICKET_RAISING_KINDS)


def handles_tickets(user: User | None) -> bool:
    """Staff of a Division, Region, Circle or CEPT work the ticket queue of their level."""
    return bool(user is not None and user.is_authenticated and user.active
                and user.office.kind in TICKET_LEVEL_KINDS and user.has_role(*STAFF_ROLES))


def ticket_queue(user: User) -> Select:
    """Office tickets held by the user's office (what reached this level)."""
    return select(Case).where(Case.kind == wf.OFFICE_TICKET, Case.current_office_id == user.office_id)


def tickets_in_jurisdiction(user: User) -> Select:
    """Office tickets the user may see: held within, or raised within, their subtree."""
    return visible_cases(user).where(Case.kind == wf.OFFICE_TICKET)


def tickets_raised_by_office(user: User) -> Select:
    """The tickets the user's office raised ("My tickets")."""
    return select(Case).where(Case.kind == wf.OFFICE_TICKET, Case.raising_office_id == user.office_id)


def transfer_targets(case: Case) -> Select:
    """Offices a case may be transferred to: active, not external, not where it is."""
    return (select(OrgUnit)
            .where(OrgUnit.active.is_(True), OrgUnit.kind != "external",
                   OrgUnit.id != case.current_office_id)
            .order_by(OrgUnit.path))


def external_authorities() -> Select:
    return select(OrgUnit).where(OrgUnit.kind == "external", OrgUnit.active.is_(True)).order_by(
        OrgUnit.name)


def colleagues(case: Case) -> Select:
    """Active users of the office holding `case` (whom it may be assigned to), by name.
    Their roles are not loaded: the choice lists show names."""
    return (select(User)
            .where(User.office_id == case.current_office_id, User.active.is_(True))
            .options(lazyload(User.role_rows))
            .order_by(User.name))


def handler_queue(user: User, kind: str, include_closed: bool = True) -> Select:
    """Cases of `kind` the user handles (the "cartable", a helpdesk team's queue): assigned
    to them, or held by their office — except interactions addressed to another named
    colleague (the same rule as `relations` gives HANDLER). Closed ones too, unless not
    `include_closed`."""
    addressed = Case.data["addressed_to"].as_string()
    office_side = (Case.current_office_id == user.office_id)
    if kinds.get(kind).addressable:
        office_side = office_side & or_(addressed.is_(None), addressed != "colleague")
    if not user.has_role(*STAFF_ROLES):
        office_side = false()
    q = select(Case).where(Case.kind == kind, or_(Case.assignee_id == user.id, office_side))
    return q if include_closed else q.where(Case.status != wf.CLOSED)


def raised_by_user(user: User, kind: str) -> Select:
    """Cases of `kind` the user raised themself (their "My interactions")."""
    return select(Case).where(Case.kind == kind, Case.raised_by_id == user.id)


def raised_by_office(user: User, kind: str) -> Select:
    """Cases of `kind` raised from the user's office (a helpdesk desk's log)."""
    return select(Case).where(Case.kind == kind, Case.raising_office_id == user.office_id)


# ---- jurisdiction scoping (complaint processing, reports, reviews) ---------------

def has_subtree_scope(user: User) -> bool:
    """Supervisors (and admins, monitors) oversee their office and its subtree;
    operators work on their own office only."""
    return user.has_role(*OVERSIGHT_ROLES)


def jurisdiction_filter(user: User):
    """SQL condition on `Case`: held in the user's jurisdiction (operators: their office;
    supervisors, admins, monitors: their office and its subtree; others: nothing)."""
    if has_subtree_scope(user):
        return Case.current_office_id.in_(
            select(OrgUnit.id).where(in_subtree(OrgUnit.path, user.office)))
    if user.has_role(*STAFF_ROLES):
        return Case.current_office_id == user.office_id
    return false()


def in_jurisdiction(user: User | None, case: Case) -> bool:
    """`jurisdiction_filter` for one case, in Python."""
    if user is None or not user.is_authenticated or not user.active:
        return False
    if has_subtree_scope(user):
        return case.current_office.is_within(user.office)
    return user.has_role(*STAFF_ROLES) and case.current_office_id == user.office_id


def jurisdiction_offices(user: User) -> Select:
    """Offices whose cases the user may count in reports (same rule, as offices)."""
    if has_subtree_scope(user):
        return select(OrgUnit.id).where(in_subtree(OrgUnit.path, user.office))
    return select(OrgUnit.id).where(OrgUnit.id == user.office_id)


# ---- doorstep service requests (seed 001) -------------------------------------------

MONITORING_LEVELS = ("region", "circle", "cept")


def handles_doorstep(user: User | None) -> bool:
    """A Division's staff: they work their Division's doorstep requests."""
    return bool(user is not None and user.is_authenticated and user.office.kind == "division")


def monitors_doorstep(user: User | None) -> bool:
    """Region, Circle and CEPT users watch the doorstep requests of their subtree (read-only)."""
    return bool(user is not None and user.is_authenticated and user.office.kind in MONITORING_LEVELS)


# ---- the monitoring dashboard ---------------------------------------------------------

def dashboard_kinds(user: User | None) -> tuple[str, ...] | None:
    """The kinds of case `user` may watch on the monitoring dashboard: None for every kind
    (the oversight roles), else the kinds whose registry entry lets the user's office level
    watch them (`CaseKind.watched_from`: doorstep requests for any Region, Circle or CEPT
    employee, seed 001) — empty: no dashboard. Reads only the roles and the office kind."""
    if user is None or not user.is_authenticated:
        return ()
    if user.has_role(*OVERSIGHT_ROLES):
        return None
    return tuple(k.code for k in kinds.all() if user.office.kind in k.watched_from)


def may_monitor(user: User | None) -> bool:
    """Whether `user` may open the monitoring dashboard (for every kind or some)."""
    return dashboard_kinds(user) != ()


# ---- administration ---------------------------------------------------------------
# An administrator manages the subtree of their own office: a CEPT admin everything, a
# circle admin only their circle. Reference data shared by the whole country (taxonomies,
# SLA matrix, holidays, templates, external authorities, outbox) is national-only.

def is_admin(user: User | None) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.active
                and user.has_role("admin"))


def is_national_admin(user: User | None) -> bool:
    """An administrator at the root of the office tree (CEPT)."""
    return is_admin(user) and user.office.parent_id is None


def can_administer(user: User | None, office: OrgUnit | None) -> bool:
    """True if `user` is an administrator whose jurisdiction covers `office`."""
    return is_admin(user) and office is not None and office.is_within(user.office)


def can_administer_user(admin: User | None, target: User | None) -> bool:
    """An administrator may manage employees of offices in their own subtree."""
    return target is not None and can_administer(admin, target.office)


def administered_offices(user: User) -> Select:
    """Offices an administrator may manage (their subtree), in tree order."""
    return select(OrgUnit).where(in_subtree(OrgUnit.path, user.office)).order_by(OrgUnit.path)


def administered_users(user: User) -> Select:
    """Employees an administrator may manage."""
    return (select(User).join(OrgUnit, User.office_id == OrgUnit.id)
            .where(in_subtree(OrgUnit.path, user.office)))


# ---- partner systems (API keys scoped to an office subtree) -------------------------

def partner_filter(office: OrgUnit):
    """SQL condition on `Case`: held in `office`'s subtree, or pending at an external
    authority inside it (an external authority's key sees the complaints referred to it)."""
    subtree = select(OrgUnit.id).where(in_subtree(OrgUnit.path, office))
    return or_(Case.current_office_id.in_(subtree), Case.external_office_id.in_(subtree))


def partner_can_view(office: OrgUnit, case: Case) -> bool:
    """`partner_filter` for one case, in Python."""
    if case.current_office.is_within(office):
        return True
    return case.external_office is not None and case.external_office.is_within(office)
