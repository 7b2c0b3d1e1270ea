"""The scheduler: one dedicated process (`flask scheduler`) runs the timer sweep and the
outbox delivery. A lock (PostgreSQL advisory lock, or a file lock for SQLite) makes a
second scheduler refuse to start; every job is idempotent anyway."""

from __future__ import annotations

import fcntl
import logging
from datetime import datetime
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger("sevadesk.jobs")
ADVISORY_KEY = 7_346_201  # arbitrary, constant: "the Seva Desk scheduler"


def run_once(app, now: datetime | None = None) -> dict:
    """One pass of every job (what `flask run-jobs` does)."""
    from app.services import notify, summary, timers

    with app.app_context():
        now = now or datetime.utcnow()
        result = {"timers": timers.sweep(now)}
        # the daily backlog snapshot and the weekly summaries (each once: idempotent)
        result["reports"] = {"snapshot_rows": summary.snapshot(now), "weekly_summaries": summary.send_weekly(now)}
        result["outbox"] = notify.deliver_due(now)
        if app.config.get("MAIL_IMAP_URL"):
            from app.services import mail_intake

            result["mail"] = mail_intake.fetch(now=now)
    return result


class SchedulerLock:
    """Held for the life of the scheduler process."""

    def __init__(self, app):
        self.app = app
        self._fh = None
        self._conn = None

    def acquire(self) -> bool:
        from app.extensions import db

        uri = self.app.config["SQLALCHEMY_DATABASE_URI"]
        if uri.startswith("postgresql"):
            with self.app.app_context():
                self._conn = db.engine.connect()
                from sqlalchemy import text

                got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                         {"k": ADVISORY_KEY}).scalar()
                self._conn.commit()
                return bool(got)
        path = Path(self.app.instance_path) / "scheduler.lock"
        self._fh = path.open("w")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._fh.write(str(datetime.utcnow()))
        self._fh.flush()
        return True

    def release(self) -> None:
        if self._conn is not None:
            from sqlalchemy import text

            # The connection goes back to the pool: the session-level lock must be let go.
            self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
            self._conn.commit()
            self._conn.close()
            self._conn = None
        if self._fh is not None:
            self._fh.close()


def build_scheduler(app) -> BlockingScheduler:
    """Three jobs: the timer sweep every SCHEDULER_SWEEP_SECONDS, the outbox delivery
    every SCHEDULER_OUTBOX_SECONDS (a one-time code should not wait for the sweep), and the
    monitoring reports (the daily backlog snapshot, the weekly summaries; each does its
    work once a day or week whatever the interval) every SCHEDULER_REPORTS_SECONDS; and,
    when MAIL_IMAP_URL is set, the helpdesk mailbox fetch every MAIL_FETCH_SECONDS. One
    worker thread runs them one after the other, so they never write at the same time
    (SQLite has one writer); a run that comes due while the other job works runs late
    rather than being skipped."""
    from apscheduler.executors.pool import ThreadPoolExecutor

    sched = BlockingScheduler(timezone="UTC", executors={"default": ThreadPoolExecutor(max_workers=1)})

    def sweep_job():
        from app.services import timers

        try:
            with app.app_context():
                result = timers.sweep(datetime.utcnow())
            if any(result.values()):
                log.info("timers: %s", result)
        except Exception:  # noqa: BLE001 - log and keep the scheduler alive
            log.exception("scheduled timer sweep failed")

    def outbox_job():
        from app.services import notify

        try:
            with app.app_context():
                result = notify.deliver_due(datetime.utcnow())
            if any(result.values()):
                log.info("outbox: %s", result)
        except Exception:  # noqa: BLE001 - log and keep the scheduler alive
            log.exception("scheduled outbox delivery failed")

    def reports_job():
        from app.services import summary

        try:
            with app.app_context():
                now = datetime.utcnow()
                result = {"snapshot_rows": summary.snapshot(now), "weekly_summaries": summary.send_weekly(now)}
            if any(result.values()):
                log.info("reports: %s", result)
        except Exception:  # noqa: BLE001 - log and keep the scheduler alive
            log.exception("scheduled monitoring reports failed")

    def mail_job():
        from app.services import mail_intake

        try:
            with app.app_context():
                result = mail_intake.fetch()
            if any(result.values()):
                log.info("mail: %s", result)
        except Exception:  # noqa: BLE001 - a mailbox down is logged; the next run retries
            log.exception("scheduled mail fetch failed")

    common = dict(replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=None,
                  next_run_time=datetime.utcnow())
    if app.config.get("MAIL_IMAP_URL"):
        sched.add_job(mail_job, "interval", seconds=app.config["MAIL_FETCH_SECONDS"], id="mail", **common)
    sched.add_job(sweep_job, "interval", seconds=app.config["SCHEDULER_SWEEP_SECONDS"], id="sweep", **common)
    sched.add_job(outbox_job, "interval", seconds=app.config["SCHEDULER_OUTBOX_SECONDS"], id="outbox",
                  **common)
    sched.add_job(reports_job, "interval", seconds=app.config["SCHEDULER_REPORTS_SECONDS"], id="reports",
                  **common)
    return sched
