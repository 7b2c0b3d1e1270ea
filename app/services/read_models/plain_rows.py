"""Plain rows of a SELECT of columns, without the ORM's result machinery.

`Session.execute` runs even a SELECT of columns through the ORM's loading machinery,
which builds its row processors anew for every execution: for a 50-row queue page that
was more Python time than PostgreSQL took to run the query. The statements read here
name columns, not entities, so the session's own connection runs them: inside the
session's transaction (or a read-only request's autocommit), after flushing pending
changes as autoflush would have.
"""

from __future__ import annotations

from sqlalchemy import Row

from app.extensions import db


def _connection():
    session = db.session()
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()  # what Session.execute's autoflush would have done
    return session.connection()


def all_rows(stmt, params: dict | None = None) -> list[Row]:
    """Every row of a column SELECT, as plain named rows."""
    return _connection().execute(stmt, params or {}).all()


def first_row(stmt, params: dict | None = None) -> Row | None:
    """The first row of a column SELECT, or None."""
    return _connection().execute(stmt, params or {}).first()
