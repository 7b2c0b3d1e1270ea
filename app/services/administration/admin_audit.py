"""Read-only views for administrators: the audit log (with case status changes from the
timeline), CSV export, and the notification outbox with a retry."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select

from app.exports import csv_writer
from app.extensions import db
from app.inputs import search_text
from app.models import AuditLog, Case, CaseEvent, Notification, OrgUnit, User
from app.services.administration.admin_common import OutOfScope
from app.services.engine import access, notify
from app.services.infrastructure import audit

# Filter groups offered in the viewer: group -> audit actions (prefix match with '*').
GROUPS = {
    "signin": ("login", "login_failed", "login_locked", "password_changed"),
    "denied": ("denied",),
    "admin": ("admin.*",),
}


def audit_query(admin: User, *, group: str | None = None, actor: str | None = None,
                text: str | None = None, start: date | None = None, end: date | None = None):
    """Audit rows the administrator may read: everything for a national administrator;
    for a circle administrator, rows whose actor belongs to their subtree."""
    q = select(AuditLog)
    if not access.is_national_admin(admin):
        users = (select(User.id).join(OrgUnit, User.office_id == OrgUnit.id)
                 .where(access.in_subtree(OrgUnit.path, admin.office)))
        q = q.where(AuditLog.actor_id.in_(users))
    if group in GROUPS:
        conds = []
        for a in GROUPS[group]:
            conds.append(AuditLog.action.like(a[:-1] + "%") if a.endswith("*") else AuditLog.action == a)
        q = q.where(or_(*conds))
    actor, text = search_text(actor), search_text(text)
    if actor:
        q = q.where(or_(AuditLog.actor_label.ilike(actor.strip()), AuditLog.target.ilike(f"%{actor.strip()}%")))
    if text:
        like = f"%{text.strip()}%"
        q = q.where(or_(AuditLog.action.ilike(like), AuditLog.target.ilike(like), AuditLog.detail.ilike(like)))
    if start:
        q = q.where(AuditLog.at >= datetime.combine(start, time.min))
    if end:
        q = q.where(AuditLog.at < datetime.combine(end + timedelta(days=1), time.min))
    return q.order_by(AuditLog.at.desc(), AuditLog.id.desc())


def status_changes_query(admin: User, *, text: str | None = None, start: date | None = None,
                         end: date | None = None):
    """Case status changes from the (append-only) timeline, within the admin's scope."""
    q = (select(CaseEvent).join(Case, CaseEvent.case_id == Case.id)
         .join(OrgUnit, Case.current_office_id == OrgUnit.id)
         .where(CaseEvent.from_status.is_not(None), CaseEvent.to_status.is_not(None),
                CaseEvent.from_status != CaseEvent.to_status,
                access.in_subtree(OrgUnit.path, admin.office)))
    text = search_text(text)
    if text:
        q = q.where(or_(Case.reference.ilike(f"%{text.strip()}%"), CaseEvent.type.ilike(f"%{text.strip()}%")))
    if start:
        q = q.where(CaseEvent.at >= datetime.combine(start, time.min))
    if end:
        q = q.where(CaseEvent.at < datetime.combine(end + timedelta(days=1), time.min))
    return q.order_by(CaseEvent.at.desc(), CaseEvent.id.desc())


def audit_csv(rows) -> str:
    out = io.StringIO()
    w = csv_writer(out)
    w.writerow(["at_utc", "action", "actor", "target", "detail", "ip"])
    for r in rows:
        w.writerow([r.at.isoformat(sep=" ", timespec="seconds"), r.action, r.actor_label,
                    r.target, r.detail, r.ip])
    return out.getvalue()


def status_csv(rows) -> str:
    out = io.StringIO()
    w = csv_writer(out)
    w.writerow(["at_utc", "reference", "event", "from_status", "to_status", "actor"])
    for e in rows:
        w.writerow([e.at.isoformat(sep=" ", timespec="seconds"), e.case.reference, e.type,
                    e.from_status, e.to_status, e.actor.login_id if e.actor else e.actor_kind])
    return out.getvalue()


# ---- outbox ---------------------------------------------------------------------

def outbox_query(status: str | None = None, text: str | None = None):
    q = select(Notification)
    if status in ("pending", "sending", "sent", "failed"):
        q = q.where(Notification.status == status)
    text = search_text(text)
    if text:
        like = f"%{text.strip()}%"
        q = q.where(or_(Notification.recipient.ilike(like), Notification.template.ilike(like),
                        Notification.last_error.ilike(like),
                        Notification.case_id.in_(select(Case.id).where(Case.reference.ilike(like)))))
    return q.order_by(Notification.id.desc())


def retry(admin: User, notification_id: int, now: datetime) -> Notification:
    """Queue a failed (or stuck) message again; national administrators only."""
    if not access.is_national_admin(admin):
        raise OutOfScope()
    n = db.session.get(Notification, notification_id)
    if n is None:
        raise OutOfScope()
    audit.record("admin.outbox.retry", actor=admin, target=f"notification:{n.id}",
                 detail=f"{n.channel} {n.template} was {n.status}", now=now)
    notify.retry(n, now)
    return n
