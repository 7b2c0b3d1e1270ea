"""Time-based rules, run by the scheduler or `flask run-jobs`: idempotent sweeps that
act through the same workflow as people do, as the actor "system"."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.domain import workflow as wf
from app.domain.errors import WorkflowError
from app.extensions import db
from app.models import Case
from app.services import cases


def _due(condition, statuses, kinds=None, limit=1000):
    q = select(Case.id, Case.version).where(Case.status.in_(statuses), condition)
    if kinds:
        q = q.where(Case.kind.in_(kinds))
    return db.session.execute(q.order_by(Case.id).limit(limit)).all()


def _apply(rows, action: str, now: datetime) -> int:
    """Act on each (id, version) row; a case changed meanwhile (by a person or another
    sweeper) is skipped, so each case is changed once however many sweepers run."""
    done = 0
    for case_id, version in rows:
        case = db.session.get(Case, case_id)
        if case is None:
            continue
        try:
            cases.act(case, action, now=now, as_=wf.SYSTEM, expected_version=version)
            done += 1
        except WorkflowError:
            db.session.rollback()
    return done


def sweep(now: datetime) -> dict:
    """Apply every timeout that is due at `now`. Returns counts per rule."""
    counts = {}
    counts["auto_closed"] = _apply(
        _due(Case.confirmation_due <= now, [wf.AWAITING_CONFIRMATION]), "confirmation_timeout", now)
    policy = current_app.config.get("INFO_TIMEOUT_POLICY", "close")
    action = "info_timeout_escalate" if policy == "escalate" else "info_timeout_close"
    counts["info_timeout"] = _apply(_due(Case.info_due <= now, [wf.AWAITING_INFO]), action, now)
    # Overdue complaints and helpdesk cases climb one level; the receiving level gets a
    # fresh window (effect renew_due), so the next climb waits for its own breach.
    overdue = ((Case.response_due <= now) & Case.first_response_at.is_(None)) | (
        Case.resolution_due <= now)
    counts["escalated"] = _apply(
        _due(overdue, list(wf.WORKING), kinds=[wf.COMPLAINT, wf.HELPDESK]), "sla_escalate", now)
    counts["breached"] = _apply(
        _due((Case.response_due <= now) & (Case.first_response_at.is_(None))
             & Case.sla_breached.is_(False), list(wf.WORKING),
             kinds=[wf.SERVICE_REQUEST, wf.OFFICE_TICKET, wf.INTERACTION]),
        "sla_breach", now)
    return counts
