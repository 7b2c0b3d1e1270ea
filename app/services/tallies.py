"""Maintained counters for the dashboards (`CaseTally`).

Every case counts once in the tally row of its key: (holding office, kind, category,
priority, status, breached). A SQLAlchemy `after_flush` hook moves the count whenever
a flush inserts a case, changes a key column, deletes a case or adds a rating — in the
same transaction, so the counters can never disagree with the cases they count. That
covers every ORM write (the case engine, the sweep, the demo loader, admin); code that
writes cases with bulk Core statements (the benchmark generator) calls `rebuild()`.

`check()` recounts from the cases and lists any difference (`flask tallies --check`).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, event, func, insert, inspect, literal_column, select, text
from sqlalchemy.orm import Session

from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, CaseTally, Feedback

KEY_COLUMNS = ("current_office_id", "kind", "category_id", "priority", "status", "sla_breached")
TALLY_KEY = ("office_id", "kind", "category_id", "priority", "status", "breached")


def _key(values) -> tuple:
    office, kind, category, priority, status, breached = values
    return (office, kind, category or 0, priority or "P3", status, bool(breached))


def _current_key(case: Case) -> tuple:
    return _key(getattr(case, c) for c in KEY_COLUMNS)


def _old_key(case: Case) -> tuple:
    """The key the case had when it was loaded (active_history keeps old values)."""
    state = inspect(case)
    values = []
    for c in KEY_COLUMNS:
        hist = state.attrs[c].history
        values.append(hist.deleted[0] if hist.deleted else getattr(case, c))
    return _key(values)


# Plain SQL, the same for PostgreSQL and SQLite: the dialects' on_conflict_do_update
# constructs are not cacheable, and compiling one per row cost more than running it.
_UPSERT = text(
    "INSERT INTO case_tally (office_id, kind, category_id, priority, status, breached, n, rating_sum, rating_n) "
    "VALUES (:office_id, :kind, :category_id, :priority, :status, :breached, :n, :rating_sum, :rating_n) "
    "ON CONFLICT (office_id, kind, category_id, priority, status, breached) DO UPDATE SET "
    "n = case_tally.n + excluded.n, rating_sum = case_tally.rating_sum + excluded.rating_sum, "
    "rating_n = case_tally.rating_n + excluded.rating_n")


_UPSERT_COLUMNS = (*TALLY_KEY, "n", "rating_sum", "rating_n")
# The same upsert for PostgreSQL, all rows in one statement, a column of values per
# array; WITH ORDINALITY ... ORDER BY keeps the key order in which rows are locked.
_UPSERT_ARRAYS = text(
    "INSERT INTO case_tally (office_id, kind, category_id, priority, status, breached, n, rating_sum, rating_n) "
    "SELECT office_id, kind, category_id, priority, status, breached, n, rating_sum, rating_n FROM unnest("
    "CAST(:office_id AS integer[]), CAST(:kind AS varchar[]), CAST(:category_id AS integer[]), "
    "CAST(:priority AS varchar[]), CAST(:status AS varchar[]), CAST(:breached AS boolean[]), "
    "CAST(:n AS integer[]), CAST(:rating_sum AS integer[]), CAST(:rating_n AS integer[])"
    ") WITH ORDINALITY AS v(office_id, kind, category_id, priority, status, breached, n, rating_sum, "
    "rating_n, ord) ORDER BY ord "
    "ON CONFLICT (office_id, kind, category_id, priority, status, breached) DO UPDATE SET "
    "n = case_tally.n + excluded.n, rating_sum = case_tally.rating_sum + excluded.rating_sum, "
    "rating_n = case_tally.rating_n + excluded.rating_n")


@event.listens_for(Session, "after_flush")
def _track(session, _flush_context) -> None:
    """Collect the count changes of this flush and apply them."""
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])  # n, rating_sum, rating_n
    moves = []
    for obj in session.new:
        if isinstance(obj, Case):
            counts[_current_key(obj)][0] += 1
    for obj in session.dirty:
        if isinstance(obj, Case) and session.is_modified(obj):
            old, new = _old_key(obj), _current_key(obj)
            if old != new:
                moves.append((obj.id, old, new))
    for obj in session.deleted:
        if isinstance(obj, Case):
            counts[_old_key(obj)][0] -= 1
    ratings = [obj for obj in session.new if isinstance(obj, Feedback)]
    if not counts and not moves and not ratings:
        return
    connection = session.connection()
    for fb in ratings:
        key = _case_key(session, connection, fb.case_id)
        if key is not None:
            counts[key][1] += fb.rating
            counts[key][2] += 1
    apply(connection, counts, moves)


def apply(connection, counts: dict, moves: list[tuple]) -> None:
    """Write count changes: `counts` {key: [n, rating_sum, rating_n]} plus `moves`, cases
    (id, old key, new key) whose key changed — a closed case takes its rating along.
    Rows are written in key order (two transactions touching the same rows lock them
    in the same order: no deadlock). Also used by writes that bypass the ORM flush
    (the sweep's set-based path)."""
    counts = defaultdict(lambda: [0, 0, 0], counts)
    for _case_id, old, new in moves:
        counts[old][0] -= 1
        counts[new][0] += 1
    moved_closed = {case_id: (old, new) for case_id, old, new in moves if old[4] == wf.CLOSED}
    if moved_closed:  # only closed cases carry ratings
        for case_id, r_sum, r_n in connection.execute(
                select(Feedback.case_id, func.sum(Feedback.rating), func.count(Feedback.id))
                .where(Feedback.case_id.in_(moved_closed)).group_by(Feedback.case_id)):
            old, new = moved_closed[case_id]
            counts[old][1] -= r_sum
            counts[old][2] -= r_n
            counts[new][1] += r_sum
            counts[new][2] += r_n
    rows = [dict(zip(TALLY_KEY, key, strict=True), n=n, rating_sum=r_sum, rating_n=r_n)
            for key, (n, r_sum, r_n) in sorted(counts.items(), key=lambda kv: repr(kv[0]))
            if n or r_sum or r_n]
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        # One statement with a column of values per array: a sweep batch moves about a
        # thousand keys, and even pipelined, a statement per key cost ~0.1 s a batch.
        connection.execute(_UPSERT_ARRAYS, {c: [r[c] for r in rows] for c in _UPSERT_COLUMNS})
    else:  # executemany runs its rows in the order given
        connection.execute(_UPSERT, rows)


def key_of(values) -> tuple:
    """The tally key of a case given its KEY_COLUMNS values, in that order."""
    return _key(values)


def _case_key(session, connection, case_id: int) -> tuple | None:
    for obj in session.identity_map.values():
        if isinstance(obj, Case) and obj.id == case_id:
            return _current_key(obj)
    row = connection.execute(select(*(getattr(Case, c) for c in KEY_COLUMNS)).where(Case.id == case_id)).first()
    return _key(row) if row else None


def _recount():
    """SELECT of the tally recomputed from the cases and their ratings."""
    rated = (select(Feedback.case_id, Feedback.rating).subquery())
    return (select(Case.current_office_id, Case.kind, func.coalesce(Case.category_id, literal_column("0")).label("category_id"),
                   Case.priority, Case.status, Case.sla_breached, func.count().label("n"),
                   func.coalesce(func.sum(rated.c.rating), 0).label("rating_sum"),
                   func.count(rated.c.rating).label("rating_n"))
            .select_from(Case).outerjoin(rated, rated.c.case_id == Case.id)
            .group_by(Case.current_office_id, Case.kind, func.coalesce(Case.category_id, literal_column("0")), Case.priority,
                      Case.status, Case.sla_breached))


def rebuild() -> int:
    """Recompute every counter from the cases (after bulk loads, or to repair).
    Returns the number of tally rows. Commits."""
    db.session.execute(delete(CaseTally))
    db.session.execute(insert(CaseTally).from_select(
        [*TALLY_KEY, "n", "rating_sum", "rating_n"], _recount()))
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(CaseTally))


def check() -> list[tuple]:
    """Differences between the counters and a recount: (key, kept, recounted) for every
    key where (n, rating_sum, rating_n) disagree. Empty when all is well."""
    kept = {tuple(r[:6]): tuple(r[6:]) for r in db.session.execute(
        select(*(getattr(CaseTally, c) for c in TALLY_KEY), CaseTally.n, CaseTally.rating_sum,
               CaseTally.rating_n))}
    fresh = {_key(r[:6]): tuple(int(v) for v in r[6:]) for r in db.session.execute(_recount())}
    zero = (0, 0, 0)
    return sorted(((k, kept.get(k, zero), fresh.get(k, zero)) for k in set(kept) | set(fresh)
                   if kept.get(k, zero) != fresh.get(k, zero)), key=repr)


__all__ = ["apply", "check", "key_of", "rebuild"]
