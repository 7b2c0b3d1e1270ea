"""A standby scheduler (issue 28 item 3): a second `flask scheduler` waits on the lock and
takes over when the first dies. Two real processes on PostgreSQL (and on SQLite with its
lock file), the first killed with SIGKILL; and a lost lock connection noticed in process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from app.jobs import SchedulerLock

ROOT = Path(__file__).resolve().parent.parent
TEST_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_URL.startswith("postgresql")
JOB_RAN = re.compile(r'Job "\w+ \(trigger: interval.*executed successfully')


def _psycopg_url(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def scheduler_database():
    """A database of its own (`<test database>_sched`), built by the migrations: the
    schedulers' jobs must not touch the suite's rows."""
    import psycopg

    url = make_url(TEST_URL).set(database=f"{make_url(TEST_URL).database}_sched")
    admin = _psycopg_url(url.set(database="postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{url.database}"')
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


class Scheduler:
    """`flask --app wsgi scheduler` in its own process, its output in a file."""

    def __init__(self, env: dict, log: Path):
        self.log = log
        self.out = log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=ROOT,
                                     env=env, stdout=self.out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, pattern: str | re.Pattern, timeout: float, after: int = 0) -> float:
        """Seconds until `pattern` appears in the output (after character `after`)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if re.search(pattern, self.text()[after:]):
                return time.monotonic() - start
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"no {pattern!r} within {timeout} s (exit {self.proc.poll()}):\n{self.text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.out.close()


def _env(database_url: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEDULER_", "PORTAL_ENV", "MAIL_IMAP"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY="standby-test", PYTHONUNBUFFERED="1",
               SCHEDULER_LOCK_POLL_SECONDS="1", SCHEDULER_SWEEP_SECONDS="2", SCHEDULER_OUTBOX_SECONDS="2",
               SCHEDULER_REPORTS_SECONDS="2", SCHEDULER_RETENTION_SECONDS="2",
               SCHEDULER_LOCK_FILE=str(tmp_path / "scheduler.lock"), NOTIFY_EMAIL_BACKEND="file",
               NOTIFY_SMS_BACKEND="file")
    direct = os.environ.get("SCHEDULER_LOCK_DATABASE_URL")
    if direct and database_url.startswith("postgresql"):  # behind PgBouncer: the lock goes direct
        env["SCHEDULER_LOCK_DATABASE_URL"] = make_url(direct).set(
            database=make_url(database_url).database).render_as_string(hide_password=False)
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    return env


def _second_takes_over_when_the_first_is_killed(env: dict, tmp_path: Path, end_lock_session=None) -> None:
    first = Scheduler(env, tmp_path / "first.log")
    second = None
    try:
        first.wait_for("Scheduler running", 60)
        first.wait_for(JOB_RAN, 30)
        second = Scheduler(env, tmp_path / "second.log")
        second.wait_for("standing by", 60)
        time.sleep(3)  # jobs come due meanwhile: only the first runs them
        assert not JOB_RAN.search(second.text()), second.text()
        assert "Scheduler running" not in second.text()

        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        took = second.wait_for("Took over the scheduler lock", 60)
        ran = second.wait_for(JOB_RAN, 60 - took, after=second.text().index("Took over"))
        assert took + ran < 60
        print(f"took over after {took:.1f} s, ran a job {ran:.1f} s later")  # noqa: T201 - shown with -s

        if end_lock_session is not None:
            # the database ends the lock's session (a restart, a cut): the scheduler stops
            # its jobs, stands by, and — nobody else holding the lock — runs them again
            mark = len(second.text())
            end_lock_session()
            second.wait_for("scheduler lock lost", 30, after=mark)
            second.wait_for("Scheduler running", 30, after=mark)
            second.wait_for(JOB_RAN, 30, after=second.text().rindex("Scheduler running"))

        second.proc.send_signal(signal.SIGINT)  # Ctrl+C: a quiet end
        assert second.proc.wait(30) == 0
        assert "Traceback" not in second.text(), second.text()
    finally:
        first.stop()
        if second is not None:
            second.stop()


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL on PostgreSQL (two scheduler processes)")
def test_a_standby_scheduler_takes_over_on_postgresql(scheduler_database, tmp_path):
    import psycopg

    def end_lock_session():
        with psycopg.connect(_psycopg_url(make_url(scheduler_database)), autocommit=True) as conn:
            ended = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                 " WHERE application_name = 'sevadesk-scheduler-lock'"
                                 " AND datname = current_database()").fetchall()
        assert ended == [(True,)]

    _second_takes_over_when_the_first_is_killed(_env(scheduler_database, tmp_path), tmp_path, end_lock_session)


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite variant runs in the SQLite pass")
def test_a_standby_scheduler_takes_over_on_sqlite(tmp_path):
    _second_takes_over_when_the_first_is_killed(_env(f"sqlite:///{tmp_path}/portal.sqlite", tmp_path), tmp_path)


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL on PostgreSQL")
def test_a_lost_lock_connection_is_noticed_and_the_lock_is_free_again(app):
    from app.extensions import db

    app.config["SCHEDULER_LOCK_POLL_SECONDS"] = 1
    holder, standby = SchedulerLock(app), SchedulerLock(app)
    try:
        assert holder.acquire() and holder.held()
        assert not standby.acquire()
        with db.engine.connect() as conn:  # the database ends the holder's session
            ended = conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'sevadesk-scheduler-lock' AND pid IN"
                " (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)")).scalars().all()
        assert ended == [True]
        assert not holder.held()
        assert standby.acquire() and standby.held()
    finally:
        standby.release()
        holder.release()
