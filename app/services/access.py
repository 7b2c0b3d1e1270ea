"""Who may see and do what: role × jurisdiction, decided here and nowhere else."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased

from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, OrgUnit, User

STAFF_ROLES = {"operator", "supervisor", "helpdesk", "admin"}
OVERSIGHT_ROLES = {"supervisor", "admin", "monitor"}


def in_subtree(unit_path_col, office: OrgUnit):
    """SQL condition: the unit whose path column is given lies in `office`'s subtree."""
    return unit_path_col.like(f"{office.path}%")


def relations(user: User | None, case: Case) -> set[str]:
    """The user's relations to the case (requester, handler, supervisor)."""
    rel: set[str] = set()
    if user is None or not user.is_authenticated or not user.active:
        return rel
    if case.raised_by_id == user.id:
        rel.add(wf.REQUESTER)
    if case.kind == wf.OFFICE_TICKET and case.raising_office_id == user.office_id:
        rel.add(wf.REQUESTER)
    if case.assignee_id == user.id:
        rel.add(wf.HANDLER)
    elif case.current_office_id == user.office_id and user.has_role(*STAFF_ROLES):
        # A request addressed to a named colleague is theirs, not their whole office's.
        if not (case.kind == wf.INTERACTION and (case.data or {}).get("addressed_to") == "colleague"):
            rel.add(wf.HANDLER)
    if user.has_role("supervisor", "admin") and case.current_office.is_within(user.office):
        rel.add(wf.SUPERVISOR)
    return rel


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


def office_queue(user: User) -> Select:
    """Cases the user's office holds (its working queue)."""
    q = select(Case).where(Case.current_office_id == user.office_id)
    return q


def offices_in_scope(user: User, kinds: tuple[str, ...] | None = None) -> Select:
    q = select(OrgUnit).where(in_subtree(OrgUnit.path, user.office))
    if kinds:
        q = q.where(OrgUnit.kind.in_(kinds))
    return q.order_by(OrgUnit.path)


def office_in_scope(user: User, office: OrgUnit) -> bool:
    return office.is_within(user.office)


def get_case_for(user: User, reference: str) -> Case | None:
    """The case with `reference` if `user` may see it; None otherwise (the caller answers
    404 either way, so existence is never revealed)."""
    case = db.session.scalar(select(Case).where(Case.reference == reference))
    if case is None or not can_view(user, case):
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
    return bool(raising is not None and raising.id != user.office_id and raising.is_within(user.office)
                and user.office_id != raising.id)


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
    return (select(User)
            .where(User.office_id == case.current_office_id, User.active.is_(True))
            .order_by(User.name))


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
