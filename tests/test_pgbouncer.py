"""PgBouncer in transaction mode (issue 28 item 7): with `DATABASE_POOLER=pgbouncer` psycopg
prepares no statements, and the scheduler's session lock insists on a direct connection.
Through a real PgBouncer (`.ci/pgbouncer.sh`, `TEST_DATABASE_URL` pointing at it and
`DATABASE_POOLER=pgbouncer`) the tests below also show the failure the setting avoids."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import make_url, text

from app import connections
from app.extensions import db
from app.jobs import LockNeedsDirectConnection, SchedulerLock

BEHIND_PGBOUNCER = (os.environ.get("DATABASE_POOLER") == "pgbouncer"
                    and os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"))
needs_pgbouncer = pytest.mark.skipif(
    not BEHIND_PGBOUNCER, reason="needs TEST_DATABASE_URL through PgBouncer (transaction mode) and "
                                 "DATABASE_POOLER=pgbouncer: eval \"$(bash .ci/pgbouncer.sh start URL)\"")


class _Fake:
    def __init__(self, uri, **config):
        self.config = {"SQLALCHEMY_DATABASE_URI": uri, **config}


def test_the_setting_turns_prepared_statements_off():
    fake = _Fake("postgresql+psycopg://u@h/d", DATABASE_POOLER="pgbouncer",
                 SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 5}})
    connections.configure(fake)
    assert fake.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 5,
                                                                        "prepare_threshold": None}
    plain = _Fake("postgresql+psycopg://u@h/d", DATABASE_POOLER="")
    connections.configure(plain)
    assert "connect_args" not in plain.config["SQLALCHEMY_ENGINE_OPTIONS"]
    with pytest.raises(ValueError, match="DATABASE_POOLER"):
        connections.configure(_Fake("postgresql+psycopg://u@h/d", DATABASE_POOLER="pgpool"))


def test_the_scheduler_lock_refuses_to_go_through_pgbouncer(app):
    app.config.update(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://u@127.0.0.1:6432/d",
                      DATABASE_POOLER="pgbouncer", SCHEDULER_LOCK_DATABASE_URL=None)
    with pytest.raises(LockNeedsDirectConnection, match="SCHEDULER_LOCK_DATABASE_URL"):
        SchedulerLock(app).acquire()


def _raw(prepare_threshold):
    import psycopg

    url = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True,
                           prepare_threshold=prepare_threshold)


@needs_pgbouncer
def test_psycopgs_prepared_statements_break_behind_pgbouncer():
    """What `prepare_threshold=None` avoids: two clients name their first prepared
    statement alike (`_pg3_0`), and PgBouncer lends both the same server connection in
    turn (it reuses the last one let go)."""
    import psycopg

    first, second = _raw(0), _raw(0)
    try:
        first.execute("SELECT 1").fetchone()
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            second.execute("SELECT 1").fetchone()
    finally:
        # The server connection keeps the statement after both clients are gone: forget
        # it there (the connection just let go is lent again), or later tests trip on it.
        second.execute("DEALLOCATE ALL", prepare=False)
        first.close()
        second.close()
    first, second = _raw(None), _raw(None)
    try:
        for _ in range(10):
            assert first.execute("SELECT 1").fetchone() == (1,)
            assert second.execute("SELECT 1").fetchone() == (1,)
    finally:
        first.close()
        second.close()


@needs_pgbouncer
def test_the_apps_engine_prepares_nothing_and_repeats_statements_on_many_connections(app):
    conns = [db.engine.connect() for _ in range(3)]
    try:
        assert all(c.connection.driver_connection.prepare_threshold is None for c in conns)
        for _ in range(8):  # past psycopg's default threshold (5) on every connection
            for conn in conns:
                assert conn.execute(text("SELECT count(*) FROM org_unit")).scalar() == 0
                conn.rollback()
    finally:
        for conn in conns:
            conn.close()
