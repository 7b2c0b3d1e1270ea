"""Offices (a tree with a materialized path) and employees."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db


class OfficeKind(str, enum.Enum):
    CEPT = "cept"
    CIRCLE = "circle"
    REGION = "region"
    DIVISION = "division"
    HEAD_OFFICE = "head_office"
    SUB_OFFICE = "sub_office"
    DEPARTMENT = "department"
    TEAM = "team"
    EXTERNAL = "external"


# The postal chain, top to bottom: escalation climbs it.
HIERARCHY = [
    OfficeKind.CEPT,
    OfficeKind.CIRCLE,
    OfficeKind.REGION,
    OfficeKind.DIVISION,
    OfficeKind.HEAD_OFFICE,
    OfficeKind.SUB_OFFICE,
]


class OrgUnit(db.Model):
    """An office, department, team or external authority. `path` is the materialized
    path of ids ("/1/4/9/") so a subtree is one indexed prefix query."""

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))  # English: the fallback in every language
    name_hi: Mapped[str | None] = mapped_column(String(200))
    name_fa: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    path: Mapped[str] = mapped_column(String(400), default="", index=True)
    depth: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # The office's shared (role) mailbox: its new-case notices go there
    # (OFFICE_NOTICE_MODE, `app.services.engine.notify.office_notice`).
    email: Mapped[str | None] = mapped_column(String(200))

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.kind}>"

    @property
    def name_en(self) -> str:
        return self.name

    @classmethod
    def name_in(cls, locale: str | None = None):
        """SQL: the name in `locale`, English when there is none, labelled `name` (for
        choice lists read as plain rows)."""
        from sqlalchemy import func

        if locale is None:
            from app.i18n import current_locale

            locale = current_locale()
        if locale not in ("hi", "fa"):
            return cls.name.label("name")
        return func.coalesce(getattr(cls, f"name_{locale}"), cls.name).label("name")

    def label(self, locale: str | None = None) -> str:
        """The name in `locale` (the request's locale by default), English as fallback.
        In templates use the `label` filter: it marks an English fallback `lang="en"`."""
        if locale is None:
            from app.i18n import current_locale

            locale = current_locale()
        return (getattr(self, f"name_{locale}", None) if locale in ("hi", "fa") else None) or self.name

    def set_parent(self, parent: OrgUnit | None) -> None:
        """Attach under `parent` and compute the path (the row must have an id)."""
        self.parent = parent
        self.parent_id = parent.id if parent else None
        prefix = parent.path if parent else "/"
        self.path = f"{prefix}{self.id}/"
        self.depth = (parent.depth + 1) if parent else 0

    def is_within(self, ancestor: OrgUnit) -> bool:
        """True if this unit is `ancestor` or below it."""
        return self.path.startswith(ancestor.path)

    def ancestor_ids(self) -> list[int]:
        """Ids of the ancestors from the root down to (excluding) this unit, from `path`."""
        return [int(p) for p in self.path.strip("/").split("/")[:-1] if p]

    def ancestors(self) -> list[OrgUnit]:
        """Ancestors from the root down to (excluding) this unit."""
        ids = self.ancestor_ids()
        if not ids:
            return []
        rows = db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids))).all()
        by_id = {o.id: o for o in rows}
        return [by_id[i] for i in ids if i in by_id]

    def ancestor_of_kind(self, kind: str) -> OrgUnit | None:
        """The nearest unit of `kind` at or above this one."""
        if self.kind == kind:
            return self
        for unit in reversed(self.ancestors()):
            if unit.kind == kind:
                return unit
        return None

    @property
    def level_label(self) -> str:
        from app.i18n import office_kind_label

        return office_kind_label(self.kind)


class Role(str, enum.Enum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    HELPDESK = "helpdesk"
    ADMIN = "admin"
    MONITOR = "monitor"


class UserRole(db.Model):
    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))


class User(UserMixin, db.Model):
    """An employee. `login_id` is an 8-digit Employee ID or an office Facility ID."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    login_id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(256))
    office_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Circle and Region heads: the weekly monitoring summary by e-mail (issue 27).
    weekly_summary: Mapped[bool] = mapped_column(default=True, server_default=true())
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Changing the token logs the user out everywhere (logout, password change, deactivation).
    session_token: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)

    office: Mapped[OrgUnit] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<User {self.login_id}>"

    # Flask-Login
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & {str(r.value if isinstance(r, Role) else r) for r in roles})

    def set_roles(self, roles) -> None:
        wanted = {str(r.value if isinstance(r, Role) else r) for r in roles}
        self.role_rows = [r for r in self.role_rows if r.role in wanted]
        have = {r.role for r in self.role_rows}
        for role in sorted(wanted - have):
            self.role_rows.append(UserRole(role=role))

    def set_password(self, password: str, method: str | None = None) -> None:
        import secrets

        from flask import current_app

        method = method or current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)
        self.session_token = secrets.token_hex(16)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class LoginThrottle(db.Model):
    """Failed sign-ins of one login id from one network (an IPv4 address, or an IPv6
    /64): five in a row lock that pair, not the account, so nobody can lock an employee
    out from elsewhere. Kept for unknown login ids too (the same answer for every id);
    a row idle for the lockout period is stale and deleted."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("login_id", "ip"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login_id: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(index=True)


Index("ix_org_unit_parent_kind", OrgUnit.parent_id, OrgUnit.kind)
