"""Retention: what is no longer needed leaves the database, a bounded batch at a time.

* **Delivered notifications** (`status = 'sent'`) sent more than `RETENTION_NOTIFICATIONS_DAYS`
  ago. Pending, sending and failed rows are never removed: they are not delivered yet (the
  outbox page shows the failed ones for a retry). A weekly summary's record keeps its row
  (`weekly_summary`: one per head and week) and loses its pointer to the message.
* **One-time codes** used, or expired, more than `RETENTION_CODES_DAYS` ago (a code that
  can still be typed is never touched).
* **Sign-in throttle rows** idle for longer than `LOGIN_LOCKOUT_MINUTES` and not locked:
  such a row counts for nothing any more (`app.services.infrastructure.auth` deletes the same rows at the
  next failure of anyone; this also clears them when nobody fails).
* **Audit rows** (`audit_log`: sign-ins, denials, admin changes) older than
  `RETENTION_AUDIT_DAYS`.

Never: a case, its timeline (`case_event` rows are the case's history, not audit rows), its
attachments, feedback, or anything a counter reads. `0` days keeps that kind forever.

Each batch is one short transaction that deletes at most `RETENTION_BATCH_SIZE` rows by
primary key, so no lock is held for long and web requests interleave. The scheduled job
stops after `RETENTION_MAX_BATCHES` batches a table and goes on at its next run; `flask
retention` runs until nothing is left.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from app.extensions import db
from app.models import AuditLog, LoginThrottle, Notification, OtpCode, WeeklySummary
from app.models.outbox import SENT

KINDS = ("notifications", "codes", "login_throttle", "audit")


def _days(name: str) -> int:
    return max(0, int(current_app.config.get(name) or 0))


def conditions(now: datetime) -> dict:
    """For each kind: (table, condition of the rows to remove), or None when it is kept forever."""
    out: dict = dict.fromkeys(KINDS)
    if days := _days("RETENTION_NOTIFICATIONS_DAYS"):
        # SENT: the predicate of the partial index ix_notification_sent_at, as a constant
        out["notifications"] = (Notification, and_(SENT, Notification.sent_at < now - timedelta(days=days)))
    if days := _days("RETENTION_CODES_DAYS"):
        cutoff = now - timedelta(days=days)
        out["codes"] = (OtpCode, or_(OtpCode.used_at < cutoff, OtpCode.expires_at < cutoff))
    idle = now - timedelta(minutes=int(current_app.config.get("LOGIN_LOCKOUT_MINUTES", 15)))
    out["login_throttle"] = (LoginThrottle, and_(
        LoginThrottle.updated_at < idle,
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now)))
    if days := _days("RETENTION_AUDIT_DAYS"):
        out["audit"] = (AuditLog, AuditLog.at < now - timedelta(days=days))
    return out


def _batch(table, condition, size: int) -> int:
    """Delete at most `size` rows matching `condition`, in one transaction; how many went."""
    # no ORDER BY: any `size` matching rows will do, straight off the index
    ids = list(db.session.scalars(select(table.id).where(condition).limit(size)))
    if not ids:
        db.session.rollback()
        return 0
    if table is Notification:
        db.session.execute(update(WeeklySummary).where(WeeklySummary.notification_id.in_(ids))
                           .values(notification_id=None).execution_options(synchronize_session=False))
    # the condition again: a row changed since it was read (a retried notification) stays
    gone = db.session.execute(delete(table).where(table.id.in_(ids), condition)
                              .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return gone


def purge(now: datetime | None = None, *, max_batches: int | None = None) -> dict:
    """Remove what the retention periods no longer keep; {kind: rows removed}. With
    `max_batches`, at most that many batches per kind (the scheduled job); else until done."""
    now = now or datetime.utcnow()
    size = max(1, int(current_app.config.get("RETENTION_BATCH_SIZE", 1000)))
    removed = dict.fromkeys(KINDS, 0)
    for kind, rule in conditions(now).items():
        if rule is None:
            continue
        table, condition = rule
        batches = 0
        while max_batches is None or batches < max_batches:
            gone = _batch(table, condition, size)
            removed[kind] += gone
            batches += 1
            if gone < size:
                break
    return removed


def pending(now: datetime | None = None) -> dict:
    """{kind: rows the retention periods would remove now} (`flask retention --dry-run`)."""
    from sqlalchemy import func

    now = now or datetime.utcnow()
    return {kind: (db.session.scalar(select(func.count()).select_from(rule[0]).where(rule[1])) if rule else 0)
            for kind, rule in conditions(now).items()}


def scheduled(now: datetime | None = None) -> dict:
    """The scheduler's job: a bounded amount of work per run."""
    return purge(now, max_batches=max(1, int(current_app.config.get("RETENTION_MAX_BATCHES", 50))))
