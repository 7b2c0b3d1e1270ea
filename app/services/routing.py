"""Where a case goes: its first office and the next level on escalation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from app.domain import workflow as wf
from app.extensions import db
from app.models import HIERARCHY, OrgUnit, PincodeEntry
from app.services import refcache

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


def escalation_target(case, parents: dict[int, OrgUnit | None] | None = None) -> OrgUnit | None:
    """Office tickets climb one level each time (Division → Region → Circle → CEPT).
    Complaints and helpdesk cases first go to the supervisors of the holding office
    (level 1, same office) and climb one level on each further escalation.

    `parents` ({office id: `parent_in_chain`}, from `parents_in_chain`) saves the query
    per case when a batch of cases is escalated at once."""
    office = case.current_office

    def parent() -> OrgUnit | None:
        return parents[office.id] if parents is not None else parent_in_chain(office)

    if case.kind == wf.OFFICE_TICKET:
        return parent()
    if case.escalation_level == 0:
        return office
    return parent() or office
