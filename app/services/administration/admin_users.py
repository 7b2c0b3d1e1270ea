"""Employee administration: create, edit roles and office, deactivate (sessions end at
once), reset password (forced change at next sign-in), bulk CSV import."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.extensions import db
from app.inputs import search_text
from app.models import OrgUnit, Role, User
from app.services.administration.admin_common import (
    AdminError,
    ImportReport,
    OutOfScope,
    check_length,
    read_csv,
)
from app.services.administration.admin_offices import by_code
from app.services.administration.users import valid_login_id
from app.services.engine import access
from app.services.infrastructure import audit
from app.services.infrastructure.auth import end_sessions
from app.services.infrastructure.auth import unlock as lift_locks

ROLES = [r.value for r in Role]
MOBILE_RE = re.compile(r"[6-9][0-9]{9}")  # ASCII digits: "\d" would take ९८७६५४३२१०


def temporary_password() -> str:
    """A readable one-time password with letters and digits (no look-alikes)."""
    letters = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = "23456789"
    pw = [secrets.choice(letters) for _ in range(8)] + [secrets.choice(digits) for _ in range(3)]
    pw.insert(4, "-")
    return "".join(pw)


def search(admin: User, text: str | None = None, role: str | None = None,
           active: str | None = None):
    q = access.administered_users(admin)
    text = search_text(text)
    if text:
        like = f"%{text}%"
        q = q.where(or_(User.login_id.ilike(like), User.name.ilike(like), User.email.ilike(like),
                        OrgUnit.code.ilike(like), OrgUnit.name.ilike(like)))
    if role:
        from app.models import UserRole

        q = q.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if active in ("1", "0"):
        q = q.where(User.active.is_(active == "1"))
    return q.order_by(OrgUnit.path, User.name)


def get_for(admin: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not access.can_administer_user(admin, user):
        raise OutOfScope()
    return user


def _check_roles(roles) -> list[str]:
    roles = [r for r in (roles or []) if r]
    if not roles:
        raise AdminError(_l("Choose at least one role."), field="roles")
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise AdminError(_l("Unknown role: %(role)s", role=", ".join(bad)), field="roles")
    return sorted(set(roles))


def _check_office(admin: User, office: OrgUnit | None) -> OrgUnit:
    if office is None or not access.can_administer(admin, office):
        raise AdminError(_l("The office is not in your jurisdiction."), field="office_code")
    if not office.active:
        raise AdminError(_l("The office is inactive."), field="office_code")
    if office.kind == "external":
        raise AdminError(_l("Employees cannot belong to an external authority."), field="office_code")
    return office


def _check_login(login_id: str) -> str:
    login_id = (login_id or "").strip().upper()
    if not valid_login_id(login_id):
        raise AdminError(_l("Use an 8-digit Employee ID or a Facility ID (two letters and eleven digits)."),
                         field="login_id")
    if db.session.scalar(select(User.id).where(func.upper(User.login_id) == login_id)) is not None:
        raise AdminError(_l("This login ID is already taken."), field="login_id")
    return login_id


def _check_details(name: str | None, email: str | None, mobile: str | None) -> None:
    """Name, e-mail and mobile as the user form checks them (CSV rows skip the form)."""
    if not (name or "").strip():
        raise AdminError(_l("A name is required."), field="name")
    check_length(name.strip(), 120, "name")
    email, mobile = (email or "").strip(), (mobile or "").strip()
    if email:
        from email_validator import EmailNotValidError, validate_email

        try:
            check_length(email, 200, "email")
            validate_email(email, check_deliverability=False)
        except (EmailNotValidError, AdminError):
            raise AdminError(_l("Enter a valid e-mail address."), field="email") from None
    if mobile and not MOBILE_RE.fullmatch(mobile):
        raise AdminError(_l("Enter a 10-digit mobile number."), field="mobile")


def _build(login_id, name, office, roles, email, mobile) -> tuple[User, str]:
    password = temporary_password()
    user = User(login_id=login_id, name=name.strip(), office_id=office.id,
                email=(email or "").strip() or None, mobile=(mobile or "").strip() or None,
                must_change_password=True)
    user.set_password(password)
    user.set_roles(roles)
    db.session.add(user)
    return user, password


def create(admin: User, *, login_id: str, name: str, office: OrgUnit | None, roles,
           email: str | None = None, mobile: str | None = None, now: datetime) -> tuple[User, str]:
    """A new employee with a temporary password (returned once, to be handed over);
    they must choose their own at first sign-in."""
    login_id = _check_login(login_id)
    _check_details(name, email, mobile)
    office = _check_office(admin, office)
    roles = _check_roles(roles)
    user, password = _build(login_id, name, office, roles, email, mobile)
    audit.record("admin.user.create", actor=admin, target=f"user:{login_id}",
                 detail=f"office {office.code}, roles {','.join(roles)}", now=now)
    db.session.commit()
    return user, password


def update(admin: User, user: User, *, name: str, office: OrgUnit | None, roles,
           email: str | None, mobile: str | None, now: datetime) -> None:
    """Change name, contact, office and roles (the new office must be in scope too)."""
    if not access.can_administer_user(admin, user):
        raise OutOfScope()
    _check_details(name, email, mobile)
    if office is None or office.id != user.office_id:
        office = _check_office(admin, office)
    roles = _check_roles(roles)
    if user.id == admin.id and "admin" not in roles:
        raise AdminError(_l("You cannot remove your own administrator role."), field="roles")
    changes = []
    if user.office_id != office.id:
        changes.append(f"office {user.office.code} -> {office.code}")
    if set(roles) != user.roles:
        changes.append(f"roles {','.join(sorted(user.roles))} -> {','.join(roles)}")
    user.name = name.strip()
    user.email = (email or "").strip() or None
    user.mobile = (mobile or "").strip() or None
    user.office_id = office.id
    user.office = office
    user.set_roles(roles)
    audit.record("admin.user.update", actor=admin, target=f"user:{user.login_id}",
                 detail="; ".join(changes), now=now)
    db.session.commit()


def set_active(admin: User, user: User, active: bool, now: datetime) -> None:
    """Deactivate (signed out everywhere at once) or reactivate an employee."""
    if not access.can_administer_user(admin, user):
        raise OutOfScope()
    if user.id == admin.id:
        raise AdminError(_l("You cannot deactivate your own account."), status=403)
    user.active = active
    if not active:
        user.failed_logins = 0
    audit.record("admin.user.activate" if active else "admin.user.deactivate", actor=admin,
                 target=f"user:{user.login_id}", now=now)
    db.session.commit()
    if not active:
        end_sessions(user)


def reset_password(admin: User, user: User, now: datetime) -> str:
    """A new temporary password; every session of the user ends and they must choose a
    new password at their next sign-in. Also lifts a lockout."""
    if not access.can_administer_user(admin, user):
        raise OutOfScope()
    password = temporary_password()
    user.set_password(password)  # also renews the session token: signed out everywhere
    user.must_change_password = True
    lift_locks(user)
    audit.record("admin.user.reset_password", actor=admin, target=f"user:{user.login_id}", now=now)
    db.session.commit()
    return password


def unlock(admin: User, user: User, now: datetime) -> None:
    """Lift the employee's sign-in locks: the account's and those of every network
    (after too many failed attempts)."""
    if not access.can_administer_user(admin, user):
        raise OutOfScope()
    lift_locks(user)
    audit.record("admin.user.unlock", actor=admin, target=f"user:{user.login_id}", now=now)
    db.session.commit()


# ---- bulk import ----------------------------------------------------------------

USER_COLUMNS = ("login_id", "name", "office_code", "roles")


def import_csv(admin: User, data: bytes | str, *, dry_run: bool,
               now: datetime) -> tuple[ImportReport, list[tuple[str, str]]]:
    """Create employees from CSV (login_id,name,office_code,roles[,email,mobile]); roles
    separated by ';'. All rows or none. Returns the report and, when applied, the
    (login id, temporary password) pairs to hand over."""
    report = ImportReport(dry_run=dry_run)
    rows, errors = read_csv(data, USER_COLUMNS)
    report.errors.extend(errors)
    report.rows = len(rows)
    if errors:
        return report, []
    seen: set[str] = set()
    valid: list[tuple] = []
    for n, row in enumerate(rows, start=2):
        try:
            login_id = (row.get("login_id") or "").upper()
            if login_id in seen:
                raise AdminError(_l("This login ID appears twice in the file."))
            seen.add(login_id)
            login_id = _check_login(login_id)
            _check_details(row.get("name"), row.get("email"), row.get("mobile"))
            office = by_code(row.get("office_code", ""))
            if office is None:
                raise AdminError(_l("Unknown office code."))
            office = _check_office(admin, office)
            roles = _check_roles([r.strip().lower() for r in row.get("roles", "").split(";")])
            valid.append((login_id, row["name"], office, roles, row.get("email"), row.get("mobile")))
        except AdminError as exc:
            report.errors.append((n, str(exc.message)))
    report.created = len(valid)
    if report.errors or dry_run:
        db.session.rollback()
        return report, []
    # Validation passed: write every row in one transaction (hashing only now).
    made: list[tuple[str, str]] = []
    try:
        for login_id, name, office, roles, email, mobile in valid:
            _user, password = _build(login_id, name, office, roles, email, mobile)
            made.append((login_id, password))
        audit.record("admin.user.import", actor=admin, target="users",
                     detail=f"{report.created} users created", now=now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    report.applied = True
    return report, made
