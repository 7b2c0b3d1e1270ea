"""The timer sweep's batches: all cases of a batch with one flush when it can, one by one
(each in a SAVEPOINT) when a case of the batch refuses — and never a half-applied case."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, CaseEvent, Notification
from app.services.engine import cases, timers
from app.services.read_models import tallies
from tests.conftest import NOW
from tests.factories import make_case
from tests.plans import with_parent_indexes

H = timedelta(hours=1)


def _awaiting(world, n):
    out = []
    for _ in range(n):
        c = make_case("complaint", world.ho1, actor=world.ho1_op)
        cases.act(c, "start", actor=world.ho1_op, now=NOW)
        cases.act(c, "propose_resolution", actor=world.ho1_op, now=NOW, text="Delivered.")
        out.append(c)
    return out


def _events(type_):
    return db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.type == type_))


def test_batch_closes_every_due_case_with_one_flush(world):
    due = _awaiting(world, 5)
    assert timers.sweep(NOW + 49 * H)["auto_closed"] == 5
    db.session.expire_all()
    assert {db.session.get(Case, c.id).status for c in due} == {wf.CLOSED}
    assert _events("confirmation_timeout") == 5
    assert tallies.check() == []


def test_a_case_changed_meanwhile_is_skipped_and_the_rest_of_its_batch_goes_on(world):
    due = _awaiting(world, 4)
    bumped = due[1]
    n_before = db.session.scalar(select(func.coalesce(func.max(Notification.id), 0)))
    real_due_ids = timers._due_ids

    def due_then_bump(*args, **kwargs):
        rows = real_due_ids(*args, **kwargs)
        if rows:  # another worker changes one case after the sweep found it due
            with db.engine.begin() as other:
                other.execute(text('UPDATE "case" SET version = version + 1 WHERE id = :id'), {"id": bumped.id})
        return rows

    timers._due_ids = due_then_bump
    try:
        counts = timers.sweep(NOW + 49 * H)
    finally:
        timers._due_ids = real_due_ids
    assert counts["auto_closed"] == 3
    db.session.expire_all()
    assert db.session.get(Case, bumped.id).status == wf.AWAITING_CONFIRMATION
    assert [db.session.get(Case, c.id).status for c in due if c.id != bumped.id] == [wf.CLOSED] * 3
    assert _events("confirmation_timeout") == 3
    # closing messages for the three closed cases, none for the skipped one
    closed_msgs = set(db.session.scalars(select(Notification.case_id).where(
        Notification.template == "case_closed", Notification.id > n_before)))
    assert closed_msgs == {c.id for c in due if c.id != bumped.id}
    assert tallies.check() == []


def test_act_many_is_all_or_nothing(world):
    due = _awaiting(world, 3)
    db.session.expire_all()
    batch = [(db.session.get(Case, c.id), c.version) for c in due]
    batch[2] = (batch[2][0], batch[2][1] - 1)  # seen at an older version
    with pytest.raises(cases.BatchRefused):
        cases.act_many(batch, "confirmation_timeout", now=NOW + 49 * H)
    db.session.rollback()
    db.session.expire_all()
    assert {db.session.get(Case, c.id).status for c in due} == {wf.AWAITING_CONFIRMATION}
    assert _events("confirmation_timeout") == 0
    assert tallies.check() == []


# ANALYZE's statistics of a million generated cases (bench-data): a status matches a
# sixth of the cases, so without care the planner prefers walking the table in id order.
_MILLION = {
    'ix_case_assignee_id': '1000000 14706',
    'ix_case_dashboard': '1000000 25000 20834 1115 233 1 1 1 1 1',
    'ix_case_kind_status_created': '1000000 200000 47620 1',
    'ix_case_office_active': '25927 649 1 1',
    'ix_case_office_closed': '1000000 25000 1',
    'ix_case_office_created': '1000000 25000 1',
    'ix_case_office_status_created': '1000000 25000 4927 1',
    'ix_case_raised_by_id': '1000000 1000000',
    'ix_case_raising_office_id': '1000000 27028',
    'ix_case_related_case_id': '1000000 1000000',
    'ix_case_requester_mobile': '1000000 1',
    'ix_case_status_confirmation_due': '1000000 166667 142858',
    'ix_case_status_info_due': '1000000 166667 166667',
    'ix_case_status_resolution_due': '70000 7000 1',
    'ix_case_status_response_due': '70000 7000 1',
    'sqlite_autoindex_case_1': '1000000 1',
    'sqlite_autoindex_case_2': '1000000 1000000',
}


# The index each rule's due query must read (a partial index: see `timers.rules`).
_RULE_INDEX = {
    "auto_closed": "ix_case_status_confirmation_due",
    "info_timeout": "ix_case_status_info_due",
    "escalated": "ix_case_status_resolution_due",
    # the same overdue condition as "escalated" (an OR of the response and resolution due
    # times: SQLite reads both indexes, PostgreSQL's generic plan the resolution one)
    "breached": "ix_case_status_resolution_due",
}


def _rule_plans(now):
    for name, condition, statuses, _action, kinds in timers.rules(now):
        q = timers._due_query(condition, statuses, kinds, 0, timers.CHUNK)
        yield name, q


def test_due_cases_are_found_by_the_rules_indexes_not_a_table_walk(world):
    """Only due rows are read: on SQLite, with the statistics of a large table, the
    planner would otherwise walk the table in id order (ORDER BY id), every case. The
    indexes are partial: SQLite uses one only when the query carries its terms."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL's: the next test")
    db.session.execute(text("ANALYZE"))
    db.session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'case'"))
    for idx, stat in _MILLION.items():
        db.session.execute(text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('case', :idx, :stat)"),
                           {"idx": idx, "stat": stat})
    db.session.commit()
    db.session.execute(text("ANALYZE sqlite_schema"))  # the planner reloads the statistics
    for name, q in _rule_plans(NOW + 49 * H):
        sql = str(q.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " ".join(r[-1] for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert _RULE_INDEX[name] in plan and "PRIMARY KEY" not in plan, (name, plan)


def test_a_prepared_due_query_can_use_its_partial_index_on_postgresql(world):
    """PostgreSQL: a prepared statement's generic plan knows no parameter's value, so the
    partial indexes' predicates must be provable from the query's constants and
    comparisons alone (`NOT_CLOSED`, a constant; a due time compared is not NULL)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner")
    from sqlalchemy import literal
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect(paramstyle="numeric_dollar")
    conn = db.session.connection()
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    # With a few test rows the planner may as well read any index that narrows by status
    # or kind; leave it only the table (switched off) and the rules' own indexes, dropped
    # in this transaction and back when it rolls back.
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    # The planner's idea of the table's size is whatever the tests before left (a CREATE
    # INDEX by a migration test records a handful of rows, and then the primary key's
    # range scan looks cheapest): set it back to "never analysed", as on a fresh database,
    # in this transaction only.
    conn.exec_driver_sql("""UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = '"case"'::regclass
                            OR oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = '"case"'::regclass)""")
    # Every other index of the table goes, the primary key too: walked in id order with the
    # rule as a filter, any of them can look cheapest when the tests before left the table a
    # few pages long (the foreign keys that need the key go with it; all come back with the
    # rollback).
    conn.exec_driver_sql('ALTER TABLE "case" DROP CONSTRAINT pk_case CASCADE')
    rule_indexes = set(_RULE_INDEX.values()) | {"ix_case_status_response_due"}
    for (other,) in conn.exec_driver_sql(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid "
            "WHERE x.indrelid = '\"case\"'::regclass AND c.oid IS NULL").all():
        if other not in rule_indexes:
            conn.exec_driver_sql(f'DROP INDEX "{other}"')
    for n, (name, q) in enumerate(_rule_plans(NOW + 49 * H)):
        compiled = q.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        args = ", ".join(str(literal(compiled.params[k]).compile(
            dialect=dialect, compile_kwargs={"literal_binds": True})) for k in compiled.positiontup)
        conn.exec_driver_sql(f"PREPARE due_{n} AS {compiled}")
        plan = with_parent_indexes(conn, " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN EXECUTE due_{n}({args})")))
        assert _RULE_INDEX[name] in plan, (name, plan)
    db.session.rollback()
