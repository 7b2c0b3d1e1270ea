"""Where a case goes: its first office and the next level on escalation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from app.domain import kinds
from app.extensions import db
from app.models import HIERARCHY, OrgUnit, PincodeEntry, User
from app.models.org import UserRole
from app.services.engine import access
from app.services.read_models import memo, refcache

_CHAIN = frozenset(k.value for k in HIERARCHY)


@dataclass(frozen=True, slots=True)
class OfficeInfo:
    """An office as cached across requests: a read-only snapshot of its columns."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    path: str
    depth: int
    active: bool


@dataclass(frozen=True, slots=True)
class PincodeInfo:
    """A pincode's directory entry with its Division, as cached across requests."""

    id: int
    pincode: str
    office_name: str
    district: str
    state: str
    division_id: int
    office_id: int | None
    division: OfficeInfo | None


_OFFICE_COLUMNS = tuple(f.name for f in fields(OfficeInfo))


def _office_info(unit: OrgUnit | None) -> OfficeInfo | None:
    return OfficeInfo(*(getattr(unit, c) for c in _OFFICE_COLUMNS)) if unit is not None else None


def pincode_entry(pincode: str) -> PincodeInfo | None:
    """The directory entry of `pincode` with its Division, kept per process until the
    reference data changes (`refcache`); None for a pincode not in the directory."""
    def compute():
        entry = db.session.scalar(select(PincodeEntry).where(PincodeEntry.pincode == pincode)
                                  .options(joinedload(PincodeEntry.division)))
        if entry is None:
            return None
        return PincodeInfo(entry.id, entry.pincode, entry.office_name, entry.district or "",
                           entry.state or "", entry.division_id, entry.office_id,
                           _office_info(entry.division))

    return refcache.cached(("pincode", pincode), compute)


def attached_office(info: OfficeInfo) -> OrgUnit:
    """The session's `OrgUnit` for a cached office, without a query: the one the session
    already holds, else one made from the snapshot and added as if just loaded."""
    session = db.session()
    unit = session.identity_map.get(identity_key(OrgUnit, info.id))
    if unit is None:
        unit = OrgUnit(**{c: getattr(info, c) for c in _OFFICE_COLUMNS})
        make_transient_to_detached(unit)
        session.add(unit)
    return unit


def division_for_pincode(pincode: str) -> OrgUnit | None:
    entry = pincode_entry(pincode)
    return attached_office(entry.division) if entry is not None and entry.division is not None else None


def _nearest_in_chain(ancestors: list[OrgUnit]) -> OrgUnit | None:
    for unit in reversed(ancestors):
        if unit.kind in _CHAIN:
            return unit
    return None


def parent_in_chain(office: OrgUnit) -> OrgUnit | None:
    """The next office up the postal chain (skips departments and teams)."""
    return _nearest_in_chain(office.ancestors())


def parents_in_chain(offices: Iterable[OrgUnit]) -> dict[int, OrgUnit | None]:
    """`parent_in_chain` of each of `offices` ({office id: parent or None}), with one
    query for all their ancestors (the sweep's set-based escalations)."""
    offices = list(offices)
    ids = {i for office in offices for i in office.ancestor_ids()}
    by_id = ({o.id: o for o in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
             if ids else {})
    return {office.id: _nearest_in_chain([by_id[i] for i in office.ancestor_ids() if i in by_id])
            for office in offices}


@dataclass(frozen=True, slots=True)
class Supervisor:
    """A person a level-1 escalation reaches."""

    id: int
    email: str | None
    locale: str


def supervisors_of(office_ids: Iterable[int]) -> dict[int, tuple[Supervisor, ...]]:
    """{office id: its active users with a supervising role (`access.SUPERVISING_ROLES`)},
    with one query for all of `office_ids`; within a `memo.batch()` (a sweep batch)
    read once per set of offices."""
    wanted = tuple(sorted(set(office_ids)))
    if not wanted:
        return {}

    def compute():
        rows = db.session.execute(
            select(User.office_id, User.id, User.email, User.locale)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.office_id.in_(wanted), User.active.is_(True),
                   UserRole.role.in_(access.SUPERVISING_ROLES))
            .order_by(User.id)).all()
        found: dict[int, dict[int, Supervisor]] = {}
        for office_id, user_id, email, locale in rows:
            found.setdefault(office_id, {})[user_id] = Supervisor(user_id, email, locale or "en")
        return {office_id: tuple(people.values()) for office_id, people in found.items()}

    return memo.per_batch(("routing.supervisors", wanted), compute)


def _chain_up(office) -> list[int]:
    """The office and its ancestors, nearest first."""
    return [office.id, *reversed(office.ancestor_ids())]


def escalation_supervisors(office, exclude=(), supervisors: dict | None = None) -> tuple[Supervisor, ...]:
    """Whom an escalation to "the supervisors" (level 1) reaches: the supervisors of
    `office`, the one holding the case; when it has none (a helpdesk team of members
    only), those of the nearest office above it that has some — their jurisdiction
    covers the case, so they can act on it where it is. Never the people in `exclude`
    (who already had it: its assignee, the one escalating): the escalation must reach
    someone new. Empty when nobody qualifies.

    `supervisors` ({office id: supervisors}, from `supervisors_of`) saves the query per
    case when a batch of cases is escalated at once."""
    chain = _chain_up(office)
    table = supervisors if supervisors is not None else supervisors_of(chain)
    exclude = {i for i in exclude if i is not None}
    for office_id in chain:
        found = tuple(s for s in table.get(office_id, ()) if s.id not in exclude)
        if found:
            return found
    return ()


def escalation_exclude(case, actor=None) -> set[int]:
    """The people an escalation of `case` must reach beyond: who had it."""
    return {i for i in (case.assignee_id, getattr(actor, "id", None)) if i is not None}


def escalation_target(case, parents: dict[int, OrgUnit | None] | None = None,
                      supervisors: dict | None = None, exclude=()) -> OrgUnit | None:
    """By the kind's `CaseKind.routing`. CLIMB (office tickets): one level each time
    (Division → Region → Circle → CEPT). PATH (helpdesk, seed 002): the ticket stays with
    the team holding it and its supervisors are told, each time (the way from L1 to the
    team is `helpdesk_path`); up the chain only when nobody supervises it. The others (complaints, helpdesk cases) first go to the supervisors (level 1): the case stays
    in the holding office and `escalation_supervisors` are told — the office's own, or
    when it has none those of the nearest office above it. With no supervisor to reach
    (beyond the people in `exclude`), level 1 is the next level up the chain instead.
    Each further escalation climbs one level; at the top the case stays.

    `parents` ({office id: `parent_in_chain`}, from `parents_in_chain`) and
    `supervisors` (from `supervisors_of`) save the queries per case when a batch of
    cases is escalated at once."""
    office = case.current_office

    def parent() -> OrgUnit | None:
        return parents[office.id] if parents is not None else parent_in_chain(office)

    routing = kinds.get(case.kind).routing
    if routing == kinds.CLIMB:
        return parent()
    if routing == kinds.PATH:
        # Seed 002: a helpdesk ticket follows its escalation path (`helpdesk_path`), not
        # the office tree. Escalated again at the team, it stays there and the team's
        # supervisors (or those above it) are told, each time; only with no supervisor
        # to reach at all does it go one level up, so that somebody new gets it.
        if escalation_supervisors(office, exclude, supervisors):
            return office
        return parent() or office
    if case.escalation_level == 0:
        if escalation_supervisors(office, exclude, supervisors):
            return office
        return parent()
    return parent() or office


def helpdesk_path(case) -> OrgUnit | None:
    """The team a helpdesk ticket goes to when L1 cannot resolve it (seed 002: functional
    → Master Trainers, technical/infrastructure → the technical team, technical/application
    and bugs and enhancements → the vendor team): the escalation path of its category,
    set in the admin area (Categories). None when the category names none or the team
    is inactive."""
    from app.models import Category

    category = db.session.get(Category, case.category_id) if case.category_id else None
    if category is None or not category.route_to_id:
        return None
    team = db.session.get(OrgUnit, category.route_to_id)
    return team if team is not None and team.active and team.id != case.current_office_id else None
