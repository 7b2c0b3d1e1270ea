"""Office tree administration: create, rename, move, deactivate, delete (never with
cases), and the bulk CSV import. Every change is audited; each call is one transaction."""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.extensions import db
from app.inputs import search_text
from app.models import HIERARCHY, Case, CaseEvent, Category, OrgUnit, PincodeEntry, User
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

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
CHAIN = [k.value for k in HIERARCHY]
CREATABLE_KINDS = [k for k in CHAIN if k != "cept"] + ["department", "team", "external"]


def normalize_code(code: str) -> str:
    return (code or "").strip().upper()


def search(admin: User, text: str | None = None, kind: str | None = None,
           active: str | None = None):
    """The administrator's offices, filtered (a SELECT, tree order)."""
    q = access.administered_offices(admin)
    text = search_text(text)
    if text:
        like = f"%{text}%"
        q = q.where(or_(OrgUnit.code.ilike(like), OrgUnit.name.ilike(like),  # any of its three names
                        OrgUnit.name_hi.ilike(like), OrgUnit.name_fa.ilike(like)))
    if kind:
        q = q.where(OrgUnit.kind == kind)
    if active in ("1", "0"):
        q = q.where(OrgUnit.active.is_(active == "1"))
    return q


PICKER_LIMIT = 20


def choices(admin: User, text: str | None, selected: OrgUnit | None = None,
            limit: int = PICKER_LIMIT) -> tuple[list[OrgUnit], int]:
    """Offices an employee of `admin`'s may be placed in (active, not external), whose
    code or name holds `text`, in tree order: the first `limit` and how many match.
    `selected` (if the administrator may manage it) comes first, matching or not, so a
    new search does not drop the choice already made."""
    text = (text or "").strip()
    rows, total = [], 0
    if len(text) <= 200:  # longer than any code or name: nothing matches (nor is searched)
        q = search(admin, text, active="1").where(OrgUnit.kind != "external")
        total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
        rows = list(db.session.scalars(q.limit(limit)))
    if selected is not None and access.can_administer(admin, selected) and selected.kind != "external":
        if selected in rows:
            rows.remove(selected)
        rows.insert(0, selected)
    return rows, total


def matches(office: OrgUnit, text: str) -> bool:
    """True if `text` (as typed in a search) finds `office` by code or any of its names."""
    text = (text or "").strip().lower()
    return any(text in (v or "").lower() for v in (office.code, office.name, office.name_hi, office.name_fa))


def by_code(code: str) -> OrgUnit | None:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == normalize_code(code)))


def get_for(admin: User, office_id: int) -> OrgUnit:
    """The office if `admin` may manage it; OutOfScope (404) otherwise."""
    office = db.session.get(OrgUnit, office_id)
    if office is None or not access.can_administer(admin, office):
        raise OutOfScope()
    return office


def check_placement(kind: str, parent: OrgUnit | None) -> None:
    """Raise AdminError if an office of `kind` cannot sit under `parent`."""
    if kind not in CREATABLE_KINDS:
        raise AdminError(_l("Choose a valid kind of office."), field="kind")
    if parent is None:
        raise AdminError(_l("A parent office is required."), field="parent_code")
    if parent.kind == "external":
        raise AdminError(_l("An external authority cannot have offices under it."), field="parent_code")
    if kind == "external" and parent.parent_id is not None:
        raise AdminError(_l("External authorities are kept directly under the top office."), field="parent_code")
    if kind in CHAIN and parent.kind in CHAIN and CHAIN.index(kind) <= CHAIN.index(parent.kind):
        raise AdminError(_l("A %(kind)s cannot be placed under a %(parent)s.",
                            kind=_kind(kind), parent=_kind(parent.kind)), field="parent_code")
    if kind in CHAIN and parent.kind in ("department", "team"):
        raise AdminError(_l("Post offices cannot be placed under a department or team."), field="parent_code")


def _kind(code: str) -> str:
    from app.i18n import office_kind_label

    return office_kind_label(code)


def _parent_in_scope(admin: User, parent: OrgUnit | None) -> None:
    if parent is None or not access.can_administer(admin, parent):
        raise AdminError(_l("The parent office is not in your jurisdiction."), field="parent_code")


def _check_code(code: str, exclude_id: int | None = None) -> str:
    code = normalize_code(code)
    if not CODE_RE.match(code):
        raise AdminError(_l("The code must be 2 to 32 capital letters, digits or hyphens."), field="code")
    q = select(OrgUnit.id).where(OrgUnit.code == code)
    if exclude_id:
        q = q.where(OrgUnit.id != exclude_id)
    if db.session.scalar(q) is not None:
        raise AdminError(_l("An office with this code already exists."), field="code")
    return code


def _add(code: str, name: str, kind: str, parent: OrgUnit, name_hi: str | None = None,
         name_fa: str | None = None) -> OrgUnit:
    unit = OrgUnit(code=code, name=name.strip(), name_hi=(name_hi or "").strip() or None,
                   name_fa=(name_fa or "").strip() or None, kind=kind)
    db.session.add(unit)
    db.session.flush()
    unit.set_parent(parent)
    return unit


def create(admin: User, *, code: str, name: str, kind: str, parent: OrgUnit | None,
           now: datetime, name_hi: str | None = None, name_fa: str | None = None) -> OrgUnit:
    """A new office under `parent` (within the administrator's subtree)."""
    _parent_in_scope(admin, parent)
    code = _check_code(code)
    if not (name or "").strip():
        raise AdminError(_l("A name is required."), field="name")
    check_placement(kind, parent)
    unit = _add(code, name, kind, parent, name_hi, name_fa)
    audit.record("admin.office.create", actor=admin, target=f"office:{code}",
                 detail=f"{kind} '{unit.name}' under {parent.code}", now=now)
    db.session.commit()
    return unit


def rename(admin: User, office: OrgUnit, name: str, now: datetime, *, name_hi: str | None = None,
           name_fa: str | None = None) -> None:
    """The office's names: English (required, the fallback) and Hindi and Persian."""
    if not access.can_administer(admin, office):
        raise OutOfScope()
    name = (name or "").strip()
    if not name:
        raise AdminError(_l("A name is required."), field="name")
    old = office.name
    office.name = name
    office.name_hi = (name_hi or "").strip() or None
    office.name_fa = (name_fa or "").strip() or None
    audit.record("admin.office.rename", actor=admin, target=f"office:{office.code}",
                 detail=f"'{old}' -> '{name}'", now=now)
    db.session.commit()


def set_email(admin: User, office: OrgUnit, email: str | None, now: datetime) -> None:
    """The office's shared (role) address: its new-case notices go there, one message
    each or in a digest (OFFICE_NOTICE_MODE), instead of to every employee. Empty: none."""
    if not access.can_administer(admin, office):
        raise OutOfScope()
    old = office.email or ""
    office.email = (email or "").strip() or None
    audit.record("admin.office.email", actor=admin, target=f"office:{office.code}",
                 detail=f"'{old}' -> '{office.email or ''}'", now=now)
    db.session.commit()


def _not_own_root(admin: User, office: OrgUnit) -> None:
    if office.id == admin.office_id or office.parent_id is None:
        raise AdminError(_l("You cannot move, deactivate or delete your own office or the top office."),
                         status=403)


def move(admin: User, office: OrgUnit, new_parent: OrgUnit | None, now: datetime) -> int:
    """Put `office` (with its whole subtree) under `new_parent`; the materialized paths
    and depths of every office below are recomputed. Returns how many offices moved."""
    if not access.can_administer(admin, office):
        raise OutOfScope()
    _not_own_root(admin, office)
    _parent_in_scope(admin, new_parent)
    if new_parent.is_within(office):
        raise AdminError(_l("An office cannot be moved under itself or under one of its own offices."), field="parent_code")
    if new_parent.id == office.parent_id:
        raise AdminError(_l("The office is already under that parent."), field="parent_code")
    check_placement(office.kind, new_parent)
    old_path, old_depth, old_parent = office.path, office.depth, office.parent
    office.set_parent(new_parent)
    new_path, new_depth = office.path, office.depth
    below = db.session.scalars(
        select(OrgUnit).where(OrgUnit.path.like(f"{old_path}%"), OrgUnit.id != office.id)).all()
    for unit in below:
        unit.path = new_path + unit.path[len(old_path):]
        unit.depth = unit.depth - old_depth + new_depth
    # the league's counters of the offices above it follow (issue 27)
    from app.services.engine import flow

    flow.move_office(db.session.connection(), office.id, old_path, new_path)
    audit.record("admin.office.move", actor=admin, target=f"office:{office.code}",
                 detail=f"{old_parent.code if old_parent else '-'} -> {new_parent.code} "
                        f"({len(below)} below)", now=now)
    db.session.commit()
    return len(below) + 1


def open_case_count(office: OrgUnit) -> int:
    return db.session.scalar(select(func.count(Case.id)).where(
        Case.current_office_id == office.id, Case.status != "closed")) or 0


def set_active(admin: User, office: OrgUnit, active: bool, now: datetime) -> None:
    """Deactivate (no new work, hidden from pickers) or reactivate an office. An office
    still holding open cases or active offices below it is not deactivated."""
    if not access.can_administer(admin, office):
        raise OutOfScope()
    _not_own_root(admin, office)
    if not active:
        if open_case_count(office):
            raise AdminError(_l("This office still holds %(n)s open cases: transfer them first.",
                                n=open_case_count(office)))
        children = db.session.scalar(select(func.count(OrgUnit.id)).where(
            OrgUnit.parent_id == office.id, OrgUnit.active.is_(True))) or 0
        if children:
            raise AdminError(_l("Deactivate the offices under it first."))
    elif office.parent is not None and not office.parent.active:
        raise AdminError(_l("Reactivate the parent office first."))
    office.active = active
    audit.record("admin.office.activate" if active else "admin.office.deactivate", actor=admin,
                 target=f"office:{office.code}", now=now)
    db.session.commit()


def usage(office: OrgUnit) -> dict[str, int]:
    """What refers to the office (cases, users, offices below, pincodes, categories)."""
    oid = office.id
    return {
        "cases": db.session.scalar(select(func.count(Case.id)).where(or_(
            Case.current_office_id == oid, Case.raising_office_id == oid,
            Case.external_office_id == oid))) or 0,
        "events": db.session.scalar(select(func.count(CaseEvent.id)).where(or_(
            CaseEvent.from_office_id == oid, CaseEvent.to_office_id == oid))) or 0,
        "users": db.session.scalar(select(func.count(User.id)).where(User.office_id == oid)) or 0,
        "children": db.session.scalar(select(func.count(OrgUnit.id)).where(OrgUnit.parent_id == oid)) or 0,
        "pincodes": db.session.scalar(select(func.count(PincodeEntry.id)).where(or_(
            PincodeEntry.division_id == oid, PincodeEntry.office_id == oid))) or 0,
        "categories": db.session.scalar(select(func.count(Category.id)).where(or_(
            Category.department_id == oid, Category.route_to_id == oid))) or 0,
    }


def delete(admin: User, office: OrgUnit, now: datetime) -> None:
    """Remove an office created by mistake. Never an office that has (or had) cases:
    those are deactivated instead, so their history stays readable."""
    if not access.can_administer(admin, office):
        raise OutOfScope()
    _not_own_root(admin, office)
    use = usage(office)
    if use["cases"] or use["events"]:
        raise AdminError(_l("This office has cases and cannot be deleted. Deactivate it instead."),
                         status=409)
    if use["users"] or use["children"] or use["pincodes"] or use["categories"]:
        raise AdminError(_l("This office still has employees, offices below it, pincodes or "
                            "categories. Move or remove them first."), status=409)
    code = office.code
    db.session.delete(office)
    audit.record("admin.office.delete", actor=admin, target=f"office:{code}", now=now)
    db.session.commit()


# ---- bulk import ----------------------------------------------------------------

OFFICE_COLUMNS = ("code", "name", "kind", "parent_code")


def import_csv(admin: User, data: bytes | str, *, dry_run: bool, now: datetime) -> ImportReport:
    """Create offices from CSV (code,name,kind,parent_code; optional name_hi,name_fa: the
    Hindi and Persian names). A parent may be an existing
    office or one created earlier in the same file. Everything or nothing: any error and
    no row is written; a dry run validates and writes nothing."""
    report = ImportReport(dry_run=dry_run)
    rows, errors = read_csv(data, OFFICE_COLUMNS)
    report.errors.extend(errors)
    report.rows = len(rows)
    if errors:
        return report
    pending: dict[str, OrgUnit] = {}
    try:
        for n, row in enumerate(rows, start=2):
            code = normalize_code(row.get("code", ""))
            try:
                if code in pending:
                    raise AdminError(_l("This code appears twice in the file."))
                parent = pending.get(normalize_code(row.get("parent_code", ""))) or by_code(
                    row.get("parent_code", ""))
                if parent is None:
                    raise AdminError(_l("Unknown parent office code."))
                _parent_in_scope(admin, parent)
                code = _check_code(code)
                if not row.get("name"):
                    raise AdminError(_l("A name is required."), field="name")
                check_length(row["name"], 200, "name")
                check_length(row.get("name_hi", ""), 200, "name_hi")
                check_length(row.get("name_fa", ""), 200, "name_fa")
                kind = row.get("kind", "").lower()
                check_placement(kind, parent)
                pending[code] = _add(code, row["name"], kind, parent, row.get("name_hi"), row.get("name_fa"))
                report.created += 1
            except AdminError as exc:
                report.errors.append((n, str(exc.message)))
        return finish_import(report, dry_run=dry_run, admin=admin, action="admin.office.import",
                             target="offices", detail=f"{report.created} offices created", now=now)
    except Exception:
        db.session.rollback()
        raise
