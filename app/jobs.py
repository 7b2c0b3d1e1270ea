"""The scheduler: one dedicated process (`flask scheduler`) runs the timer sweep, the
outbox delivery, the reports and the retention purge. A lock (PostgreSQL advisory lock, or a
file lock for SQLite) lets one scheduler run the jobs; a second one stands by and takes
over within SCHEDULER_LOCK_POLL_SECONDS of the lock being let go (its holder died). Every
job is idempotent anyway."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from datetime import datetime
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger("sevadesk.jobs")
ADVISORY_KEY = 7_346_201  # arbitrary, constant: "the Seva Desk scheduler"


def run_once(app, now: datetime | None = None) -> dict:
    """One pass of every job (what `flask run-jobs` does)."""
    from app.extensions import db
    from app.services.engine import notify, timers
    from app.services.infrastructure import partitions, retention
    from app.services.read_models import summary

    with app.app_context():
        now = now or datetime.utcnow()
        result = {"timers": timers.sweep(now)}
        result["digests"] = notify.send_digests(now)  # office digests (OFFICE_NOTICE_MODE=digest)
        # the daily backlog snapshot and the weekly summaries (each once: idempotent)
        result["reports"] = {"snapshot_rows": summary.snapshot(now), "weekly_summaries": summary.send_weekly(now)}
        result["outbox"] = notify.deliver_due(now)
        result["retention"] = retention.scheduled(now)
        db.session.commit()  # nothing of this process's own open reads for the partitions' locks to wait on
        result["partitions"] = partitions.maintain(now)
        if app.config.get("MAIL_IMAP_URL"):
            from app.services.front_doors import mail_intake

            result["mail"] = mail_intake.fetch(now=now)
    return result


class LockNeedsDirectConnection(RuntimeError):
    """PostgreSQL through PgBouncer without SCHEDULER_LOCK_DATABASE_URL."""


class SchedulerLock:
    """The right to run the jobs, held for the life of the scheduler process.

    PostgreSQL: a session-level advisory lock on a connection of its own (not from the
    pool, so it is never handed to a job or a web request), with TCP keepalives both ways:
    the server lets the lock go within about half a minute of the holder's host dying (at
    once when only the process dies: its socket closes), and the holder notices a lost
    connection (`held()`). SQLite (one host): `fcntl.flock` on a lock file, which the OS
    lets go when the process dies.

    `acquire()` tries once; `wait()` polls every SCHEDULER_LOCK_POLL_SECONDS until it gets
    the lock (a standby scheduler)."""

    def __init__(self, app):
        self.app = app
        self._fh = None
        self._conn = None
        self._engine = None

    @property
    def poll_seconds(self) -> float:
        return float(self.app.config.get("SCHEDULER_LOCK_POLL_SECONDS", 10))

    def _is_postgres(self) -> bool:
        return self._url().startswith("postgresql")

    def _url(self) -> str:
        direct = self.app.config.get("SCHEDULER_LOCK_DATABASE_URL")
        if direct:
            return direct
        uri = self.app.config["SQLALCHEMY_DATABASE_URI"]
        if uri.startswith("postgresql") and (self.app.config.get("DATABASE_POOLER") or "").lower() == "pgbouncer":
            # Behind PgBouncer in transaction mode a session lock means nothing: each
            # statement may land on another server connection, which keeps the lock
            # after this process dies, or gives it to a second scheduler.
            raise LockNeedsDirectConnection(
                "DATABASE_POOLER=pgbouncer: the scheduler's lock needs a direct connection to "
                "PostgreSQL. Set SCHEDULER_LOCK_DATABASE_URL to a URL that bypasses PgBouncer "
                "(docs/operations.md#behind-pgbouncer).")
        return uri

    def _connect(self):
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        if self._engine is None:
            self._engine = create_engine(self._url(), poolclass=NullPool, connect_args={
                "application_name": "sevadesk-scheduler-lock", "connect_timeout": 10,
                # the client notices a dead server or network within ~30 s ...
                "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
                "tcp_user_timeout": 30_000})
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # ... and the server a dead client (it then ends the session and lets the lock go).
        for setting, value in (("tcp_keepalives_idle", 10), ("tcp_keepalives_interval", 5),
                               ("tcp_keepalives_count", 3)):
            conn.execute(text(f"SET {setting} = {value}"))
        return conn

    def acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        if self._is_postgres():
            from sqlalchemy import text

            try:
                if self._conn is None:
                    self._conn = self._connect()
                return bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                               {"k": ADVISORY_KEY}).scalar())
            except Exception as exc:  # noqa: BLE001 - the database away: try again later
                log.warning("scheduler lock: cannot reach the database (%s); trying again", exc.__class__.__name__)
                self._drop_connection()
                return False
        if self._fh is None:
            path = Path(self.app.config.get("SCHEDULER_LOCK_FILE") or Path(self.app.instance_path) / "scheduler.lock")
            self._fh = path.open("a")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._fh.truncate(0)
        self._fh.write(f"{os.getpid()} {datetime.utcnow():%Y-%m-%d %H:%M:%S}\n")
        self._fh.flush()
        return True

    def wait(self, on_standby=None) -> None:
        """Return once this process holds the lock, polling every `poll_seconds`;
        `on_standby()` is called once, when the first try finds it taken."""
        told = False
        while not self.acquire():
            if not told and on_standby is not None:
                on_standby()
            told = True
            time.sleep(self.poll_seconds)

    def held(self) -> bool:
        """Is the lock still ours? (PostgreSQL: the connection may have been lost, and
        with it the lock.)"""
        if self._fh is not None:
            return True
        if self._conn is None:
            return False
        from sqlalchemy import text

        try:
            return bool(self._conn.execute(text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND classid = 0 AND objid = :k AND objsubid = 1)"),
                {"k": ADVISORY_KEY}).scalar())
        except Exception:  # noqa: BLE001 - a lost connection is a lost lock
            return False

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001, S110 - already broken
                pass
            self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            from sqlalchemy import text

            try:
                self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
            except Exception:  # noqa: BLE001, S110 - a lost connection holds nothing
                pass
            self._drop_connection()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._fh is not None:
            self._fh.close()  # closing the file lets the flock go
            self._fh = None


def watch_lock(lock: SchedulerLock, sched, stop: threading.Event) -> threading.Thread:
    """A thread that checks every `lock.poll_seconds` that the lock is still held and,
    when it is not (PostgreSQL restarted, the network cut), stops `sched`: another
    scheduler may hold it by now. The caller then stands by again."""

    def run():
        while not stop.wait(lock.poll_seconds):
            if not lock.held():
                log.error("scheduler lock lost (the database connection went away): stopping the jobs")
                stop.set()
                lock.lost = True
                sched.shutdown(wait=False)
                return

    lock.lost = False
    thread = threading.Thread(target=run, name="scheduler-lock-watch", daemon=True)
    thread.start()
    return thread


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
    """Six jobs: the timer sweep every SCHEDULER_SWEEP_SECONDS, the outbox delivery
    every SCHEDULER_OUTBOX_SECONDS (a one-time code should not wait for the sweep), and the
    monitoring reports (the daily backlog snapshot, the weekly summaries; each does its
    work once a day or week whatever the interval) every SCHEDULER_REPORTS_SECONDS, the
    uploads' orphan sweep every SCHEDULER_UPLOADS_SECONDS, the retention purge (bounded
    batches, `app.services.infrastructure.retention`) every SCHEDULER_RETENTION_SECONDS, the
    monthly partitions of PostgreSQL (`app.services.infrastructure.partitions`) every
    SCHEDULER_PARTITIONS_SECONDS; and,
    when MAIL_IMAP_URL is set, the helpdesk mailbox fetch every MAIL_FETCH_SECONDS. One
    worker thread runs them one after the other, so they never write at the same time
    (SQLite has one writer); a run that comes due while the other job works runs late
    rather than being skipped."""
    from apscheduler.executors.pool import ThreadPoolExecutor

    sched = BlockingScheduler(timezone="UTC", executors={"default": ThreadPoolExecutor(max_workers=1)})

    def sweep():
        from app.services.engine import timers

        return timers.sweep(datetime.utcnow())

    def outbox():
        from app.services.engine import notify

        return notify.scheduled(datetime.utcnow())  # digests; delivery unless DELIVERY_WORKERS

    def reports():
        from app.services.read_models import summary

        now = datetime.utcnow()
        return {"snapshot_rows": summary.snapshot(now), "weekly_summaries": summary.send_weekly(now)}

    def mail():
        from app.services.front_doors import mail_intake

        return mail_intake.fetch()

    def uploads_sweep():
        from app.services.infrastructure import uploads

        return uploads.sweep_orphans()

    def purge():
        from app.services.infrastructure import retention

        return retention.scheduled(datetime.utcnow())

    def monthly_partitions():
        from app.services.infrastructure import partitions

        return partitions.maintain(datetime.utcnow())

    jobs = [("timers", sweep, "SCHEDULER_SWEEP_SECONDS"), ("outbox", outbox, "SCHEDULER_OUTBOX_SECONDS"),
            ("reports", reports, "SCHEDULER_REPORTS_SECONDS"),
            ("uploads", uploads_sweep, "SCHEDULER_UPLOADS_SECONDS"),
            ("retention", purge, "SCHEDULER_RETENTION_SECONDS"),
            ("partitions", monthly_partitions, "SCHEDULER_PARTITIONS_SECONDS")]
    if app.config.get("MAIL_IMAP_URL"):
        jobs.insert(0, ("mail", mail, "MAIL_FETCH_SECONDS"))
    ids = {"timers": "sweep"}  # the sweep's job id predates the others
    for name, work, interval in jobs:
        sched.add_job(_logged(app, name, work), "interval", seconds=app.config[interval],
                      id=ids.get(name, name), name=name, replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=datetime.utcnow())
    return sched
