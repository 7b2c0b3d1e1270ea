"""Signing in with throttling, and password changes.

Every sign-in attempt costs one password hash check, whatever its outcome (unknown id,
locked, inactive, wrong or right password), so response time tells nothing. Failures
count per (login id, network) pair: five in a row from one network lock that pair for
LOGIN_LOCKOUT_MINUTES, while the employee still signs in from anywhere else. Only many
failures from many networks (LOGIN_ACCOUNT_MAX_FAILURES) lock the account itself."""

from __future__ import annotations

import ipaddress
import math
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import LoginThrottle, User
from app.services.infrastructure import audit

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


def network_key(ip: str) -> str:
    """The network a sign-in counts against: the IPv4 address, or the /64 of an IPv6
    address (one subscriber holds a whole /64, so counting addresses would not throttle)."""
    try:
        addr = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return (ip or "")[:64]
    if addr.version == 6:
        if addr.ipv4_mapped:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def _upgrade_hash(user: User, password: str, method: str) -> None:
    """Re-hash a right password stored with other hashing parameters than the configured
    ones (the only moment the plain password is at hand). The session token stays: this
    is not a password change."""
    from werkzeug.security import generate_password_hash

    if not user.password_hash.startswith(method + "$"):
        user.password_hash = generate_password_hash(password, method=method)


def _pair(login_id: str, net: str) -> LoginThrottle | None:
    return db.session.scalar(select(LoginThrottle).where(
        LoginThrottle.login_id == login_id, LoginThrottle.ip == net))


def _live(until: datetime | None, now: datetime) -> datetime | None:
    return until if until is not None and until > now else None


def _count_failure(pair: LoginThrottle | None, login_id: str, net: str, now: datetime) -> None:
    """One more failure for the pair; the MAX-th in a row (none further apart than the
    lockout period) locks it. Stale rows of every pair are deleted on the way."""
    cfg = current_app.config
    period = timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"])
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < now - period)
                       .execution_options(synchronize_session=False))
    if pair is not None and pair.updated_at < now - period:
        db.session.expunge(pair)  # deleted just now; a new row may reuse its id
        pair = None
    if pair is None:
        try:
            with db.session.begin_nested():
                pair = LoginThrottle(login_id=login_id, ip=net, failures=0, updated_at=now)
                db.session.add(pair)
        except IntegrityError:  # a concurrent attempt created it first
            pair = _pair(login_id, net)
    pair.failures += 1
    pair.updated_at = now
    if pair.failures >= cfg["LOGIN_MAX_FAILURES"]:
        pair.locked_until = now + period
        pair.failures = 0


def remember_locale(user: User, chosen: str | None) -> None:
    """Save `chosen` (a language picked on the switcher before signing in) as the
    user's preference when it is one of the portal's languages and differs."""
    if chosen in current_app.config["LANGUAGES"] and user.locale != chosen:
        user.locale = chosen
        db.session.commit()


def authenticate(login_id: str, password: str, now: datetime, ip: str = "") -> User | None:
    """The user if the credentials are right, the account active and neither it nor
    this (login id, network) pair locked. Failures are counted per pair (and per
    account, for LOGIN_ACCOUNT_MAX_FAILURES) and audited; `lockout()` tells the page
    whether and until when the pair is locked. Per-IP throttling over all ids is a
    rate limit on the route."""
    cfg = current_app.config
    login_id = normalize_login(login_id)[:20]
    net = network_key(ip)
    user = db.session.scalar(select(User).where(func.upper(User.login_id) == login_id))
    pair = _pair(login_id, net)
    # Exactly one hash check on every path: a locked or unknown id costs what a wrong
    # password costs.
    right = check_password_hash(user.password_hash if user is not None else _dummy_hash(),
                                password or "")
    target = user.login_id if user is not None else login_id[:40]
    if _live(pair.locked_until if pair else None, now) or _live(user.locked_until if user else None, now):
        audit.record("login_locked", actor=user, target=target, now=now)
        db.session.commit()
        return None
    if user is None or not right or not user.active:
        _count_failure(pair, login_id, net, now)
        detail = "unknown login"
        if user is not None:
            detail = "inactive" if not user.active else "bad password"
            user.failed_logins += 1
            account_max = cfg.get("LOGIN_ACCOUNT_MAX_FAILURES") or 0
            if account_max and user.failed_logins >= account_max:
                user.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"])
                user.failed_logins = 0
        audit.record("login_failed", actor=user, target=target, detail=detail, now=now)
        db.session.commit()
        return None
    if pair is not None:
        db.session.delete(pair)
    user.failed_logins = 0
    user.locked_until = None
    _upgrade_hash(user, password, cfg["PASSWORD_HASH_METHOD"])
    audit.record("login", actor=user, target=user.login_id, now=now)
    db.session.commit()
    return user


def lockout(login_id: str, ip: str, now: datetime) -> datetime | None:
    """Until when sign-ins of `login_id` from the network of `ip` are refused (this
    pair's lock, or the whole account's), or None."""
    login_id = normalize_login(login_id)[:20]
    pair = _pair(login_id, network_key(ip))
    user_lock = db.session.scalar(select(User.locked_until).where(func.upper(User.login_id) == login_id))
    locks = [t for t in (_live(pair.locked_until if pair else None, now), _live(user_lock, now)) if t]
    return max(locks) if locks else None


def minutes_left(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds() / 60))


def locked_networks(login_id: str, now: datetime) -> list[LoginThrottle]:
    """The pairs of `login_id` locked now (for the administrator's page)."""
    return list(db.session.scalars(select(LoginThrottle).where(
        LoginThrottle.login_id == normalize_login(login_id), LoginThrottle.locked_until > now)
        .order_by(LoginThrottle.locked_until.desc())))


def unlock(user: User) -> None:
    """Lift every lock and count of failures of `user` (account and every network);
    the caller commits."""
    db.session.execute(delete(LoginThrottle).where(
        LoginThrottle.login_id == normalize_login(user.login_id))
        .execution_options(synchronize_session=False))
    user.failed_logins = 0
    user.locked_until = None


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

