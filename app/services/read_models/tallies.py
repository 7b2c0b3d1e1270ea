"""Maintained counters for the dashboards (`CaseTally`).

Every case counts once in the tally row of its key: (holding office, kind, category,
priority, status, breached). A SQLAlchemy `after_flush` hook moves the count whenever
a flush inserts a case, changes a key column, deletes a case or adds a rating — in the
same transaction, so the counters can never disagree with the cases they count. That
covers every ORM write (the case engine, the sweep, the demo loader, admin); code that
writes cases with bulk Core statements (the benchmark generator) calls `rebuild()`.

Beside them, `CaseDayTally` counts per (holding office, local day, kind) the cases
raised and the cases closed on each day (the trend and "closed today"), moved by a
second hook in the same way.

`check()` recounts both from the cases and lists any difference (`flask tallies --check`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import (
    Date,
    Interval,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    inspect,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, CaseDayTally, CaseTally, Feedback
from app.services.engine import flow  # noqa: F401 - its flush hooks keep the league's counters

KEY_COLUMNS = ("current_office_id", "kind", "category_id", "priority", "status", "sla_breached")
TALLY_KEY = ("office_id", "kind", "category_id", "priority", "status", "breached")


def _key(values) -> tuple:
    office, kind, category, priority, status, breached = values
    return (office, kind, category or 0, priority or "P3", status, bool(breached))


def _current_key(case: Case) -> tuple:
    return _key(getattr(case, c) for c in KEY_COLUMNS)


def loaded_values(case: Case, columns) -> tuple:
    """The values `columns` had when the case was loaded (active_history keeps old values;
    an unchanged column, its value). The counters move a case from these to its current ones."""
    state = inspect(case)
    out = []
    for c in columns:
        hist = state.attrs[c].history
        out.append(hist.deleted[0] if hist.deleted else getattr(case, c))
    return tuple(out)


def _old_key(case: Case) -> tuple:
    """The key the case had when it was loaded."""
    return _key(loaded_values(case, KEY_COLUMNS))


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
    changed = [(*key, n, r_sum, r_n)
               for key, (n, r_sum, r_n) in sorted(counts.items(), key=lambda kv: repr(kv[0]))
               if n or r_sum or r_n]
    if not changed:
        return
    if connection.dialect.name == "postgresql":
        # One statement with a column of values per array: a sweep batch moves about a
        # thousand keys, and even pipelined, a statement per key cost ~0.1 s a batch.
        connection.execute(_UPSERT_ARRAYS, {c: list(values) for c, values in
                                            zip(_UPSERT_COLUMNS, zip(*changed, strict=True), strict=True)})
    else:  # executemany runs its rows in the order given
        connection.execute(_UPSERT, [dict(zip(_UPSERT_COLUMNS, r, strict=True)) for r in changed])


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
    """Recompute every counter from the cases (after bulk loads, or to repair), the
    per-day ones included. Returns the number of `case_tally` rows. Commits."""
    db.session.execute(delete(CaseTally))
    db.session.execute(insert(CaseTally).from_select(
        [*TALLY_KEY, "n", "rating_sum", "rating_n"], _recount()))
    rebuild_days()
    flow.rebuild()
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
                   if kept.get(k, zero) != fresh.get(k, zero)), key=repr) + check_days() + flow.check()


# ---- per-day counters: raised and closed per (office, local day, kind) ----------------

DAY_COLUMNS = ("current_office_id", "kind", "status", "created_at", "closed_at")
DAY_KEY = ("office_id", "day", "kind")
_UTC = ZoneInfo("UTC")


def zone() -> ZoneInfo:
    """The portal's time zone, whose calendar days the per-day counters count."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Kolkata") if has_app_context() \
        else "Asia/Kolkata"
    return ZoneInfo(name)


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    """The local calendar day of the naive-UTC instant."""
    return instant.replace(tzinfo=_UTC).astimezone(tz).date()


def _day_entries(values, tz: ZoneInfo) -> list[tuple[tuple, int, int]]:
    """((office, day, kind), raised, closed) contributions of a case with these
    DAY_COLUMNS values: its raising day, and its closing day when it is closed."""
    office, kind, status, created_at, closed_at = values
    out = []
    if created_at is not None:
        out.append(((office, local_day(created_at, tz), kind), 1, 0))
    if status == wf.CLOSED and closed_at is not None:
        out.append(((office, local_day(closed_at, tz), kind), 0, 1))
    return out


def _old_day_values(case: Case) -> list:
    state = inspect(case)
    values = []
    for c in DAY_COLUMNS:
        hist = state.attrs[c].history
        values.append(hist.deleted[0] if hist.deleted else getattr(case, c))
    return values


_DAY_UPSERT = text(
    "INSERT INTO case_day_tally (office_id, day, kind, raised, closed) "
    "VALUES (:office_id, :day, :kind, :raised, :closed) "
    "ON CONFLICT (office_id, day, kind) DO UPDATE SET "
    "raised = case_day_tally.raised + excluded.raised, closed = case_day_tally.closed + excluded.closed",
).bindparams(bindparam("day", type_=Date()))


_DAY_UPSERT_COLUMNS = (*DAY_KEY, "raised", "closed")
# The same for PostgreSQL, all rows in one statement, in key order (as _UPSERT_ARRAYS).
_DAY_UPSERT_ARRAYS = text(
    "INSERT INTO case_day_tally (office_id, day, kind, raised, closed) "
    "SELECT office_id, day, kind, raised, closed FROM unnest("
    "CAST(:office_id AS integer[]), CAST(:day AS date[]), CAST(:kind AS varchar[]), "
    "CAST(:raised AS integer[]), CAST(:closed AS integer[])"
    ") WITH ORDINALITY AS v(office_id, day, kind, raised, closed, ord) ORDER BY ord "
    "ON CONFLICT (office_id, day, kind) DO UPDATE SET "
    "raised = case_day_tally.raised + excluded.raised, closed = case_day_tally.closed + excluded.closed")


@event.listens_for(Session, "after_flush")
def _track_days(session, _flush_context) -> None:
    """Move the per-day counts of the cases this flush inserted, changed or deleted."""
    pairs = []
    for obj in session.new:
        if isinstance(obj, Case):
            pairs.append((None, [getattr(obj, c) for c in DAY_COLUMNS]))
    for obj in session.dirty:
        if isinstance(obj, Case) and session.is_modified(obj):
            old, new = _old_day_values(obj), [getattr(obj, c) for c in DAY_COLUMNS]
            if old != new:
                pairs.append((old, new))
    for obj in session.deleted:
        if isinstance(obj, Case):
            pairs.append((_old_day_values(obj), None))
    if pairs:
        apply_days(session.connection(), pairs)


def apply_days(connection, pairs) -> None:
    """Move the per-day counts of cases whose DAY_COLUMNS values changed: `pairs` of
    (old values, new values), None for an inserted case's old or a deleted one's new.
    Rows are written in key order, as `apply` does. Used by the flush hook and by writes
    that bypass it (the sweep's set-based path)."""
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])  # raised, closed
    tz = zone()
    for old, new in pairs:
        for values, sign in ((old, -1), (new, 1)):
            if values is None:
                continue
            for key, raised, closed in _day_entries(values, tz):
                counts[key][0] += sign * raised
                counts[key][1] += sign * closed
    rows = [dict(zip(DAY_KEY, key, strict=True), raised=r, closed=c)
            for key, (r, c) in sorted(counts.items(), key=lambda kv: repr(kv[0])) if r or c]
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        # One statement: a batch of escalations moves the raising day of each case it
        # moves to another office (hundreds of keys), not only a few closing days.
        connection.execute(_DAY_UPSERT_ARRAYS, {c: [r[c] for r in rows] for c in _DAY_UPSERT_COLUMNS})
    else:  # executemany runs its rows in the order given
        connection.execute(_DAY_UPSERT, rows)


def offset_periods(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offsets (minutes) over [start, end] (naive UTC) as (until, minutes)
    periods, the last one open (until None): one period for a zone without daylight
    saving such as Asia/Kolkata, two a year otherwise."""
    def minutes(t: datetime) -> int:
        return int(t.replace(tzinfo=_UTC).astimezone(tz).utcoffset().total_seconds() // 60)

    periods = []
    t, current = start, minutes(start)
    while t < end:
        nxt = min(t + timedelta(days=1), end)
        if minutes(nxt) != current:
            lo, hi = t, nxt  # offset is `current` at lo, differs at hi: find the change
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if minutes(mid) == current else (lo, mid)
            periods.append((hi.replace(second=0, microsecond=0), current))
            current = minutes(nxt)
        t = nxt
    periods.append((None, current))
    return periods


def _shift(col, minutes: int, dialect: str):
    if dialect == "sqlite":
        return func.date(col, f"{minutes:+d} minutes")
    return cast(col + literal_column(f"interval '{int(minutes)} minutes'", type_=Interval), Date)


def local_day_sql(col, periods, dialect: str):
    """SQL: the local calendar day of a naive-UTC column, over `offset_periods`."""
    if len(periods) == 1:
        return _shift(col, periods[0][1], dialect)
    whens = [(col < until, _shift(col, m, dialect)) for until, m in periods[:-1]]
    return case(*whens, else_=_shift(col, periods[-1][1], dialect))


def _recount_days():
    """SELECT of the per-day counters recomputed from the cases: (office, day, kind,
    raised, closed)."""
    lo, hi = db.session.execute(select(func.min(Case.created_at), func.max(
        func.coalesce(Case.closed_at, Case.created_at)))).one()
    dialect = db.session.get_bind().dialect.name
    now = datetime.utcnow()
    periods = offset_periods(_as_datetime(lo) or now, max(_as_datetime(hi) or now, now), zone())
    raised_day = local_day_sql(Case.created_at, periods, dialect)
    closed_day = local_day_sql(Case.closed_at, periods, dialect)
    zero = literal_column("0")
    raised = (select(Case.current_office_id.label("office_id"), raised_day.label("day"),
                     Case.kind.label("kind"), func.count().label("raised"), zero.label("closed"))
              .group_by(Case.current_office_id, raised_day, Case.kind))
    closed = (select(Case.current_office_id, closed_day, Case.kind, zero, func.count())
              .where(Case.status == wf.CLOSED, Case.closed_at.is_not(None))
              .group_by(Case.current_office_id, closed_day, Case.kind))
    parts = union_all(raised, closed).subquery("parts")
    return (select(parts.c.office_id, parts.c.day, parts.c.kind, func.sum(parts.c.raised).label("raised"),
                   func.sum(parts.c.closed).label("closed"))
            .group_by(parts.c.office_id, parts.c.day, parts.c.kind))


def _as_datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def as_date(value) -> date:
    """A day as the database returns it (a date, a datetime, or SQLite's text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def rebuild_days() -> int:
    """Recompute the per-day counters from the cases. Returns their number of rows.
    Does not commit (`rebuild()` does)."""
    db.session.execute(delete(CaseDayTally))
    db.session.execute(insert(CaseDayTally).from_select([*DAY_KEY, "raised", "closed"], _recount_days()))
    return db.session.scalar(select(func.count()).select_from(CaseDayTally))


def check_days() -> list[tuple]:
    """Differences between the per-day counters and a recount: (("day", office, day,
    kind), (raised, closed) kept, (raised, closed) recounted)."""
    kept = {(r[0], as_date(r[1]), r[2]): (int(r[3]), int(r[4])) for r in db.session.execute(
        select(CaseDayTally.office_id, CaseDayTally.day, CaseDayTally.kind, CaseDayTally.raised,
               CaseDayTally.closed))}
    fresh = {(r[0], as_date(r[1]), r[2]): (int(r[3]), int(r[4])) for r in db.session.execute(_recount_days())}
    zero = (0, 0)
    return sorted(((("day", *k), kept.get(k, zero), fresh.get(k, zero)) for k in set(kept) | set(fresh)
                   if kept.get(k, zero) != fresh.get(k, zero)), key=repr)


__all__ = ["apply", "apply_days", "check", "check_days", "key_of", "local_day", "rebuild", "rebuild_days",
           "zone"]
