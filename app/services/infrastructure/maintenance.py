"""Backups and data retention."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, CaseEvent, Notification

ANONYMISED = "[removed]"


def sqlite_path(uri: str) -> Path:
    if not uri.startswith("sqlite:///"):
        raise ValueError("backup/restore by this command needs SQLite; use pg_dump/pg_restore")
    return Path(uri[len("sqlite:///"):])


def backup_sqlite(uri: str, dest_dir: Path, now: datetime) -> Path:
    """Online backup (consistent while the portal runs) to a timestamped file."""
    src = sqlite_path(uri)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"portal-{now:%Y%m%d-%H%M%S}.sqlite"
    with sqlite3.connect(src) as source, sqlite3.connect(dest) as target:
        source.backup(target)
    return dest


def restore_sqlite(uri: str, backup: Path) -> None:
    """Replace the database's contents with the backup's (online, page by page)."""
    dest = sqlite_path(uri)
    db.session.remove()
    db.engine.dispose()
    with sqlite3.connect(backup) as source, sqlite3.connect(dest) as target:
        source.backup(target)


def anonymise_closed(older_than_days: int, now: datetime) -> int:
    """Remove requester personal data from cases closed more than `older_than_days` ago,
    keeping everything statistics need (kind, category, offices, times, status, rating).
    Returns the number of cases changed; running it again changes nothing more."""
    cutoff = now - timedelta(days=older_than_days)
    ids = list(db.session.scalars(
        select(Case.id).where(Case.status == wf.CLOSED, Case.closed_at < cutoff,
                              Case.requester_name.is_not(None) | Case.requester_mobile.is_not(None)
                              | Case.requester_email.is_not(None) | Case.requester_address.is_not(None))
    ))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(
            update(Case).where(Case.id.in_(chunk)).values(
                requester_name=None, requester_mobile=None, requester_email=None,
                requester_address=None, version=Case.version + 1)
            .execution_options(synchronize_session=False))
        db.session.execute(
            update(Notification).where(Notification.case_id.in_(chunk)).values(recipient=ANONYMISED, body=ANONYMISED)
            .execution_options(synchronize_session=False))
        db.session.execute(
            update(CaseEvent).where(CaseEvent.case_id.in_(chunk), CaseEvent.type == "created")
            .values(data={}).execution_options(synchronize_session=False))
    db.session.commit()
    return len(ids)
