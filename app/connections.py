"""Pooled PostgreSQL connections, checked for life at checkout without a round trip.

SQLAlchemy's `pool_pre_ping` sends `SELECT 1` at every checkout: one request, one more
round trip, and on a two-core machine the database server's share of the CPU with it.
The check here asks the connection's socket instead. A connection resting in the pool
has read all the server sent it, so if its socket is now readable (or hung up, or in
error), the server has ended the session — a restart, `pg_terminate_backend`, an idle
timeout: PostgreSQL sends its FATAL message and closes. Such a connection is refused at
checkout by raising `DisconnectionError`, SQLAlchemy's documented way to make the pool
drop it and hand out a fresh one. Anything else readable on an idle connection (a
notice) costs a reconnect, not an error.

What neither check sees in time is a peer that vanished without closing (a cut network
cable): `SELECT 1` would wait for TCP's timeout just as the first statement does.

SQLite needs no check (a file, no server) and gets none; other databases keep
`pool_pre_ping`.

Behind PgBouncer in transaction mode (`DATABASE_POOLER=pgbouncer`) psycopg must not
prepare statements: it names them per client connection (`_pg3_0`, …) and would find them
missing, or another client's of the same name, on whichever server connection PgBouncer
lends it next (PgBouncer before 1.21 — Debian 12 has 1.18 — does not track them). The
engine then connects with `prepare_threshold=None`.
"""

from __future__ import annotations

import select

from sqlalchemy import event, exc

from app.extensions import db

POOLERS = ("", "pgbouncer")
_DEAD = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLNVAL


def configure(app) -> None:
    """Before `db.init_app`: choose how pooled connections are checked."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite") or (uri.startswith("postgresql+psycopg") and app.config.get(
            "DB_SOCKET_CHECK", True)):
        options["pool_pre_ping"] = False
    pooler = (app.config.get("DATABASE_POOLER") or "").strip().lower()
    if pooler not in POOLERS:
        raise ValueError(f"DATABASE_POOLER={pooler!r}: known values are 'pgbouncer' or none")
    if pooler == "pgbouncer" and uri.startswith("postgresql+psycopg"):
        # transaction pooling: no server-side prepared statements (see the module)
        options["connect_args"] = {**(options.get("connect_args") or {}), "prepare_threshold": None}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def init_app(app) -> None:
    """After `db.init_app`: check PostgreSQL connections at checkout (see the module)."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("postgresql+psycopg") or not app.config.get("DB_SOCKET_CHECK", True):
        return
    with app.app_context():
        event.listen(db.engine, "checkout", _refuse_if_closed_by_server)


def closed_by_server(dbapi_conn) -> bool:
    """Has the server ended this idle psycopg connection? (No round trip.)"""
    if dbapi_conn.closed or dbapi_conn.broken:
        return True
    try:
        fd = dbapi_conn.fileno()
    except Exception:  # noqa: BLE001 - psycopg raises when it has no socket any more
        return True
    poller = select.poll()
    poller.register(fd, _DEAD)
    return bool(poller.poll(0))


def _refuse_if_closed_by_server(dbapi_conn, _record, _proxy) -> None:
    if closed_by_server(dbapi_conn):
        raise exc.DisconnectionError("the server closed this pooled connection")
