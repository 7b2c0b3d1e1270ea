"""Pooled PostgreSQL connections are checked at checkout by their socket, not a round trip."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from app import connections
from app.extensions import db


def _pg_only(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")


def test_no_round_trip_check_on_sqlite_or_psycopg_and_the_ping_kept_elsewhere(app):
    class Fake:
        def __init__(self, uri, **extra):
            self.config = {"SQLALCHEMY_DATABASE_URI": uri, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
                           **extra}

    for uri, ping in [("sqlite:///x.sqlite", False), ("postgresql+psycopg://u@h/d", False),
                      ("mysql+pymysql://u@h/d", True)]:
        fake = Fake(uri)
        connections.configure(fake)
        assert fake.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is ping, uri
    fake = Fake("postgresql+psycopg://u@h/d", DB_SOCKET_CHECK=False)  # the old way, on request
    connections.configure(fake)
    assert fake.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    assert db.engine.pool._pre_ping is False


def _terminate(app, pid: int | None = None) -> int:
    """End one backend (or every other one of this database) from a connection of its own."""
    admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    try:
        with admin.connect() as other:
            if pid is not None:
                return other.execute(text("SELECT count(pg_terminate_backend(:pid))"), {"pid": pid}).scalar()
            return other.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                      "AND backend_type = 'client backend'")).scalar()
    finally:
        admin.dispose()


def _wait_until_closed(dbapi_conn) -> bool:
    for _ in range(100):  # the FATAL message and the close arrive asynchronously
        if connections.closed_by_server(dbapi_conn):
            return True
        time.sleep(0.02)
    return False


def test_a_healthy_idle_connection_passes_and_a_terminated_one_is_seen(app):
    _pg_only(app)
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    raw = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
    try:
        pid = raw.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert connections.closed_by_server(raw) is False
        assert _terminate(app, pid) == 1
        assert _wait_until_closed(raw)
    finally:
        raw.close()


def test_the_pool_replaces_a_connection_the_server_ended_and_reuses_a_live_one(app):
    _pg_only(app)
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=1, max_overflow=0,
                           pool_pre_ping=False)
    event.listen(engine, "checkout", connections._refuse_if_closed_by_server)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with engine.connect() as conn:  # alive: the same connection, and no SELECT 1 for it
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == first
        assert statements == ["SELECT pg_backend_pid()"] * 2
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
        assert _terminate(app, first) == 1
        assert _wait_until_closed(raw)
        with engine.connect() as conn:  # no error: the pool connected anew
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != first
    finally:
        engine.dispose()


def test_pages_keep_working_after_the_server_ends_the_pools_connections(app, client, auth, world):
    _pg_only(app)
    auth.login(world.d1_op.login_id)
    assert client.get("/cases/").status_code == 200
    db.session.remove()  # the pooled connections are idle now, as between two requests
    assert _terminate(app) >= 1
    time.sleep(0.2)
    r = client.get("/cases/")
    assert r.status_code == 200 and world.d1_op.name in r.get_data(as_text=True)
