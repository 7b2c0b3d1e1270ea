"""Mostly empty columns are indexed only where they have a value (migration e6a4c2f8b1d3):
the e-mail address (repeats at intake), the case one possibly repeats (the case page),
the case a complaint refers to and the employee who raised a case ("My interactions").

Indexed with their NULLs, SQLite's statistics judged these indexes useless — every NULL
counts as one shared value, so `ANALYZE` of a million cases without e-mail addresses
records "1000000 1000000" — and each raise and each case page read every case (2.6 s a
case page at a million cases). These tests read the predicates off the database and, on
SQLite, ask the planner with a million cases' statistics."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from app.extensions import db
from app.services.front_doors import intake
from tests.citizen_support import add_services, make_request
from tests.test_sweep_batches import _MILLION

SPARSE = ("requester_email", "repeat_of_id", "related_case_id", "raised_by_id")


def _predicates() -> dict[str, str]:
    names = [f"ix_case_{c}" for c in SPARSE]
    if db.engine.dialect.name == "sqlite":
        rows = db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all()
        return {name: sql.split(" WHERE ", 1)[1] if " WHERE " in sql else "" for name, sql in rows if name in names}
    rows = db.session.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'case'")).all()
    return {name: sql.split(" WHERE ", 1)[1] if " WHERE " in sql else "" for name, sql in rows if name in names}


def test_the_sparse_columns_indexes_hold_only_rows_with_a_value(app):
    where = _predicates()
    assert set(where) == {f"ix_case_{c}" for c in SPARSE}
    for column in SPARSE:
        predicate = " ".join(where[f"ix_case_{column}"].replace("(", " ").replace(")", " ").split())
        assert predicate == f"{column} IS NOT NULL", (column, predicate)


def _statements(run) -> list[tuple[str, object]]:
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def _with_a_millions_statistics(**stats) -> None:
    """SQLite's planner as on a million generated cases (bench-data's `ANALYZE`)."""
    db.session.execute(text("ANALYZE"))
    db.session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'case'"))
    for idx, stat in {**_MILLION, **stats}.items():
        db.session.execute(text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('case', :idx, :stat)"),
                           {"idx": idx, "stat": stat})
    db.session.commit()
    db.session.execute(text("ANALYZE sqlite_schema"))  # the planner reloads the statistics


def _lookups(case, service) -> list[tuple[str, object]]:
    """The statements of a case page's possible repeats and of a raise's repeats at intake."""
    db.session.refresh(case)
    service = db.session.get(type(service), service.id)
    looked_up = _statements(lambda: intake.related(case))
    looked_up += _statements(lambda: intake.open_cases(mobile="9876543210", email="Ravi@Example.in",
                                                        category=service))
    assert len(looked_up) == 2
    return looked_up


@pytest.fixture
def sqlite_request(world):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner (PostgreSQL's statistics count NULLs apart)")
    service = add_services(world)[0]
    return make_request(world, service=service), service


def test_a_raise_and_a_case_page_find_repeats_through_the_indexes_at_a_million_cases(sqlite_request):
    """With the statistics `ANALYZE` recorded for the partial indexes at a million cases
    (301 e-mail addresses, none repeating another), both look-ups read indexes, not the table."""
    case, service = sqlite_request
    _with_a_millions_statistics(ix_case_requester_email="301 1", ix_case_repeat_of_id="1 1")
    for statement, parameters in _lookups(case, service):
        plan = _plan(statement, parameters)
        assert "SCAN case" not in plan.replace('"', ""), (statement, plan)
        assert "USING INDEX" in plan or "USING INTEGER PRIMARY KEY" in plan, (statement, plan)


def test_an_index_over_every_row_would_read_the_table(sqlite_request):
    """What the partial index prevents: indexed with its NULLs, the column's statistics
    at a million cases are "1000000 1000000" and a case page's possible repeats are
    looked for in every case."""
    case, service = sqlite_request
    db.session.execute(text("DROP INDEX ix_case_repeat_of_id"))
    db.session.execute(text('CREATE INDEX ix_case_repeat_of_id ON "case" (repeat_of_id)'))
    try:
        _with_a_millions_statistics(ix_case_repeat_of_id="1000000 1000000")
        statement, parameters = _lookups(case, service)[0]
        assert "SCAN case" in _plan(statement, parameters).replace('"', "")
    finally:  # the migration's index again, for the tests after this one
        db.session.rollback()
        db.session.execute(text("DROP INDEX ix_case_repeat_of_id"))
        db.session.execute(text('CREATE INDEX ix_case_repeat_of_id ON "case" (repeat_of_id) '
                                "WHERE repeat_of_id IS NOT NULL"))
        db.session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'case'"))
        db.session.commit()


def _plan(statement: str, parameters) -> str:
    cursor = db.session.connection().connection.cursor()
    try:
        return " ".join(str(r[-1]) for r in cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters))
    finally:
        cursor.close()
