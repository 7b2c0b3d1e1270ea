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
        result["digests"] = notify.send_digests(now)  # office digests (OFFICE_NOTICE_MODE=digest)
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


def _logged(app, name: str, work):
    """`work` as a scheduler job: in an app context, its result logged as `name: {...}`
    when it did something, and any failure logged without stopping the scheduler (the next
    run retries; a mailbox or a gateway that is down must not end the timers)."""

    def job():
        try:
            with app.app_context():
                result = work()
            if any(result.values()):
                log.info("%s: %s", name, result)
        except Exception:  # noqa: BLE001 - log and keep the scheduler alive
            log.exception("scheduled %s failed", name)

    return job


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

    def sweep():
        from app.services import timers

        return timers.sweep(datetime.utcnow())

    def outbox():
        from app.services import notify

        return notify.scheduled(datetime.utcnow())  # digests; delivery unless DELIVERY_WORKERS

    def reports():
        from app.services import summary

        now = datetime.utcnow()
        return {"snapshot_rows": summary.snapshot(now), "weekly_summaries": summary.send_weekly(now)}

    def mail():
        from app.services import mail_intake

        return mail_intake.fetch()

    jobs = [("timers", sweep, "SCHEDULER_SWEEP_SECONDS"), ("outbox", outbox, "SCHEDULER_OUTBOX_SECONDS"),
            ("reports", reports, "SCHEDULER_REPORTS_SECONDS")]
    if app.config.get("MAIL_IMAP_URL"):
        jobs.insert(0, ("mail", mail, "MAIL_FETCH_SECONDS"))
    ids = {"timers": "sweep"}  # the sweep's job id predates the others
    for name, work, interval in jobs:
        sched.add_job(_logged(app, name, work), "interval", seconds=app.config[interval],
                      id=ids.get(name, name), name=name, replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=datetime.utcnow())
    return sched
