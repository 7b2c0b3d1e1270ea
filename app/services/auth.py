"""Signing in with throttling, and password changes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, User
from app.services import audit

# Computed once: checking a password for an unknown login costs the same time as for a
# known one, so response time does not reveal which login ids exist.
_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        from werkzeug.security import generate_password_hash

        _DUMMY_HASH = generate_password_hash(
            secrets.token_hex(8), method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))
    return _DUMMY_HASH


def normalize_login(login_id: str) -> str:
    return (login_id or "").strip().upper()


def _upgrade_hash(user: User, password: str, method: str) -> None:
    """Re-hash a right password stored with other hashing parameters than the configured
    ones (the only moment the plain password is at hand). The session token stays: this
    is not a password change."""
    from werkzeug.security import generate_password_hash

    if not user.password_hash.startswith(method + "$"):
        user.password_hash = generate_password_hash(password, method=method)


def authenticate(login_id: str, password: str, now: datetime, ip: str = "") -> User | None:
    """The user if the credentials are right and the account is neither inactive nor
    locked. Failures are counted per account (lockout) and audited (per-IP throttling
    is a rate limit on the route)."""
    from werkzeug.security import check_password_hash

    cfg = current_app.config
    login_id = normalize_login(login_id)
    user = db.session.scalar(select(User).where(func.upper(User.login_id) == login_id))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        audit.record("login_failed", target=login_id[:40], detail="unknown login", now=now)
        db.session.commit()
        return None
    if user.locked_until and user.locked_until > now:
        audit.record("login_locked", actor=user, target=user.login_id, now=now)
        db.session.commit()
        return None
    if not user.check_password(password or "") or not user.active:
        user.failed_logins += 1
        if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
        audit.record("login_failed", actor=user, target=user.login_id,
                     detail="inactive" if not user.active else "bad password", now=now)
        db.session.commit()
        return None
    user.failed_logins = 0
    user.locked_until = None
    _upgrade_hash(user, password, cfg["PASSWORD_HASH_METHOD"])
    audit.record("login", actor=user, target=user.login_id, now=now)
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str, now: datetime) -> bool:
    """Set a new password if `current` is right. Every other session ends."""
    if not user.check_password(current or ""):
        return False
    user.set_password(new)
    user.must_change_password = False
    audit.record("password_changed", actor=user, target=user.login_id, now=now)
    db.session.commit()
    return True


def end_sessions(user: User) -> None:
    """Invalidate all of the user's sessions (logout everywhere)."""
    user.session_token = secrets.token_hex(16)
    db.session.commit()


def recent_failures(login_id: str, since: datetime) -> int:
    return db.session.scalar(
        select(func.count(AuditLog.id)).where(
            AuditLog.action == "login_failed", AuditLog.target == normalize_login(login_id),
            AuditLog.at >= since)
    ) or 0
