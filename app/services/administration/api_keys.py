"""Partner API keys: issue, authenticate, revoke. A key reads `sd_<prefix>_<secret>`;
the prefix is public (it finds the row), only sha256 of the whole key is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey, OrgUnit

KEY_PREFIX = "sd"
# Writing last_used_at on every call would turn each read into a write.
TOUCH_EVERY = timedelta(minutes=1)


class UnknownOffice(Exception):
    """No active office has the code given."""


class Revoked(Exception):
    """The key was right but has been revoked."""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create(office_code: str, name: str, *, now: datetime) -> tuple[ApiKey, str]:
    """A new key for the subtree of the office `office_code`; returns the row and the
    full key, which is shown once and never stored."""
    office = db.session.scalar(select(OrgUnit).where(OrgUnit.code == office_code))
    if office is None or not office.active:
        raise UnknownOffice(office_code)
    prefix = secrets.token_hex(4)
    while db.session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is not None:
        prefix = secrets.token_hex(4)  # pragma: no cover - 1 in 4 billion
    raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(prefix=prefix, secret_hash=_digest(raw), name=name.strip()[:120],
                 office_id=office.id, created_at=now)
    db.session.add(key)
    db.session.commit()
    return key, raw


def parse_prefix(raw: str | None) -> str | None:
    parts = (raw or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def authenticate(raw: str | None, *, now: datetime) -> ApiKey | None:
    """The active key for `raw`, else None; raises Revoked for a right but revoked key."""
    prefix = parse_prefix(raw)
    if prefix is None or len(prefix) > 16:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(raw)):
        return None
    if key.revoked_at is not None:
        raise Revoked(prefix)
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        key.last_used_at = now
        db.session.commit()
    return key


def revoke(prefix: str, *, now: datetime) -> ApiKey | None:
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        return None
    if key.revoked_at is None:
        key.revoked_at = now
        db.session.commit()
    return key


def all_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))
