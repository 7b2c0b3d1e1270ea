"""Pages that only read (GET and HEAD) run without a database transaction.

A read wraps its statements in BEGIN … ROLLBACK for nothing: two more round trips, and
psycopg forgets every prepared statement of a connection at each ROLLBACK, so PostgreSQL
would parse and plan each statement of every page anew (most of its time on a case page).
In autocommit the statements a worker runs again and again stay prepared on its connection
(not behind PgBouncer in transaction mode, where `DATABASE_POOLER=pgbouncer` turns psycopg's
prepared statements off: app/connections.py; reads still save the BEGIN and ROLLBACK).

A GET view that writes, or that reads through a server-side cursor (`yield_per`, which
PostgreSQL allows only inside a transaction), is marked `@in_transaction` and keeps the
usual transaction.
"""

from __future__ import annotations

from flask import g, request

from app.extensions import db

READ_METHODS = frozenset({"GET", "HEAD"})


def in_transaction(view):
    """Mark a GET view that writes or streams with a server-side cursor: it keeps a
    transaction."""
    view.in_transaction = True
    return view


def init_app(app) -> None:
    @app.before_request
    def read_without_transaction():
        if request.method not in READ_METHODS or request.endpoint in (None, "static"):
            return
        view = app.view_functions.get(request.endpoint)
        if view is None or getattr(view, "in_transaction", False):
            return
        session = db.session()
        if session.in_transaction():  # already in one (a test's session): keep it
            return
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        g.read_only_session = True

    @app.teardown_request
    def end_read(_exc):
        if g.pop("read_only_session", False):
            # Nothing to undo; ends the session's use of the connection, so whatever runs
            # next in this application context (a test) starts a transaction of its own.
            db.session.rollback()
