"""Writing the audit log (insert-only)."""

from __future__ import annotations

from datetime import datetime

from flask import has_request_context, request

from app.extensions import db
from app.models import AuditLog


def record(action: str, actor=None, target: str = "", detail: str = "", now=None,
           commit: bool = False) -> AuditLog:
    """Add an audit row to the session (committed with the caller's transaction)."""
    ip = request.remote_addr or "" if has_request_context() else ""
    row = AuditLog(
        at=now or datetime.utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "login_id", "") or "",
        action=action,
        target=target[:80],
        detail=detail,
        ip=ip,
    )
    db.session.add(row)
    if commit:
        db.session.commit()
    return row
