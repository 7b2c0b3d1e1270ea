"""Where a case goes: its first office and the next level on escalation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.domain import workflow as wf
from app.extensions import db
from app.models import HIERARCHY, OrgUnit, PincodeEntry
from app.services.memo import per_request


def pincode_entry(pincode: str) -> PincodeEntry | None:
    """The directory entry of `pincode` with its Division, read once per request."""
    return per_request(("pincode", pincode), lambda: db.session.scalar(
        select(PincodeEntry).where(PincodeEntry.pincode == pincode)
        .options(joinedload(PincodeEntry.division))))


def division_for_pincode(pincode: str) -> OrgUnit | None:
    entry = pincode_entry(pincode)
    return entry.division if entry else None


def parent_in_chain(office: OrgUnit) -> OrgUnit | None:
    """The next office up the postal chain (skips departments and teams)."""
    for unit in reversed(office.ancestors()):
        if unit.kind in {k.value for k in HIERARCHY}:
            return unit
    return None


def escalation_target(case) -> OrgUnit | None:
    """Office tickets climb one level each time (Division → Region → Circle → CEPT).
    Complaints and helpdesk cases first go to the supervisors of the holding office
    (level 1, same office) and climb one level on each further escalation."""
    office = case.current_office
    if case.kind == wf.OFFICE_TICKET:
        return parent_in_chain(office)
    if case.escalation_level == 0:
        return office
    return parent_in_chain(office) or office
