"""Reference data administration: taxonomies (Category), the pincode directory with CSV
import, the SLA matrix and the holiday calendar. Every change is audited."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.domain import kinds
from app.extensions import db
from app.inputs import search_text
from app.models import Category, Holiday, OrgUnit, PincodeEntry, SlaRule, User
from app.services.administration.admin_common import (
    AdminError,
    ImportReport,
    OutOfScope,
    check_length,
    finish_import,
    read_csv,
)
from app.services.engine import access
from app.services.infrastructure import audit

PRIORITIES = ("P1", "P2", "P3", "P4")
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,39}$")
PIN_RE = re.compile(r"[1-9][0-9]{5}")  # ASCII digits only: "\d" also matches १२३



class _Levels(Mapping):
    """kind -> levels allowed, and the parent level each level needs (None: top level):
    each kind's `CaseKind.catalog` (app/domain/kinds.py), for the kinds that have one."""

    def __getitem__(self, kind):
        found = kinds.find(kind)
        if found is None or not found.catalog:
            raise KeyError(kind)
        return found.catalog

    def __iter__(self):
        return iter([k.code for k in kinds.all() if k.catalog])

    def __len__(self):
        return len(list(iter(self)))


LEVELS = _Levels()


def _national(admin: User) -> None:
    if not access.is_national_admin(admin):
        raise AdminError(_l("Only a national administrator may change this."), status=403)


# ---- taxonomies -----------------------------------------------------------------

def categories(kind: str | None = None, text: str | None = None):
    q = select(Category)
    if kind:
        q = q.where(Category.kind == kind)
    text = search_text(text)
    if text:
        like = f"%{text}%"
        q = q.where(or_(Category.code.ilike(like), Category.name_en.ilike(like),
                        Category.name_hi.ilike(like), Category.name_fa.ilike(like)))
    return q.order_by(Category.kind, Category.code, Category.sort_order)


def save_category(admin: User, cat: Category | None, *, kind: str, level: str, code: str,
                  parent_id: int | None, department_id: int | None, route_to_id: int | None,
                  name_en: str, name_hi: str, name_fa: str, active: bool, sort_order: int,
                  now: datetime) -> Category:
    """Create (cat None) or update a taxonomy row after checking its place in the tree."""
    _national(admin)
    if kind not in LEVELS:
        raise AdminError(_l("Choose a valid kind."))
    if level not in LEVELS[kind]:
        raise AdminError(_l("This level is not used for this kind."), field="level")
    code = (code or "").strip().lower()
    if not CODE_RE.match(code):
        raise AdminError(_l("The code must be lower-case letters, digits, dots, dashes or underscores."))
    dup = select(Category.id).where(Category.kind == kind, Category.code == code)
    if cat is not None:
        dup = dup.where(Category.id != cat.id)
    if db.session.scalar(dup) is not None:
        raise AdminError(_l("This code is already used for this kind."))
    if not (name_en or "").strip():
        raise AdminError(_l("The English name is required."), field="name_en")
    need = LEVELS[kind][level]
    parent = db.session.get(Category, parent_id) if parent_id else None
    if need is None and parent is not None:
        raise AdminError(_l("A top-level entry has no parent."), field="parent_id")
    if need is not None and (parent is None or parent.kind != kind or parent.level != need):
        raise AdminError(_l("Choose a parent of the level above (%(level)s).", level=need), field="parent_id")
    if cat is not None and parent is not None and parent.id == cat.id:
        raise AdminError(_l("An entry cannot be its own parent."), field="parent_id")
    department = db.session.get(OrgUnit, department_id) if department_id else None
    if kinds.get(kind).category_department and (department is None or department.kind != "department"):
        raise AdminError(_l("Choose the department this subject belongs to."), field="department_id")
    route_to = db.session.get(OrgUnit, route_to_id) if route_to_id else None
    if route_to is not None and route_to.kind not in ("team", "department"):
        raise AdminError(_l("Helpdesk cases can only be routed to a team or department."), field="route_to_id")
    creating = cat is None
    if creating:
        cat = Category(kind=kind)
        db.session.add(cat)
    cat.kind, cat.level, cat.code = kind, level, code
    cat.parent_id = parent.id if parent else None
    cat.department_id = department.id if department else None
    cat.route_to_id = route_to.id if (route_to and kinds.get(kind).category_routes) else None
    cat.name_en, cat.name_hi, cat.name_fa = name_en.strip(), (name_hi or "").strip(), (name_fa or "").strip()
    cat.active = bool(active)
    cat.sort_order = int(sort_order or 0)
    audit.record("admin.category.create" if creating else "admin.category.update", actor=admin,
                 target=f"category:{kind}:{code}", detail=f"active={cat.active}", now=now)
    db.session.commit()
    return cat


# ---- pincode directory ----------------------------------------------------------

def pincodes(admin: User, text: str | None = None):
    """Pincodes served by divisions in the administrator's jurisdiction."""
    q = (select(PincodeEntry).join(OrgUnit, PincodeEntry.division_id == OrgUnit.id)
         .where(access.in_subtree(OrgUnit.path, admin.office)))
    text = search_text(text)
    if text:
        like = f"%{text}%"
        q = q.where(or_(PincodeEntry.pincode.like(like), PincodeEntry.office_name.ilike(like),
                        PincodeEntry.district.ilike(like), OrgUnit.code.ilike(like)))
    return q.order_by(PincodeEntry.pincode)


def get_pincode_for(admin: User, entry_id: int) -> PincodeEntry:
    entry = db.session.get(PincodeEntry, entry_id)
    if entry is None or not access.can_administer(admin, entry.division):
        raise OutOfScope()
    return entry


def _division(admin: User, code: str) -> OrgUnit:
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == (code or "").strip().upper()))
    if unit is None or unit.kind != "division":
        raise AdminError(_l("Unknown division code."), field="division_code")
    if not access.can_administer(admin, unit):
        raise AdminError(_l("The division is not in your jurisdiction."), field="division_code")
    return unit


def _apply_pincode(admin: User, entry: PincodeEntry | None, pincode: str, office_name: str,
                   district: str, state: str, division_code: str) -> tuple[PincodeEntry, bool]:
    pincode = (pincode or "").strip()
    if not PIN_RE.fullmatch(pincode):
        raise AdminError(_l("A pincode has six digits and does not start with 0."), field="pincode")
    if not (office_name or "").strip():
        raise AdminError(_l("The post office name is required."), field="office_name")
    check_length((office_name or "").strip(), 120, "office_name")
    check_length((district or "").strip(), 80, "district")
    check_length((state or "").strip(), 80, "state")
    division = _division(admin, division_code)
    existing = db.session.scalar(select(PincodeEntry).where(PincodeEntry.pincode == pincode))
    if entry is None:
        entry = existing
    elif existing is not None and existing.id != entry.id:
        raise AdminError(_l("This pincode is already in the directory."))
    created = entry is None
    if entry is not None and not access.can_administer(admin, entry.division):
        raise AdminError(_l("This pincode belongs to a division outside your jurisdiction."))
    if created:
        entry = PincodeEntry(pincode=pincode)
        db.session.add(entry)
    entry.pincode = pincode
    entry.office_name = office_name.strip()
    entry.district = (district or "").strip()
    entry.state = (state or "").strip()
    entry.division_id = division.id
    entry.division = division
    return entry, created


def save_pincode(admin: User, entry: PincodeEntry | None, *, pincode: str, office_name: str,
                 district: str, state: str, division_code: str, now: datetime) -> PincodeEntry:
    """Add or edit one directory row (the division must be in scope)."""
    if entry is not None and not access.can_administer(admin, entry.division):
        raise OutOfScope()
    entry, created = _apply_pincode(admin, entry, pincode, office_name, district, state, division_code)
    audit.record("admin.pincode.create" if created else "admin.pincode.update", actor=admin,
                 target=f"pincode:{entry.pincode}", detail=f"division {entry.division.code}", now=now)
    db.session.commit()
    return entry


PINCODE_COLUMNS = ("pincode", "office_name", "district", "state", "division_code")


def import_pincodes(admin: User, data: bytes | str, *, dry_run: bool, now: datetime) -> ImportReport:
    """Add or update directory rows from CSV; any error and nothing is written."""
    report = ImportReport(dry_run=dry_run)
    rows, errors = read_csv(data, PINCODE_COLUMNS)
    report.errors.extend(errors)
    report.rows = len(rows)
    if errors:
        return report
    seen: set[str] = set()
    try:
        for n, row in enumerate(rows, start=2):
            try:
                if row.get("pincode") in seen:
                    raise AdminError(_l("This pincode appears twice in the file."))
                seen.add(row.get("pincode", ""))
                with db.session.no_autoflush:
                    _entry, created = _apply_pincode(admin, None, row.get("pincode", ""),
                                                     row.get("office_name", ""), row.get("district", ""),
                                                     row.get("state", ""), row.get("division_code", ""))
                if created:
                    report.created += 1
                else:
                    report.updated += 1
            except AdminError as exc:
                report.errors.append((n, str(exc.message)))
        return finish_import(report, dry_run=dry_run, admin=admin, action="admin.pincode.import",
                             target="pincodes", detail=f"{report.created} added, {report.updated} updated", now=now)
    except Exception:
        db.session.rollback()
        raise


# ---- SLA matrix and holidays ----------------------------------------------------

def sla_matrix() -> dict[tuple[str, str], SlaRule]:
    return {(r.kind, r.priority): r for r in db.session.scalars(select(SlaRule))}


def save_sla(admin: User, values: dict[tuple[str, str], tuple[int, int]], now: datetime) -> int:
    """Write the whole matrix: {(kind, priority): (response_days, resolution_days)}.
    Returns how many cells changed."""
    _national(admin)
    current = sla_matrix()
    changed = []
    for (kind, prio), (resp, res) in values.items():
        if kinds.find(kind) is None or prio not in PRIORITIES:
            raise AdminError(_l("Unknown kind or priority."))
        if not (0 <= resp <= 365 and 0 <= res <= 365):
            raise AdminError(_l("Days must be between 0 and 365."))
        if resp > res:
            raise AdminError(_l("The response time cannot be longer than the resolution time."))
        rule = current.get((kind, prio))
        if rule is None:
            rule = SlaRule(kind=kind, priority=prio, response_days=resp, resolution_days=res)
            db.session.add(rule)
        elif (rule.response_days, rule.resolution_days) == (resp, res):
            continue
        else:
            rule.response_days, rule.resolution_days = resp, res
        changed.append(f"{kind}/{prio}={resp}/{res}")
    if changed:
        audit.record("admin.sla.update", actor=admin, target="sla", detail="; ".join(changed), now=now)
    db.session.commit()
    return len(changed)


def holidays(year: int | None = None):
    q = select(Holiday)
    if year:
        q = q.where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
    return q.order_by(Holiday.day)


def add_holiday(admin: User, day: date, name: str, now: datetime) -> Holiday:
    _national(admin)
    if not (name or "").strip():
        raise AdminError(_l("A name is required."))
    if db.session.scalar(select(Holiday.id).where(Holiday.day == day)) is not None:
        raise AdminError(_l("This day is already a holiday."))
    row = Holiday(day=day, name=name.strip())
    db.session.add(row)
    audit.record("admin.holiday.add", actor=admin, target=f"holiday:{day.isoformat()}", detail=name, now=now)
    db.session.commit()
    return row


def remove_holiday(admin: User, holiday: Holiday, now: datetime) -> None:
    _national(admin)
    audit.record("admin.holiday.remove", actor=admin, target=f"holiday:{holiday.day.isoformat()}",
                 detail=holiday.name, now=now)
    db.session.delete(holiday)
    db.session.commit()


def load_national(admin: User, year: int, now: datetime) -> int:
    """Fill the year from the `holidays` package (existing days are kept)."""
    from app.services.engine import sla

    _national(admin)
    if not 2000 <= year <= 2100:
        raise AdminError(_l("Choose a year between 2000 and 2100."))
    added = sla.load_national_holidays([year])
    audit.record("admin.holiday.load", actor=admin, target=f"holidays:{year}",
                 detail=f"{added} added", now=now, commit=True)
    return added
