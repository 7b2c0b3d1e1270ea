"""Pages that only read run without a database transaction (app/read_only.py): no
BEGIN … ROLLBACK, so PostgreSQL keeps a connection's prepared statements between pages."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.extensions import db
from tests.factories import make_case


@contextmanager
def isolation_levels():
    """The isolation level of the connection each SQL statement ran on."""
    seen = []

    def before(conn, *_args):
        seen.append(conn.get_execution_options().get("isolation_level"))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _end_test_transaction():
    # The tests' own session (one application context for the whole test) must not be
    # in a transaction, as a web worker's fresh session never is.
    db.session.commit()


def test_a_page_that_reads_runs_every_statement_in_autocommit(client, auth, world):
    case = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    for path in ("/cases/", f"/cases/{case.reference}"):
        _end_test_transaction()
        with isolation_levels() as seen:
            assert client.get(path).status_code == 200
        assert seen and set(seen) == {"AUTOCOMMIT"}, path


def test_the_session_leaves_autocommit_after_the_page(client, auth, world):
    auth.login(world.d1_op.login_id)
    _end_test_transaction()
    assert client.get("/cases/").status_code == 200
    assert not db.session().in_transaction()
    with isolation_levels() as seen:
        db.session.get(type(world.d1), world.d1.id)
    assert "AUTOCOMMIT" not in seen


def test_a_form_post_keeps_its_transaction(client, auth, world):
    case = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    _end_test_transaction()
    with isolation_levels() as seen:
        client.post(f"/cases/{case.reference}/act", data={"action": "start", "version": case.version})
    assert seen and "AUTOCOMMIT" not in seen


def test_the_csv_export_streams_inside_a_transaction(client, auth, world):
    # yield_per reads through a server-side cursor, which PostgreSQL allows only inside
    # a transaction: the export is marked @in_transaction.
    make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    _end_test_transaction()
    with isolation_levels() as seen:
        r = client.get("/cases/export.csv")
        body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.count("\n") >= 2
    assert seen and "AUTOCOMMIT" not in seen


def test_a_refused_page_still_records_its_audit_entry(client, auth, world):
    # A GET that writes one row (the audit record of a refusal) commits it on its own.
    from sqlalchemy import func, select

    from app.models import AuditLog

    auth.login(world.d1_op.login_id)
    _end_test_transaction()
    before = db.session.scalar(select(func.count(AuditLog.id)))
    _end_test_transaction()
    assert client.get("/admin/").status_code == 403
    assert db.session.scalar(select(func.count(AuditLog.id))) == before + 1


@pytest.mark.postgres
def test_prepared_statements_survive_from_one_page_to_the_next(client, auth, world):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    case = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    names = set()

    def before(conn, *_args):
        names.update(conn.connection.dbapi_connection._prepared._names.values())

    # psycopg prepares a statement on its sixth run on one connection; the pool hands its
    # (up to five) connections out in turn, and earlier tests may have filled it.
    for _ in range(40):
        _end_test_transaction()
        assert client.get(f"/cases/{case.reference}").status_code == 200
    _end_test_transaction()
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        assert client.get(f"/cases/{case.reference}").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    if client.application.config.get("DATABASE_POOLER") == "pgbouncer":
        assert not names  # behind PgBouncer (DATABASE_POOLER=pgbouncer): psycopg prepares nothing
    else:
        assert names, "no statement stayed prepared"
