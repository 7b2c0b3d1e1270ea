"""Read-only aggregates for the monitoring dashboard (Circle, Region, Division, CEPT).

Every number here is computed by the database with GROUP BY / CASE WHEN aggregates;
no case is ever loaded into Python to be counted. The pattern for the breakdown by
office is "aggregate first, roll up second": cases are grouped by the office holding
them (an index-only scan of `ix_case_dashboard`), and that small result is joined to
the office tree, where a case counts for a child office when its current office's
materialized path starts with the child's path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    Date,
    Integer,
    Interval,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from app.domain import workflow as wf
from app.exports import sections_csv, sections_xlsx
from app.extensions import db
from app.models import Case, CaseDayTally, CaseTally, Category, Feedback, OrgUnit, User
from app.services.engine import access
from app.services.read_models import charts, tallies

# Tiles, in display order. "awaiting_customer" is information asked or a resolution
# waiting for the requester's confirmation; "breached" counts open cases whose SLA
# was breached (an actionable backlog); "closed_today" is the local calendar day.
TILE_KEYS = ("open", "in_progress", "awaiting_customer", "pending_external", "closed_today", "breached")
# Extra list filters the breakdown tables link to.
LIST_KEYS = TILE_KEYS + ("active", "closed", "rated")
# Ageing of the cases not closed, in days since they were raised: (key, from, until). The
# one definition for every kind (the doorstep requests' monitoring included, seed 001).
AGE_BUCKETS = (("0-1", 0, 1), ("1-2", 1, 2), ("2-5", 2, 5), ("5-10", 5, 10), ("10+", 10, None))
TREND_DAYS = (30, 90)
PRIORITIES = ("P1", "P2", "P3", "P4")


@dataclass
class Filters:
    """What the filter form narrows the view to. Dates are local calendar days on which
    cases were raised (inclusive)."""

    date_from: date | None = None
    date_to: date | None = None
    kind: str | None = None
    category_id: int | None = None
    priority: str | None = None
    days: int = 30

    def as_args(self) -> dict:
        """Query-string arguments that rebuild these filters (for links and exports)."""
        args = {}
        if self.date_from:
            args["date_from"] = self.date_from.isoformat()
        if self.date_to:
            args["date_to"] = self.date_to.isoformat()
        if self.kind:
            args["kind"] = self.kind
        if self.category_id:
            args["category"] = str(self.category_id)
        if self.priority:
            args["priority"] = self.priority
        if self.days != 30:
            args["days"] = str(self.days)
        return args


@dataclass
class OfficeRow:
    office: OrgUnit
    here: bool  # cases held at the scope office itself, not below it
    drillable: bool
    counts: dict
    ageing: list = field(default_factory=list)  # [(bucket, n)] of its cases not closed


@dataclass
class CategoryTable:
    """The cases of the kind in view by top-level category and by office below the scope
    (shown when the dashboard is filtered to one kind): `columns` are the kind's top-level
    categories (a `Category`; None for cases without one), `rows` pair each office row of
    the page with {category id or None: n}, `totals` the whole scope's."""

    columns: list
    rows: list
    totals: dict


@dataclass
class View:
    scope: OrgUnit
    root: OrgUnit
    trail: list
    filters: Filters
    tiles: dict
    rating: dict
    offices: list
    kinds: list
    ageing: list
    trend: list
    chart: dict | None
    generated_at: datetime
    categories: dict = field(default_factory=dict)
    by_category: CategoryTable | None = None

    @property
    def empty(self) -> bool:
        return not self.tiles.get("total")


# ---- time helpers -------------------------------------------------------------------

def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Kolkata"))


def local_today(now: datetime) -> date:
    """The local calendar day of the naive-UTC instant `now`."""
    return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(_tz()).date()


def local_midnight_utc(day: date) -> datetime:
    """Naive UTC instant at which local `day` starts."""
    return datetime.combine(day, time(0), tzinfo=_tz()).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _offset_minutes(now: datetime) -> int:
    off = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(_tz()).utcoffset()
    return int(off.total_seconds() // 60) if off else 0


def _local_day(col, minutes: int):
    """SQL: the local calendar day of a naive-UTC timestamp column."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.date(col, f"{minutes:+d} minutes")
    return cast(col + literal_column(f"interval '{int(minutes)} minutes'", type_=Interval), Date)


# ---- scope --------------------------------------------------------------------------

def scope_for(user: User, office_id: int | None) -> OrgUnit | None:
    """The office whose subtree the view covers: the user's own office, or an office
    below it (drill-down). None when the office does not exist, is an external
    authority or lies outside the user's jurisdiction — the caller answers 404."""
    if office_id is None:
        return user.office
    office = db.session.get(OrgUnit, office_id)
    if office is None or office.kind == "external" or not access.office_in_scope(user, office):
        return None
    return office


def trail(user: User, scope: OrgUnit) -> list[OrgUnit]:
    """Breadcrumb from the user's office down to `scope`."""
    root = user.office
    return [o for o in scope.ancestors() if o.depth >= root.depth] + [scope]


def category_ids(category_id: int):
    """SQL subquery: the category and everything below it (three levels at most)."""
    parent = aliased(Category)
    return (select(Category.id)
            .outerjoin(parent, parent.id == Category.parent_id)
            .where(or_(Category.id == category_id, Category.parent_id == category_id,
                       parent.parent_id == category_id))
            .scalar_subquery())


def _scope_conditions(scope: OrgUnit, f: Filters, office, kind, category, priority) -> list:
    """Conditions on the given columns (of `case` or of `case_tally`): held in `scope`'s
    subtree, and the kind, category and priority filters."""
    conds = [office.in_(select(OrgUnit.id).where(access.in_subtree(OrgUnit.path, scope)).scalar_subquery())]
    if f.kind:
        conds.append(kind == f.kind)
    if f.category_id:
        conds.append(category.in_(category_ids(f.category_id)))
    if f.priority:
        conds.append(priority == f.priority)
    return conds


def _conditions(scope: OrgUnit, f: Filters) -> list:
    conds = _scope_conditions(scope, f, Case.current_office_id, Case.kind, Case.category_id, Case.priority)
    if f.date_from:
        conds.append(Case.created_at >= local_midnight_utc(f.date_from))
    if f.date_to:
        conds.append(Case.created_at < local_midnight_utc(f.date_to + timedelta(days=1)))
    return conds


def list_condition(key: str, now: datetime):
    """SQL condition for a tile / breakdown key (the same one the counts use)."""
    today = local_midnight_utc(local_today(now))
    return {
        "open": Case.status == wf.OPEN,
        "in_progress": Case.status == wf.IN_PROGRESS,
        "awaiting_customer": Case.status.in_([wf.AWAITING_INFO, wf.AWAITING_CONFIRMATION]),
        "pending_external": Case.status == wf.PENDING_EXTERNAL,
        "closed_today": and_(Case.status == wf.CLOSED, Case.closed_at >= today),
        "breached": and_(Case.sla_breached.is_(True), Case.status != wf.CLOSED),
        "active": Case.status != wf.CLOSED,
        "closed": Case.status == wf.CLOSED,
        "rated": Case.id.in_(select(Feedback.case_id).scalar_subquery()),
    }[key]


def age_condition(bucket: str, now: datetime):
    for key, lo, hi in AGE_BUCKETS:
        if key == bucket:
            conds = [Case.status != wf.CLOSED, Case.created_at <= now - timedelta(days=lo)]
            if hi is not None:
                conds.append(Case.created_at > now - timedelta(days=hi))
            return and_(*conds)
    raise KeyError(bucket)


def _count_columns(now: datetime, keys=LIST_KEYS[:-1]) -> list:
    # count(*) FILTER (WHERE ...): PostgreSQL and SQLite (3.30+) both have it, and it is
    # cheaper than SUM(CASE WHEN ...).
    cols = [func.count().label("total")]
    for key in keys:
        cols.append(func.count().filter(list_condition(key, now)).label(key))
    return cols


# ---- aggregates ---------------------------------------------------------------------

def tiles(scope: OrgUnit, f: Filters, now: datetime, scan: bool | None = None) -> dict:
    """{key: n} for every tile, plus "total", "active" and "closed"."""
    if scan is None:
        scan = bool(f.date_from or f.date_to)
    keys = ("total",) + LIST_KEYS[:-1]
    if scan:
        g = _grouped(scope, f, now, scan=True)
        row = db.session.execute(select(*(func.coalesce(func.sum(g.c[k]), 0).label(k) for k in keys))).one()
    else:
        row = db.session.execute(_tiles_statement(*_shape(f)), _tally_params(scope, f, now)).one()
    return {k: int(v or 0) for k, v in row._mapping.items()}


def rating(scope: OrgUnit, f: Filters, scan: bool | None = None) -> dict:
    """Average rating (1–5) and number of ratings of the cases in view (from the
    counters unless a date range asks for a scan)."""
    if scan is None:
        scan = bool(f.date_from or f.date_to)
    if scan:
        total, n = db.session.execute(
            select(func.sum(Feedback.rating), func.count(Feedback.id))
            .join(Case, Case.id == Feedback.case_id)
            .where(*_conditions(scope, f))
        ).one()
    else:
        total, n = db.session.execute(
            select(func.sum(CaseTally.rating_sum), func.sum(CaseTally.rating_n))
            .where(*_tally_conditions(scope, f))
        ).one()
    n = int(n or 0)
    return {"average": round(float(total) / n, 2) if n else None, "count": n}


SUM_KEYS = ("total",) + LIST_KEYS[:-1] + tuple(f"age_{i}" for i in range(len(AGE_BUCKETS))) + ("rating_sum", "rating_n")


@dataclass
class Summary:
    tiles: dict
    offices: list
    kinds: list
    ageing: list
    rating: dict | None = None  # read with the counts from the counters (None when scanned)


def _grouped(scope: OrgUnit, f: Filters, now: datetime, scan: bool | None = None):
    """CTE: counts per (holding office, kind, category) — the one source every table of
    the page is rolled up from. Without a date range it is read from the maintained
    counters (`CaseTally`, `CaseDayTally`) plus the few cases whose numbers depend on the
    clock (raised in the last ten days and not closed), so its cost does not grow with
    the history; with a date range the cases raised in that range are scanned.

    The counters' CTE is built once per filter shape with bound parameters
    (`_tally_grouped`); here its parameters are filled in, for callers that compose it."""
    if scan is None:
        scan = bool(f.date_from or f.date_to)
    if scan:
        ages = [func.count().filter(age_condition(k, now)).label(f"age_{i}")
                for i, (k, _lo, _hi) in enumerate(AGE_BUCKETS)]
        zero = literal_column("0")
        return (select(Case.current_office_id.label("office_id"), Case.kind.label("kind"),
                       Case.category_id.label("category_id"), *_count_columns(now), *ages,
                       zero.label("rating_sum"), zero.label("rating_n"))  # rating(): see summary()
                .where(*_conditions(scope, f))
                .group_by(Case.current_office_id, Case.kind, Case.category_id)
                .cte("grouped"))
    return _tally_grouped(*_shape(f)).params(_tally_params(scope, f, now))


def _tally_conditions(scope: OrgUnit, f: Filters) -> list:
    t = CaseTally
    return _scope_conditions(scope, f, t.office_id, t.kind, t.category_id, t.priority)


# ---- the counters' path: statements built once per filter shape ------------------------
# Building these statements (a UNION of three parts rolled up four ways) cost more Python
# time per request than the database took to run them; they depend only on which filters
# are set, so they are built once and executed with parameters.

def _shape(f: Filters) -> tuple[bool, bool, bool]:
    return bool(f.kind), bool(f.category_id), bool(f.priority)


def _tally_params(scope: OrgUnit, f: Filters, now: datetime) -> dict:
    """The parameters of `_tally_grouped` and `_summary_statement`."""
    today = local_today(now)
    params = {"scope_path": access.subtree_pattern(scope), "scope_id": scope.id, "today": today,
              "today_start": local_midnight_utc(today)}
    for _key, lo, hi in AGE_BUCKETS:
        for days in (lo, hi):
            if days is not None:
                params[f"ago_{days}"] = now - timedelta(days=days)
    if f.kind:
        params["f_kind"] = f.kind
    if f.category_id:
        params["f_category"] = f.category_id
    if f.priority:
        params["f_priority"] = f.priority
    return params


def _bound_scope(office, kind, category, priority, shape: tuple[bool, bool, bool]) -> list:
    """`_scope_conditions` with bound parameters: held in the subtree whose LIKE pattern
    is `scope_path` (`access.subtree_pattern`), and the filters that `shape` says are set."""
    with_kind, with_category, with_priority = shape
    conds = [office.in_(select(OrgUnit.id).where(OrgUnit.path.like(bindparam("scope_path")))
                        .scalar_subquery())]
    if with_kind:
        conds.append(kind == bindparam("f_kind"))
    if with_category:
        conds.append(category.in_(category_ids(bindparam("f_category"))))
    if with_priority:
        conds.append(priority == bindparam("f_priority"))
    return conds


@lru_cache(maxsize=16)
def _tally_grouped(with_kind: bool, with_category: bool, with_priority: bool):
    """CTE of `_grouped` from the counters, with bound parameters (`_tally_params`):
    the counters, less the cases raised in the last ten days and not closed (whose age
    bucket depends on the clock), and "closed today" from the per-day counters when the
    filters allow (else from the cases)."""
    shape = (with_kind, with_category, with_priority)
    t = CaseTally
    n = func.sum(t.n)
    zero = literal_column("0")
    status_sum = {
        "open": n.filter(t.status == wf.OPEN),
        "in_progress": n.filter(t.status == wf.IN_PROGRESS),
        "awaiting_customer": n.filter(t.status.in_([wf.AWAITING_INFO, wf.AWAITING_CONFIRMATION])),
        "pending_external": n.filter(t.status == wf.PENDING_EXTERNAL),
        "closed_today": zero,
        "breached": n.filter(t.breached.is_(True), t.status != wf.CLOSED),
        "active": n.filter(t.status != wf.CLOSED),
        "closed": n.filter(t.status == wf.CLOSED),
    }
    keys = LIST_KEYS[:-1]
    last = len(AGE_BUCKETS) - 1  # "10+": every case not closed, less the younger ones below
    counted = (select(t.office_id.label("office_id"), t.kind.label("kind"), t.category_id.label("category_id"),
                      n.label("total"), *(status_sum[k].label(k) for k in keys),
                      *(zero.label(f"age_{i}") for i in range(last)),
                      status_sum["active"].label(f"age_{last}"),
                      func.sum(t.rating_sum).label("rating_sum"), func.sum(t.rating_n).label("rating_n"))
               .where(*_bound_scope(t.office_id, t.kind, t.category_id, t.priority, shape))
               .group_by(t.office_id, t.kind, t.category_id))
    conds = _bound_scope(Case.current_office_id, Case.kind, Case.category_id, Case.priority, shape)
    category = func.coalesce(Case.category_id, literal_column("0"))

    def aged(lo: int, hi: int):  # the age_condition of a bucket, with bound instants
        return and_(Case.created_at <= bindparam(f"ago_{lo}"), Case.created_at > bindparam(f"ago_{hi}"))

    young = (select(Case.current_office_id, Case.kind, category, zero, *(zero for _k in keys),
                    *(func.count().filter(aged(lo, hi)) for _k, lo, hi in AGE_BUCKETS[:last]),
                    -func.count(), zero, zero)
             .where(*conds, Case.status != wf.CLOSED, Case.created_at > bindparam(f"ago_{AGE_BUCKETS[last][1]}"))
             .group_by(Case.current_office_id, Case.kind, category))
    if not (with_category or with_priority):  # the per-day counters: today's row (and any later one)
        d = CaseDayTally
        closed_today = (select(d.office_id, d.kind, zero, zero,
                               *(func.sum(d.closed) if k == "closed_today" else zero for k in keys),
                               *(zero for _i in range(len(AGE_BUCKETS))), zero, zero)
                        .where(*_bound_scope(d.office_id, d.kind, None, None, shape),
                               d.day >= bindparam("today", type_=Date()))
                        .group_by(d.office_id, d.kind))
    else:
        closed_today = (select(Case.current_office_id, Case.kind, category, zero,
                               *(func.count() if k == "closed_today" else zero for k in keys),
                               *(zero for _i in range(len(AGE_BUCKETS))), zero, zero)
                        .where(*conds, Case.status == wf.CLOSED, Case.closed_at >= bindparam("today_start"))
                        .group_by(Case.current_office_id, Case.kind, category))
    parts = union_all(counted, young, closed_today).subquery("parts")
    names = [c.name for c in counted.selected_columns]
    p = list(parts.c)
    return (select(p[0].label("office_id"), p[1].label("kind"), func.nullif(p[2], 0).label("category_id"),
                   *(func.sum(col).label(name) for col, name in zip(p[3:], names[3:], strict=True)))
            .group_by(p[0], p[1], p[2])
            .cte("grouped"))


def _rollups(g, scope_id):
    """The grouped CTE rolled up four ways in one statement: by child office of the
    scope, held at the scope itself, in total, and by (kind, top-level category)."""
    sums = [func.coalesce(func.sum(g.c[k]), 0).label(k) for k in SUM_KEYS]
    no_int = cast(null(), Integer)
    no_text = cast(null(), String)
    child, held = aliased(OrgUnit), aliased(OrgUnit)
    c1, c2, c3 = aliased(Category), aliased(Category), aliased(Category)
    top = func.coalesce(c3.id, c2.id, c1.id)
    by_child = (select(literal_column("'child'").label("section"), child.id.label("office_id"),
                       no_text.label("kind"), no_int.label("category_id"), *sums)
                .select_from(child)
                .join(held, held.path.startswith(child.path))
                .join(g, g.c.office_id == held.id)
                .where(child.parent_id == scope_id)
                .group_by(child.id))
    here = (select(literal_column("'here'"), no_int, no_text, no_int, *sums)
            .where(g.c.office_id == scope_id))
    total = select(literal_column("'total'"), no_int, no_text, no_int, *sums)
    kinds = (select(literal_column("'kind'"), no_int, g.c.kind, top, *sums)
             .select_from(g)
             .outerjoin(c1, c1.id == g.c.category_id)
             .outerjoin(c2, c2.id == c1.parent_id)
             .outerjoin(c3, c3.id == c2.parent_id)
             .group_by(g.c.kind, top))
    return union_all(by_child, here, total, kinds)


def _office_categories(g, scope_id):
    """The grouped CTE rolled up by (child office of the scope, top-level category), and
    by top-level category for the cases held at the scope itself: (office id, category
    id or NULL, cases)."""
    child, held = aliased(OrgUnit), aliased(OrgUnit)
    c1, c2, c3 = aliased(Category), aliased(Category), aliased(Category)
    top = func.coalesce(c3.id, c2.id, c1.id)

    def tops(q):
        return (q.outerjoin(c1, c1.id == g.c.category_id).outerjoin(c2, c2.id == c1.parent_id)
                .outerjoin(c3, c3.id == c2.parent_id))

    by_child = (tops(select(child.id.label("office_id"), top.label("category_id"),
                            func.coalesce(func.sum(g.c.total), 0).label("n"))
                     .select_from(child)
                     .join(held, held.path.startswith(child.path))
                     .join(g, g.c.office_id == held.id))
                .where(child.parent_id == scope_id)
                .group_by(child.id, top))
    here = (tops(select(g.c.office_id, top, func.coalesce(func.sum(g.c.total), 0)).select_from(g))
            .where(g.c.office_id == scope_id)
            .group_by(g.c.office_id, top))
    return union_all(by_child, here)


@lru_cache(maxsize=16)
def _office_category_statement(with_kind: bool, with_category: bool, with_priority: bool):
    return _office_categories(_tally_grouped(with_kind, with_category, with_priority), bindparam("scope_id"))


@lru_cache(maxsize=16)
def _tiles_statement(with_kind: bool, with_category: bool, with_priority: bool):
    g = _tally_grouped(with_kind, with_category, with_priority)
    return select(*(func.coalesce(func.sum(g.c[k]), 0).label(k) for k in ("total",) + LIST_KEYS[:-1]))


@lru_cache(maxsize=16)
def _summary_statement(with_kind: bool, with_category: bool, with_priority: bool):
    return _rollups(_tally_grouped(with_kind, with_category, with_priority), bindparam("scope_id"))


def summary(scope: OrgUnit, f: Filters, now: datetime, scan: bool | None = None) -> Summary:
    """Tiles, breakdown by child office, by kind and category, and ageing — in ONE
    statement: the grouped CTE is computed once and rolled up four ways (UNION ALL).
    `scan=True` counts from the cases even without a date range (to check the counters).

    A case counts for a child office when its holding office's materialized path
    starts with the child's path; cases held at `scope` itself get a row of their own."""
    if scan is None:
        scan = bool(f.date_from or f.date_to)
    if scan:
        rows = db.session.execute(_rollups(_grouped(scope, f, now, scan=True), scope.id)).all()
    else:
        rows = db.session.execute(_summary_statement(*_shape(f)), _tally_params(scope, f, now)).all()

    def nums(r) -> dict:
        return {k: int(v or 0) for k, v in zip(SUM_KEYS, r[4:], strict=True)}

    counts, here_counts, totals, kind_rows = {}, None, nums((None,) * 4 + (0,) * len(SUM_KEYS)), []
    for r in rows:
        section = r[0]
        if section == "child":
            counts[r[1]] = nums(r)
        elif section == "here":
            here_counts = nums(r)
        elif section == "total":
            totals = nums(r)
        else:
            kind_rows.append({"kind": r[2], "category_id": r[3], **nums(r)})
    children = db.session.scalars(
        select(OrgUnit).where(OrgUnit.parent_id == scope.id, OrgUnit.kind != "external")
        .order_by(OrgUnit.name)
    ).all()
    with_children = set(db.session.scalars(
        select(OrgUnit.parent_id).where(OrgUnit.parent_id.in_([c.id for c in children]),
                                        OrgUnit.kind != "external").distinct()
    )) if children else set()
    office_keys = ("total",) + LIST_KEYS[:-1]
    zero = dict.fromkeys(office_keys, 0)

    def pick(d: dict, keys) -> dict:
        return {k: d[k] for k in keys}

    def aged(d: dict | None) -> list:
        return [(k, d[f"age_{i}"] if d else 0) for i, (k, _lo, _hi) in enumerate(AGE_BUCKETS)]

    offices = [OfficeRow(c, False, c.id in with_children,
                         pick(counts[c.id], office_keys) if c.id in counts else dict(zero), aged(counts.get(c.id)))
               for c in children]
    if here_counts and here_counts["total"]:
        offices.append(OfficeRow(scope, True, False, pick(here_counts, office_keys), aged(here_counts)))
    kind_keys = ("total", "active", "closed", "breached")
    kinds_out = [{"kind": r["kind"], "category_id": r["category_id"], **pick(r, kind_keys)}
                 for r in kind_rows if r["total"]]
    kinds_out.sort(key=lambda r: (wf.KINDS.index(r["kind"]) if r["kind"] in wf.KINDS else 99, -r["total"]))
    ageing_out = aged(totals)
    n = totals["rating_n"]
    rated = None if scan else {"average": round(totals["rating_sum"] / n, 2) if n else None, "count": n}
    return Summary(tiles=pick(totals, office_keys), offices=offices, kinds=kinds_out, ageing=ageing_out,
                   rating=rated)


def category_table(scope: OrgUnit, f: Filters, now: datetime, s: Summary,
                   scan: bool | None = None) -> CategoryTable | None:
    """With the view filtered to one kind: its cases by top-level category (every active
    one of the kind, and any other that has cases) for each office row of `s`, and in
    total. None without a kind filter."""
    if not f.kind:
        return None
    if scan is None:
        scan = bool(f.date_from or f.date_to)
    if scan:
        rows = db.session.execute(_office_categories(_grouped(scope, f, now, scan=True), scope.id)).all()
    else:
        rows = db.session.execute(_office_category_statement(*_shape(f)), _tally_params(scope, f, now)).all()
    per: dict = {}
    for office_id, category_id, n in rows:
        if n:
            per.setdefault(office_id, {})[category_id] = int(n)
    totals: dict = {}
    for r in s.kinds:
        totals[r["category_id"]] = totals.get(r["category_id"], 0) + r["total"]
    columns: list = category_choices(f.kind)
    shown = {c.id for c in columns}
    columns += sorted(categories_by_id([i for i in totals if i is not None and i not in shown]).values(),
                      key=lambda c: (c.sort_order, c.name_en))
    if totals.get(None):
        columns.append(None)
    table_rows = [(r, per.get(r.office.id, {})) for r in s.offices]
    return CategoryTable(columns=columns, rows=table_rows, totals=totals)


def by_office(scope: OrgUnit, f: Filters, now: datetime) -> list[OfficeRow]:
    """One row per child office of `scope` (zero rows included), plus a row for the
    cases held at `scope` itself when there are any."""
    return summary(scope, f, now).offices


def by_kind_category(scope: OrgUnit, f: Filters, now: datetime) -> list[dict]:
    """Counts by kind and top-level category (a case filed under a service or type
    counts for its top-level category)."""
    return summary(scope, f, now).kinds


def ageing(scope: OrgUnit, f: Filters, now: datetime) -> list[tuple[str, int]]:
    """Cases not closed, by age since they were raised."""
    return summary(scope, f, now).ageing


def _days_countable(f: Filters) -> bool:
    """Whether the per-day counters answer for these filters: they are kept per office and
    kind, not per category or priority."""
    return not (f.category_id or f.priority)


def trend(scope: OrgUnit, f: Filters, now: datetime, scan: bool | None = None) -> list[tuple[date, int, int]]:
    """(day, raised, closed) for each local day of the last `f.days` days, today
    included: the cases held in scope that were raised on each day, and the closed ones
    that were closed on it. The date-range filter does not apply (the window is the
    trend's own). Read from the per-day counters unless a category or priority filter
    (or `scan=True`, to check them) asks for counting the cases."""
    days = f.days if f.days in TREND_DAYS else 30
    last = local_today(now)
    first = last - timedelta(days=days - 1)
    if scan is None:
        scan = not _days_countable(f)
    if scan:
        raised, closed = _trend_scan(scope, f, now, first)
    else:
        rows = db.session.execute(_trend_statement(scope, f, now)).all()
        raised = {tallies.as_date(d): r for d, r, _c in rows}
        closed = {tallies.as_date(d): c for d, _r, c in rows}
    out = []
    for i in range(days):
        d = first + timedelta(days=i)
        out.append((d, int(raised.get(d, 0)), int(closed.get(d, 0))))
    return out


def _trend_statement(scope: OrgUnit, f: Filters, now: datetime):
    """SELECT (day, raised, closed) from the per-day counters over the trend's window
    (kind filter only: the counters have no category or priority)."""
    days = f.days if f.days in TREND_DAYS else 30
    last = local_today(now)
    t = CaseDayTally
    conds = _scope_conditions(scope, Filters(kind=f.kind), t.office_id, t.kind, None, None)
    return (select(t.day, func.sum(t.raised), func.sum(t.closed))
            .where(*conds, t.day >= last - timedelta(days=days - 1), t.day <= last).group_by(t.day))


def _trend_scan(scope: OrgUnit, f: Filters, now: datetime, first: date) -> tuple[dict, dict]:
    start = local_midnight_utc(first)
    minutes = _offset_minutes(now)
    trend_filters = Filters(kind=f.kind, category_id=f.category_id, priority=f.priority)
    conds = _conditions(scope, trend_filters)
    raised_day = _local_day(Case.created_at, minutes)
    closed_day = _local_day(Case.closed_at, minutes)
    raised = {tallies.as_date(d): n for d, n in db.session.execute(
        select(raised_day, func.count()).where(*conds, Case.created_at >= start).group_by(raised_day))}
    closed = {tallies.as_date(d): n for d, n in db.session.execute(
        select(closed_day, func.count()).where(*conds, Case.status == wf.CLOSED, Case.closed_at >= start)
        .group_by(closed_day))}
    return raised, closed


def chart(points: list[tuple[date, int, int]], width: int = 640, height: int = 220) -> dict | None:
    """Geometry of the server-side SVG line chart (pure function). None when there is
    nothing to draw."""
    if not points or not any(r or c for _d, r, c in points):
        return None
    pad_l, pad_r, pad_t, pad_b = 40, 10, 10, 30
    ticks = charts.int_ticks(max(max(r, c) for _d, r, c in points), 4)  # whole numbers only
    top = ticks[-1]
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b
    step = inner_w / max(len(points) - 1, 1)

    def xy(i, v):
        return (round(pad_l + i * step, 1), round(pad_t + inner_h - inner_h * v / top, 1))

    def line(idx):
        return " ".join(f"{x},{y}" for x, y in (xy(i, p[idx]) for i, p in enumerate(points)))

    ticks = sorted({0, len(points) // 2, len(points) - 1})
    return {
        "width": width, "height": height, "top": top,
        "x0": pad_l, "x1": width - pad_r, "y0": pad_t, "y1": pad_t + inner_h,
        "raised": line(1), "closed": line(2),
        "xticks": [(xy(i, 0)[0], points[i][0]) for i in ticks],
        "yticks": [(xy(0, v)[1], v) for v in ticks],
    }


def categories_by_id(ids) -> dict[int, Category]:
    ids = [i for i in ids if i]
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Category).where(Category.id.in_(ids)))}


def build_view(user: User, scope: OrgUnit, f: Filters, now: datetime) -> View:
    """Everything the dashboard shows, for `scope` (already authorized) and filters."""
    s = summary(scope, f, now)
    points = trend(scope, f, now)
    return View(
        scope=scope, root=user.office, trail=trail(user, scope), filters=f,
        tiles=s.tiles, rating=s.rating if s.rating is not None else rating(scope, f), offices=s.offices, kinds=s.kinds, ageing=s.ageing,
        trend=points, chart=chart(points), generated_at=now,
        categories=categories_by_id({r["category_id"] for r in s.kinds}),
        by_category=category_table(scope, f, now, s),
    )


# ---- the filtered list behind every number -------------------------------------------

def case_list(user: User, scope: OrgUnit, f: Filters, now: datetime, key: str | None = None,
              age: str | None = None, uncategorized: bool = False):
    """A SELECT of the cases behind a number: visible to `user`, held in `scope`'s
    subtree, narrowed by the filters and by a tile key or an age bucket."""
    q = access.visible_cases(user).where(*_conditions(scope, f))
    if key:
        q = q.where(list_condition(key, now))
    if age:
        q = q.where(age_condition(age, now))
    if uncategorized:
        q = q.where(Case.category_id.is_(None))
    return q


def category_choices(kind: str | None = None) -> list[Category]:
    """Top-level categories (those the breakdown groups by), of one kind or all."""
    q = select(Category).where(Category.parent_id.is_(None), Category.active.is_(True))
    if kind:
        q = q.where(Category.kind == kind)
    return list(db.session.scalars(q.order_by(Category.kind, Category.sort_order, Category.name_en)))


# ---- export -------------------------------------------------------------------------

def export_sections(view: View) -> list[tuple[str, list[str], list[list]]]:
    """The current view as (title, header, rows) sections, labels in the request's
    language and numbers as plain numbers (for spreadsheets)."""
    from flask_babel import gettext as _

    from app.i18n import kind_label, office_kind_label

    labels = tile_labels()
    f = view.filters
    summary = [
        [_("Office"), view.scope.label()],
        [_("Raised from"), f.date_from.isoformat() if f.date_from else ""],
        [_("Raised until"), f.date_to.isoformat() if f.date_to else ""],
        [_("Kind"), kind_label(f.kind) if f.kind else _("All kinds")],
        [_("Category"), view.categories.get(f.category_id).label()
         if f.category_id in view.categories else (str(f.category_id) if f.category_id else _("All categories"))],
        [_("Priority"), f.priority or _("All priorities")],
        [_("Generated at (UTC)"), view.generated_at.strftime("%Y-%m-%d %H:%M")],
        [_("Cases in view"), view.tiles["total"]],
    ]
    summary += [[str(labels[k]), view.tiles[k]] for k in TILE_KEYS]
    summary.append([_("Average rating"), view.rating["average"] if view.rating["average"] is not None else ""])
    summary.append([_("Ratings"), view.rating["count"]])
    col_keys = ("total",) + TILE_KEYS + ("closed",)
    office_rows = []
    for r in view.offices:
        name = r.office.label() + (" " + _("(held here)") if r.here else "")
        office_rows.append([name, office_kind_label(r.office.kind)] + [r.counts[k] for k in col_keys])
    kind_rows = []
    for r in view.kinds:
        cat = view.categories.get(r["category_id"])
        kind_rows.append([kind_label(r["kind"]), cat.label() if cat else _("No category"),
                          r["total"], r["active"], r["closed"], r["breached"]])

    def office_name(r: OfficeRow) -> str:
        return r.office.label() + (" " + _("(held here)") if r.here else "")

    ageing_rows = [[office_name(r)] + [n for _k, n in r.ageing] for r in view.offices]
    ageing_rows.append([_("Total")] + [n for _k, n in view.ageing])
    by_category = []
    if view.by_category is not None:
        t = view.by_category
        ids = [c.id if c is not None else None for c in t.columns]
        by_category = [(_("By category and office"),
                        [_("Office")] + [c.label() if c is not None else _("No category") for c in t.columns],
                        [[office_name(r)] + [counts.get(i, 0) for i in ids] for r, counts in t.rows]
                        + [[_("Total")] + [t.totals.get(i, 0) for i in ids]])]
    return [
        (_("Summary"), [_("Measure"), _("Value")], summary),
        (_("By office"), [_("Office"), _("Level"), _("Total")] + [str(labels[k]) for k in col_keys[1:]],
         office_rows),
        *by_category,
        (_("By kind and category"), [_("Kind"), _("Category"), _("Total"), _("Not closed"), _("Closed"),
                                     str(labels["breached"])], kind_rows),
        (_("Ageing of cases not closed"), [_("Office")] + [age_label(k) for k, _lo, _hi in AGE_BUCKETS],
         ageing_rows),
        (_("Trend"), [_("Day"), _("Raised"), _("Closed")],
         [[d.isoformat(), r, c] for d, r, c in view.trend]),
    ]


def age_label(bucket: str) -> str:
    """"0–1 days", …, "More than 10 days": the heading of an age bucket."""
    from flask_babel import gettext as _

    from app.i18n import format_number

    for key, lo, hi in AGE_BUCKETS:
        if key == bucket:
            if hi is None:
                return _("More than %(n)s days", n=format_number(lo))
            return _("%(lo)s–%(hi)s days", lo=format_number(lo), hi=format_number(hi))
    raise KeyError(bucket)


def export_csv(view: View) -> bytes:
    return sections_csv(export_sections(view))


def export_xlsx(view: View) -> bytes:
    return sections_xlsx(export_sections(view))


def tile_labels() -> dict:
    from flask_babel import lazy_gettext as _l

    return {
        "open": _l("Open"),
        "in_progress": _l("In progress"),
        "awaiting_customer": _l("Awaiting customer or information"),
        "pending_external": _l("Pending at external authorities"),
        "closed_today": _l("Closed today"),
        "breached": _l("SLA breached (not closed)"),
        "active": _l("Not closed"),
        "closed": _l("Closed"),
        "rated": _l("Rated"),
    }
