"""Monthly partitions of `case` and `case_event` on PostgreSQL (issue 28 item 6): the
migration builds them, the job opens each month and keeps headroom, the keys still hold.
The rules, stated here without the module's table of them:

* both tables are partitioned by ranges of `id`, one partition (or more) per month;
* the first run of the job in a month gives that month a partition of its own and the
  next case raised lands in it; a second run in the month does nothing;
* when fewer than half a partition's ids are left, another partition is added;
* foreign keys to both tables are enforced, a reference is unique within its partition;
* the migration keeps every row (both ways) and splits existing rows by their month.

On SQLite there is nothing to partition: the job does nothing, the command says why."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Case, CaseEvent, OrgUnit
from app.services.infrastructure import partitions
from tests.conftest import NOW
from tests.factories import make_case

BEFORE = "e6a4c2f8b1d3"  # the revision before the partitions


def _postgres_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("partitions are PostgreSQL's")


def _layout(table):
    with db.engine.connect() as conn:
        return partitions.layout(conn, table)


def _month_after(month):
    year, m = month
    return (year + 1, 1) if m == 12 else (year, m + 1)


def _next_month_to_open(table="case") -> datetime:
    """A date in the month after the newest partition's (tests share one database)."""
    newest = max(p.month for p in _layout(table) if p.month)
    year, month = _month_after(newest)
    return datetime(year, month, 1, 0, 5)


def _partition_of(table, row_id) -> str:
    return db.session.scalar(text(f'SELECT tableoid::regclass::text FROM "{table}" WHERE id = :i'), {"i": row_id})


def test_both_tables_are_partitioned_by_ranges_of_ids_after_the_migration(app):
    _postgres_only()
    for table in ("case", "case_event"):
        parts = _layout(table)
        assert parts, table
        assert parts[0].low is None and all(p.high is not None for p in parts)
        # contiguous, ascending ranges: every id has exactly one partition
        assert all(a.high == b.low for a, b in zip(parts, parts[1:], strict=False))
        assert all(p.month for p in parts)
        key = db.session.execute(text(
            "SELECT pg_get_partkeydef(CAST(:t AS regclass))"), {"t": f'"{table}"'}).scalar_one()
        assert key == "RANGE (id)"


@pytest.fixture
def small_partitions(app):
    """Partitions of 4 case ids; afterwards the job runs with the usual sizes, so the next
    test finds the headroom a scheduler would have left."""
    _postgres_only()
    app.config["PARTITION_IDS"] = {"case": 4, "case_event": 1000}
    yield
    app.config["PARTITION_IDS"] = {}
    db.session.rollback()
    newest = max(p.month for p in _layout("case") if p.month)
    partitions.maintain(datetime(*newest, 1))


def test_the_first_run_in_a_month_opens_its_partition_and_the_next_case_lands_there(app, world):
    _postgres_only()
    when = _next_month_to_open()
    made = partitions.maintain(when)
    name = f"case_y{when.year:04d}m{when.month:02d}"
    assert name in made["case"]
    assert f"case_event_y{when.year:04d}m{when.month:02d}" in made["case_event"]
    assert partitions.maintain(when.replace(day=2)) == {}  # once a month
    case = make_case("complaint", world.so1, now=when)
    assert _partition_of("case", case.id) == name
    first_event = db.session.scalars(db.select(CaseEvent.id).where(CaseEvent.case_id == case.id)).first()
    assert _partition_of("case_event", first_event).startswith(f"case_event_y{when.year:04d}m{when.month:02d}")


def _sequence_at(table, next_id):
    db.session.execute(text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n, false)"),
                       {"t": f'"{table}"', "n": next_id})
    db.session.commit()


def test_a_month_that_runs_short_of_ids_gets_another_partition(app, world, small_partitions):
    when = _next_month_to_open()
    partitions.maintain(when)
    month = _layout("case")[-1]
    assert month.name == f"case_y{when.year:04d}m{when.month:02d}"
    _sequence_at("case", month.high - 1)  # one id left: less than half a partition (2)
    made = partitions.maintain(when)
    assert made["case"] == [f"{month.name}_2"]
    extra = _layout("case")[-1]
    assert (extra.name, extra.low, extra.high) == (f"{month.name}_2", month.high, month.high + 4)  # PARTITION_IDS
    assert partitions.maintain(when) == {}  # half a partition ahead again: enough
    ids = [make_case("complaint", world.so1, now=when).id for _ in range(3)]
    assert [_partition_of("case", i) for i in ids] == [month.name, extra.name, extra.name]


def test_an_unused_partition_becomes_the_new_months_instead_of_staying_empty(app, world):
    _postgres_only()
    when = _next_month_to_open()
    partitions.maintain(when)
    spare = _layout("case")[-1]  # the month's partition, nothing in it yet
    following = datetime(*_month_after((when.year, when.month)), 1, 0, 5)
    made = partitions.maintain(following)
    renamed = f"case_y{following.year:04d}m{following.month:02d}"
    assert made["case"] == [renamed]
    assert _layout("case")[-1] == partitions.Partition(renamed, spare.low, spare.high)
    case = make_case("complaint", world.so1, now=following)
    assert case.id == spare.low and _partition_of("case", case.id) == renamed


def test_foreign_keys_to_the_partitioned_tables_still_hold(app, world):
    _postgres_only()
    case = make_case("complaint", world.so1)
    with pytest.raises(IntegrityError):
        db.session.execute(text("INSERT INTO case_event (case_id, at, type, actor_kind, public, data) "
                                "VALUES (:c, now(), 'note', 'user', false, '{}')"), {"c": case.id + 10**9})
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(text('DELETE FROM "case" WHERE id = :c'), {"c": case.id})  # its events point at it
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(text("INSERT INTO attachment (case_id, event_id, original_name, stored_name, "
                                "content_type, size, sha256) VALUES (:c, :e, 'a', 'x-1', 'text/plain', 1, '0')"),
                           {"c": case.id, "e": 10**9})
    db.session.rollback()


def test_a_reference_is_unique_within_its_partition(app, world):
    _postgres_only()
    case = make_case("complaint", world.so1)
    twin = make_case("complaint", world.so1)
    assert _partition_of("case", case.id) == _partition_of("case", twin.id)
    twin.reference = case.reference
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_migration_splits_rows_by_month_and_keeps_every_row_both_ways(app, world):
    _postgres_only()
    months = [datetime(2024, 1, 10), datetime(2024, 2, 10), datetime(2024, 4, 10)]
    refs = [make_case("complaint", world.so1, now=at).reference for at in months]
    events = db.session.scalar(db.select(db.func.count(CaseEvent.id)))
    office_id = world.so1.id
    db.session.commit()
    db.session.remove()
    try:
        downgrade(revision=BEFORE)
        assert _layout("case") == [] and _layout("case_event") == []
        assert sorted(db.session.scalars(db.select(Case.reference))) == sorted(refs)
        # the plain table has the unique key back
        uniques = db.session.scalars(text("SELECT conname FROM pg_constraint WHERE conrelid = '\"case\"'::regclass "
                                          "AND contype = 'u'")).all()
        assert set(uniques) == {"uq_case_reference", "uq_case_submission_key"}  # the models' names
        db.session.remove()
    finally:
        upgrade()
    parts = _layout("case")
    holding = {_partition_of("case", c.id) for c in db.session.scalars(db.select(Case))}
    # ids grow with time here: one partition per month of the rows
    assert holding == {"case_y2024m01", "case_y2024m02", "case_y2024m04"}
    assert parts[-1].name == "case_y2024m04" and parts[-1].high > db.session.scalar(db.select(db.func.max(Case.id)))
    assert db.session.scalar(db.select(db.func.count(CaseEvent.id))) == events
    assert sorted(db.session.scalars(db.select(Case.reference))) == sorted(refs)
    case = make_case("complaint", db.session.get(OrgUnit, office_id), now=NOW)  # the sequence goes on
    assert _partition_of("case", case.id) == "case_y2024m04"


def test_on_sqlite_there_is_nothing_to_partition(app, runner):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's answer")
    assert partitions.maintain(NOW) == {}
    result = runner.invoke(args=["partitions"])
    assert result.exit_code != 0 and "PostgreSQL" in result.output


def test_the_command_lists_the_partitions(app, runner):
    _postgres_only()
    result = runner.invoke(args=["partitions", "--maintain"])
    assert result.exit_code == 0, result.output
    assert "case: " in result.output and "case_event: " in result.output
    assert "ids MINVALUE to" in result.output


def test_the_job_opens_a_month_while_cases_are_read(app, world):
    """Attaching a partition takes no lock a reader holds: a transaction that read the
    queue, still open, does not hold the job up."""
    _postgres_only()
    import time

    make_case("complaint", world.so1)
    db.session.scalars(db.select(Case.id).where(Case.current_office_id == world.so1.id)).all()
    when = _next_month_to_open()
    started = time.perf_counter()
    made = partitions.maintain(when)
    assert time.perf_counter() - started < 1.5
    assert f"case_y{when.year:04d}m{when.month:02d}" in made["case"]
    db.session.rollback()


def test_a_writer_holding_its_transaction_makes_the_job_wait_briefly_then_try_again(app, world):
    """A transaction writing cases and events, left open, holds locks the attachment
    needs: the job waits its lock timeout, changes nothing, and the next run does it."""
    _postgres_only()
    import time

    when = _next_month_to_open()
    before = _layout("case")
    db.session.add(Case(reference="CM-0000-OPENTXN1", kind="complaint", status="open", subject="s",
                        description="d", priority="P3", channel="web", current_office_id=world.so1.id))
    db.session.flush()  # uncommitted
    started = time.perf_counter()
    result = partitions.maintain(when)
    assert result["busy"] == ["case"]  # (the events' partition needs no lock this transaction holds)
    assert time.perf_counter() - started < 2 * 2 + 1.5  # at most the lock timeout a table
    assert _layout("case") == before
    db.session.rollback()
    assert f"case_y{when.year:04d}m{when.month:02d}" in partitions.maintain(when)["case"]


def test_run_jobs_opens_the_month_too(app, world):
    _postgres_only()
    from app.jobs import run_once

    when = _next_month_to_open()
    result = run_once(app, when)
    assert f"case_y{when.year:04d}m{when.month:02d}" in result["partitions"]["case"]


def test_limits_are_numbers_in_postgresqls_statements(app):
    """app/sql_limits.py: a prepared "newest N" statement keeps one generic plan only if
    its LIMIT is known; SQLite's statements keep the bound value."""
    from sqlalchemy.dialects import postgresql, sqlite

    stmt = db.select(Case.id).order_by(Case.id.desc()).limit(51).offset(100)
    pg = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True})
    assert "LIMIT 51 OFFSET 100" in str(pg) and not pg.params
    lite = stmt.compile(dialect=sqlite.dialect())
    assert "LIMIT ? OFFSET ?" in str(lite)
    if db.engine.dialect.name == "postgresql":  # and what the server is sent
        from sqlalchemy import event

        seen = []
        listener = lambda conn, cursor, sql, *rest: seen.append(sql)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            db.session.execute(stmt).all()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert "LIMIT 51 OFFSET 100" in seen[-1]
