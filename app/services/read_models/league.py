"""Where to act (issue 27): the league table of the offices one level down, the heat
table of category x office, SLA compliance over the last twelve weeks, and the charts'
geometry. Read-only; every figure comes from the maintained counters: `CaseFlowTally`
and `CaseDisposalTally`, kept for every office over its whole subtree and read as a
primary-key range (a day range) per office one level down; `CaseTally` (pending beyond
SLA now, per holding office in scope, added up here) and `BacklogSnapshot` (the same at
the start of the period).

Periods are the last 7, 30 or 91 local days, today included, compared with the as many
days just before. The composite index (0-100, higher is better) is the weighted mean of
the parts that have data (`INDEX_WEIGHTS`, explained on the page):

    SLA compliance %                                    x 40
    backlog within SLA: 100 x (1 - pending beyond SLA / not closed)  x 25
    satisfaction: (average rating - 1) / 4 x 100       x 15
    accepted resolutions: 100 x (1 - rejections / closed)          x 10
    first-time cases: 100 x (1 - repeats / raised)     x 10
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, literal_column, or_, select
from sqlalchemy.orm import aliased

from app.domain import workflow as wf
from app.extensions import db
from app.models import BacklogSnapshot, CaseDisposalTally, CaseFlowTally, CaseTally, Category, OrgUnit
from app.services.engine import access
from app.services.read_models import tallies
from app.services.read_models.dashboards import local_today

PERIODS = {"week": 7, "month": 30, "quarter": 91}
INDEX_WEIGHTS = (("compliance", 40), ("backlog", 25), ("rating", 15), ("accepted", 10), ("first_time", 10))
# Columns of the league table: key -> True when a higher value is better. The default
# order, and a column's first click, put the worst first.
COLUMNS = {
    "index": True, "compliance": True, "median": False, "p90": False, "pending": False,
    "own_days": False, "external_days": False, "rejections": False, "repeats": False, "rating": True,
    "closed": None, "name": None,
}
WEEKS = 12
HEAT_CATEGORIES = 12
# A heat-table cell is "rising" when the cases raised grew by half or more, and by at
# least this many, against the previous period.
RISING_MIN = 3


@dataclass
class Window:
    period: str
    first: date
    last: date
    prev_first: date
    prev_last: date

    @property
    def days(self) -> int:
        return PERIODS[self.period]


def window(period: str, last: date) -> Window:
    n = PERIODS[period]
    first = last - timedelta(days=n - 1)
    return Window(period, first, last, first - timedelta(days=n), first - timedelta(days=1))


@dataclass
class Figures:
    """One office's figures for one period (None: no data)."""

    raised: int = 0
    repeats: int = 0
    closed: int = 0
    closed_in_sla: int = 0
    own_seconds: int = 0
    external_seconds: int = 0
    rejections: int = 0
    rating_sum: int = 0
    rating_n: int = 0
    histogram: dict = field(default_factory=dict)  # business days -> closed cases
    pending: int | None = None  # pending beyond SLA (now, or at the end of the previous period)
    active: int | None = None  # not closed

    @property
    def compliance(self) -> float | None:
        return round(100 * self.closed_in_sla / self.closed, 1) if self.closed else None

    @property
    def median(self) -> int | None:
        return percentile(self.histogram, 50)

    @property
    def p90(self) -> int | None:
        return percentile(self.histogram, 90)

    @property
    def own_days(self) -> float | None:
        return round(self.own_seconds / self.closed / 86400, 1) if self.closed else None

    @property
    def external_days(self) -> float | None:
        return round(self.external_seconds / self.closed / 86400, 1) if self.closed else None

    @property
    def rating(self) -> float | None:
        return round(self.rating_sum / self.rating_n, 2) if self.rating_n else None

    def parts(self) -> dict:
        """The index's parts (0-100) that have data."""
        out = {}
        if self.closed:
            out["compliance"] = 100 * self.closed_in_sla / self.closed
            out["accepted"] = max(0.0, 100 * (1 - self.rejections / self.closed))
        if self.active:
            out["backlog"] = 100 * (1 - min(self.pending or 0, self.active) / self.active)
        if self.rating_n:
            out["rating"] = (self.rating_sum / self.rating_n - 1) / 4 * 100
        if self.raised:
            out["first_time"] = 100 * (1 - min(self.repeats, self.raised) / self.raised)
        return out

    @property
    def index(self) -> float | None:
        parts = self.parts()
        weights = [(parts[k], w) for k, w in INDEX_WEIGHTS if k in parts]
        if not weights:
            return None
        return round(sum(v * w for v, w in weights) / sum(w for _v, w in weights), 1)

    def value(self, key: str):
        return getattr(self, key)


def percentile(histogram: dict, p: int) -> int | None:
    """The nearest-rank percentile of a histogram {value: count}: the smallest value
    with at least p% of the counts at or below it."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = math.ceil(p / 100 * total)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None


@dataclass
class Row:
    office: OrgUnit
    drillable: bool
    now: Figures
    before: Figures

    def change(self, key: str):
        a, b = self.now.value(key), self.before.value(key)
        if a is None or b is None:
            return None
        return round(a - b, 2)

    @property
    def name(self) -> str:
        return self.office.label()  # the reader's language (sorting and exports too)


@dataclass
class League:
    scope: OrgUnit
    window: Window
    rows: list
    total: Row
    sort: str
    descending: bool
    generated_at: datetime


# ---- queries ------------------------------------------------------------------------------

def _children(scope: OrgUnit) -> tuple[list[OrgUnit], set[int]]:
    children = list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.parent_id == scope.id, OrgUnit.kind != "external").order_by(OrgUnit.name)))
    with_children = set(db.session.scalars(
        select(OrgUnit.parent_id).where(OrgUnit.parent_id.in_([c.id for c in children]),
                                        OrgUnit.kind != "external").distinct())) if children else set()
    return children, with_children


def _rollup(inner, scope: OrgUnit, *cols):
    """SELECT grouping `inner` (per holding office, column `office_id`) by the office one
    level down from `scope` that holds it — and by `scope` itself, whose row is the
    total of the whole subtree."""
    child, held = aliased(OrgUnit), aliased(OrgUnit)
    return (select(child.id.label("unit"), *cols)
            .select_from(child)
            .join(held, held.path.startswith(child.path))
            .join(inner, inner.c.office_id == held.id)
            .where(or_(child.parent_id == scope.id, child.id == scope.id), child.kind != "external"))


def _in_scope(col, scope: OrgUnit):
    return col.in_(select(OrgUnit.id).where(access.in_subtree(OrgUnit.path, scope)).scalar_subquery())


UNIT = literal_column("unit")
FLOW_SUMS = ("raised", "repeats", "closed", "closed_in_sla", "own_seconds", "external_seconds", "rejections",
             "rating_sum", "rating_n")


def _flow_rows(units: list[int], w: Window) -> list:
    """(unit, current?, category, sums...) from the flow counters (kept for every office,
    its whole subtree), both periods in one statement: a primary-key range per unit. The
    league adds the categories up, the heat table reads them."""
    t = CaseFlowTally
    current = t.day >= w.first
    q = (select(t.office_id.label("unit"), current.label("cur"), t.category_id,
                *(func.sum(getattr(t, c)).label(c) for c in FLOW_SUMS))
         .where(t.office_id.in_(units), t.day >= w.prev_first, t.day <= w.last)
         .group_by(t.office_id, current, t.category_id))
    return db.session.execute(q).all()


def _flow(rows) -> dict[tuple[int, bool], dict]:
    """{(unit, current?): sums} of `_flow_rows`."""
    out: dict = {}
    for r in rows:
        sums = out.setdefault((r.unit, bool(r.cur)), dict.fromkeys(FLOW_SUMS, 0))
        for c in FLOW_SUMS:
            sums[c] += int(getattr(r, c) or 0)
    return out


def _disposal(units: list[int], w: Window) -> dict[tuple[int, bool], dict]:
    """{(unit, current?): {business days: closed cases}} from the disposal histogram."""
    t = CaseDisposalTally
    current = t.day >= w.first
    q = (select(t.office_id.label("unit"), current.label("cur"), t.days, func.sum(t.n).label("n"))
         .where(t.office_id.in_(units), t.day >= w.prev_first, t.day <= w.last)
         .group_by(t.office_id, current, t.days))
    out: dict = {}
    for r in db.session.execute(q):
        out.setdefault((r.unit, bool(r.cur)), {})[int(r.days)] = int(r.n)
    return out


def _backlog(scope: OrgUnit, units: list[int]) -> dict[int, tuple[int, int]]:
    """{unit: (not closed, pending beyond SLA)} now, from the case counters: one row per
    holding office in scope (with its path), added up here for `units` above it."""
    t = CaseTally
    inner = (select(t.office_id.label("office_id"), func.sum(t.n).label("active"),
                    func.sum(case((t.breached.is_(True), t.n), else_=0)).label("breached"))
             .where(t.status != wf.CLOSED, _in_scope(t.office_id, scope))
             .group_by(t.office_id).subquery())
    rows = db.session.execute(select(OrgUnit.path, inner.c.active, inner.c.breached)
                              .join(inner, inner.c.office_id == OrgUnit.id))
    wanted = set(units)
    out: dict[int, list[int]] = {u: [0, 0] for u in units}
    for path, active, breached in rows:
        for unit in {int(p) for p in path.strip("/").split("/") if p} & wanted:
            out[unit][0] += int(active or 0)
            out[unit][1] += int(breached or 0)
    return {u: (a, b) for u, (a, b) in out.items()}


def _snapshot(scope: OrgUnit, day: date) -> dict[int, tuple[int, int]] | None:
    """{unit: (not closed, pending beyond SLA)} at the start of `day` (the end of the
    day before), or None when no snapshot was taken that day."""
    t = BacklogSnapshot
    if db.session.scalar(select(t.day).where(t.day == day).limit(1)) is None:
        return None
    inner = (select(t.office_id.label("office_id"), t.active.label("active"), t.breached.label("breached"))
             .where(t.day == day, _in_scope(t.office_id, scope)).subquery())
    q = _rollup(inner, scope, func.sum(inner.c.active).label("active"),
                func.sum(inner.c.breached).label("breached")).group_by(UNIT)
    return {r.unit: (int(r.active or 0), int(r.breached or 0)) for r in db.session.execute(q)}


def _figures(unit: int, cur: bool, flow: dict, disposal: dict, backlog: dict | None) -> Figures:
    f = Figures(**flow.get((unit, cur), {}), histogram=disposal.get((unit, cur), {}))
    if backlog is not None:
        f.active, f.pending = backlog.get(unit, (0, 0))
    return f


def sort_rows(rows: list[Row], key: str, descending: bool) -> list[Row]:
    """Rows ordered by `key`; offices without a figure last, then by name."""
    if key == "name":
        return sorted(rows, key=lambda r: r.name.casefold(), reverse=descending)
    have = [r for r in rows if r.now.value(key) is not None]
    missing = [r for r in rows if r.now.value(key) is None]
    have.sort(key=lambda r: r.name.casefold())
    have.sort(key=lambda r: r.now.value(key), reverse=descending)
    return have + sorted(missing, key=lambda r: r.name.casefold())


def worst_first(key: str) -> bool:
    """Whether the worst-first order of `key` is descending."""
    better_high = COLUMNS[key]
    if better_high is None:
        return key != "name"  # "closed": most first; names A-Z
    return not better_high


def league(scope: OrgUnit, period: str, now: datetime, sort: str = "index", descending: bool | None = None,
           last: date | None = None) -> League:
    """The league table of the offices one level down from `scope` (already authorized)."""
    return league_and_heat(scope, period, now, sort, descending, last)[0]


def league_and_heat(scope: OrgUnit, period: str, now: datetime, sort: str = "index",
                    descending: bool | None = None, last: date | None = None) -> tuple[League, Heat]:
    """The league table and the heat table, from one read of the flow counters."""
    last = last or local_today(now)
    w = window(period, last)
    children, with_children = _children(scope)
    units = [scope.id] + [c.id for c in children]
    flow_rows = _flow_rows(units, w)
    flow, disposal = _flow(flow_rows), _disposal(units, w)
    backlog = _backlog(scope, units)
    before_backlog = _snapshot(scope, w.first)  # taken at the start of the period's first day
    rows = [Row(c, c.id in with_children, _figures(c.id, True, flow, disposal, backlog),
                _figures(c.id, False, flow, disposal, before_backlog)) for c in children]
    total = Row(scope, False, _figures(scope.id, True, flow, disposal, backlog),
                _figures(scope.id, False, flow, disposal, before_backlog))
    if descending is None:
        descending = worst_first(sort)
    return (League(scope, w, sort_rows(rows, sort, descending), total, sort, descending, now),
            _heat(scope, children, flow_rows))


# ---- SLA compliance over the last twelve weeks ---------------------------------------------

def weekly_compliance(scope: OrgUnit, now: datetime, weeks: int = WEEKS) -> list[tuple[date, date, int, int]]:
    """(first day, last day, closed, closed within SLA) for each of the last `weeks`
    seven-day periods ending today, oldest first."""
    last = local_today(now)
    first = last - timedelta(days=7 * weeks - 1)
    t = CaseFlowTally
    rows = db.session.execute(
        select(t.day, func.sum(t.closed), func.sum(t.closed_in_sla))
        .where(t.office_id == scope.id, t.day >= first, t.day <= last).group_by(t.day)).all()
    out = []
    for i in range(weeks):
        a = first + timedelta(days=7 * i)
        out.append([a, a + timedelta(days=6), 0, 0])
    for day, closed, in_sla in rows:
        i = (tallies.as_date(day) - first).days // 7
        out[i][2] += int(closed or 0)
        out[i][3] += int(in_sla or 0)
    return [tuple(r) for r in out]


# ---- heat table: category x office ------------------------------------------------------------

@dataclass
class Heat:
    offices: list  # OrgUnit, one level down
    categories: list  # (category id or 0, Category or None)
    cells: dict  # (category id, office id) -> (now, before)
    totals: dict  # category id -> (now, before)


def rising(now: int, before: int) -> bool:
    return now - before >= RISING_MIN and now >= 1.5 * before


def heat(scope: OrgUnit, period: str, now: datetime, last: date | None = None) -> Heat:
    """Cases raised per top-level category and office one level down, this period and
    the previous one: the categories with most cases now (up to HEAT_CATEGORIES)."""
    w = window(period, last or local_today(now))
    children, _with = _children(scope)
    return _heat(scope, children, _flow_rows([scope.id] + [c.id for c in children], w))


def _heat(scope: OrgUnit, children: list[OrgUnit], flow_rows) -> Heat:
    ids = {r.category_id for r in flow_rows if r.raised and r.category_id}
    c1, c2, c3 = aliased(Category), aliased(Category), aliased(Category)
    tops = dict(db.session.execute(
        select(c1.id, func.coalesce(c3.id, c2.id, c1.id))
        .outerjoin(c2, c2.id == c1.parent_id).outerjoin(c3, c3.id == c2.parent_id)
        .where(c1.id.in_(ids))).all()) if ids else {}  # categories are three levels at most

    def top(category_id: int) -> int:
        return tops.get(category_id, 0)

    cells: dict = {}  # (category, unit) -> [now, before]; unit == scope: the totals
    for r in flow_rows:
        if r.raised:
            pair = cells.setdefault((top(r.category_id), r.unit), [0, 0])
            pair[0 if r.cur else 1] += int(r.raised)
    totals = {k: tuple(v) for (k, unit), v in cells.items() if unit == scope.id}
    cells = {key: tuple(v) for key, v in cells.items() if key[1] != scope.id}
    order = sorted(totals, key=lambda k: (-totals[k][0], -totals[k][1], k))[:HEAT_CATEGORIES]
    cats = {c.id: c for c in db.session.scalars(select(Category).where(Category.id.in_([k for k in order if k])))}
    categories = [(k, cats.get(k)) for k in order]  # None: no category
    return Heat(children, categories, cells, totals)


# ---- labels and export ----------------------------------------------------------------------

def column_labels() -> dict:
    from flask_babel import lazy_gettext as _l

    return {
        "name": _l("Office"),
        "index": _l("Index (0-100)"),
        "compliance": _l("SLA compliance %"),
        "median": _l("Median disposal (business days)"),
        "p90": _l("90th percentile disposal (business days)"),
        "pending": _l("Pending beyond SLA"),
        "own_days": _l("Time with us (days, average)"),
        "external_days": _l("Time with external authorities (days, average)"),
        "rejections": _l("Resolutions rejected by customers"),
        "repeats": _l("Repeat cases"),
        "rating": _l("Average rating (out of 5)"),
        "closed": _l("Closed"),
    }


def period_labels() -> dict:
    from flask_babel import lazy_gettext as _l

    return {"week": _l("Week"), "month": _l("Month"), "quarter": _l("Quarter")}


def index_part_labels() -> dict:
    from flask_babel import lazy_gettext as _l

    return {
        "compliance": _l("SLA compliance: the share of the cases closed in the period that were closed within SLA"),
        "backlog": _l("Backlog within SLA: 100 less the share of the cases not closed that are pending beyond SLA"),
        "rating": _l("Satisfaction: the average rating, 1 to 5, on a scale of 0 to 100"),
        "accepted": _l("Accepted resolutions: 100 less the share of closed cases whose resolution a customer rejected"),
        "first_time": _l("First-time cases: 100 less the share of repeat cases among the cases raised"),
    }


FIGURE_KEYS = ("index", "compliance", "median", "p90", "pending", "own_days", "external_days", "rejections",
               "repeats", "rating", "closed")


def export_sections(lg: League, ht: Heat) -> list[tuple[str, list, list]]:
    """(title, header, rows) sections in the current language: the league table (each
    figure and its change against the previous period) and the heat table."""
    from flask_babel import gettext as _

    labels = column_labels()
    w = lg.window
    summary = [
        [_("Office"), lg.scope.label()],
        [_("Period"), f"{w.first.isoformat()} – {w.last.isoformat()}"],
        [_("Previous period"), f"{w.prev_first.isoformat()} – {w.prev_last.isoformat()}"],
        [_("Generated at (UTC)"), lg.generated_at.strftime("%Y-%m-%d %H:%M")],
    ]
    header = [_("Rank"), str(labels["name"])]
    for k in FIGURE_KEYS:
        header += [str(labels[k]), _("Change")]
    rows = []
    for i, r in enumerate(lg.rows + [lg.total], start=1):
        line = [i if r is not lg.total else "", r.name if r is not lg.total else _("All of %(office)s",
                                                                                 office=r.name)]
        for k in FIGURE_KEYS:
            v, c = r.now.value(k), r.change(k)
            line += ["" if v is None else v, "" if c is None else c]
        rows.append(line)
    heat_header = [_("Category")] + [o.label() for o in ht.offices] + [_("All")]
    heat_rows = []
    for cat_id, cat in ht.categories:
        line = [cat.label() if cat else _("No category")]
        for o in ht.offices:
            now, before = ht.cells.get((cat_id, o.id), (0, 0))
            line.append(f"{now} ({now - before:+d})")
        now, before = ht.totals.get(cat_id, (0, 0))
        line.append(f"{now} ({now - before:+d})")
        heat_rows.append(line)
    return [
        (_("Summary"), [_("Measure"), _("Value")], summary),
        (_("League table"), header, rows),
        (_("Cases raised by category"), heat_header, heat_rows),
    ]


def to_csv(sections) -> bytes:
    from app.exports import sections_csv

    return sections_csv(sections)


def to_xlsx(sections) -> bytes:
    from app.exports import sections_xlsx

    return sections_xlsx(sections)
