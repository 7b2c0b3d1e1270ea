"""Reports & analytics on complaints: aggregate SQL only (GROUP BY in the database,
never cases loaded into Python), scoped to the viewer's jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from app.domain import workflow as wf
from app.extensions import db
from app.i18n import status_label
from app.models import Case, Category, Feedback, OrgUnit, User
from app.services.engine import access

KIND = wf.COMPLAINT
AGE_BUCKETS = (7, 30)  # days: 0–7, 8–30, over 30


@dataclass
class Table:
    name: str
    title: object
    headers: list
    rows: list  # lists of plain values (str/int/float/None)


def _base(user: User, start: date | None, end: date | None):
    cond = [Case.kind == KIND, access.jurisdiction_filter(user)]
    if start:
        cond.append(Case.created_at >= datetime.combine(start, datetime.min.time()))
    if end:
        cond.append(Case.created_at < datetime.combine(end + timedelta(days=1), datetime.min.time()))
    return and_(*cond)


def _count_if(cond):
    return func.coalesce(func.sum(sql_case((cond, 1), else_=0)), 0)


def _epoch(col):
    """Seconds since the epoch of a timestamp column, on SQLite and PostgreSQL."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", col)
    return (func.julianday(col) - 2440587.5) * 86400.0


def _top_category():
    """(expression of the top-level category id, the joins that give it)."""
    t, s, c = aliased(Category), aliased(Category), aliased(Category)
    return t, s, c, func.coalesce(c.id, s.id, t.id)


def _category_labels(ids) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return {c.id: c.label() for c in db.session.scalars(select(Category).where(Category.id.in_(ids)))}


def pending_external(user, now, start=None, end=None) -> Table:
    """Complaints now with an external authority, by authority and by how long."""
    d1, d2 = (now - timedelta(days=d) for d in AGE_BUCKETS)
    ext = aliased(OrgUnit)
    since = Case.paused_since
    rows = db.session.execute(
        select(ext.name, func.count(), _count_if(since > d1), _count_if(and_(since <= d1, since > d2)),
               _count_if(since <= d2), func.min(since))
        .select_from(Case).join(ext, Case.external_office_id == ext.id)
        .where(_base(user, start, end), Case.status == wf.PENDING_EXTERNAL)
        .group_by(ext.name).order_by(ext.name)
    ).all()
    oldest = [int((now - r[5]).total_seconds() // 86400) if r[5] else None for r in rows]
    return Table("external", _l("Pending at external authorities"),
                 [_l("External authority"), _l("Total"), _l("Up to 7 days"), _l("8 to 30 days"),
                  _l("Over 30 days"), _l("Oldest (days)")],
                 [[r[0], r[1], r[2], r[3], r[4], o] for r, o in zip(rows, oldest, strict=True)])


def by_category(user, now, start=None, end=None) -> Table:
    t, s, c, top = _top_category()
    closed = Case.status == wf.CLOSED
    rows = db.session.execute(
        select(top, func.count(), _count_if(~closed), _count_if(closed))
        .select_from(Case).outerjoin(t, Case.category_id == t.id)
        .outerjoin(s, t.parent_id == s.id).outerjoin(c, s.parent_id == c.id)
        .where(_base(user, start, end)).group_by(top).order_by(func.count().desc())
    ).all()
    labels = _category_labels([r[0] for r in rows])
    return Table("category", _l("Complaints by category"),
                 [_l("Category"), _l("Total"), _l("Open"), _l("Closed")],
                 [[labels.get(r[0], "—"), r[1], r[2], r[3]] for r in rows])


def by_status(user, now, start=None, end=None) -> Table:
    rows = db.session.execute(
        select(Case.status, func.count()).where(_base(user, start, end))
        .group_by(Case.status).order_by(Case.status)
    ).all()
    return Table("status", _l("Complaints by status"), [_l("Status"), _l("Total")],
                 [[status_label(r[0]), r[1]] for r in rows])


def by_office(user, now, start=None, end=None) -> Table:
    office = aliased(OrgUnit)
    closed = Case.status == wf.CLOSED
    rows = db.session.execute(
        select(office.name, func.count(), _count_if(~closed), _count_if(closed),
               _count_if(Case.escalation_level > 0))
        .select_from(Case).join(office, Case.current_office_id == office.id)
        .where(_base(user, start, end)).group_by(office.name).order_by(office.name)
    ).all()
    return Table("office", _l("Complaints by office"),
                 [_l("Office"), _l("Total"), _l("Open"), _l("Closed"), _l("Escalated")],
                 [list(r) for r in rows])


def sla_compliance(user, now, start=None, end=None) -> Table:
    """Closed within the resolution time (our own time: the due time moves by the
    time spent with external authorities and the customer), and overdue open ones."""
    closed = Case.status == wf.CLOSED
    on_time = and_(closed, Case.closed_at <= Case.resolution_due, Case.sla_breached.is_(False))
    overdue_open = and_(~closed, Case.paused_since.is_(None), Case.resolution_due < now)
    row = db.session.execute(
        select(func.count(), _count_if(closed), _count_if(on_time), _count_if(Case.sla_breached),
               _count_if(overdue_open))
        .where(_base(user, start, end))
    ).one()
    total, n_closed, n_on_time, breached, overdue = (int(v or 0) for v in row)
    pct = round(100.0 * n_on_time / n_closed, 1) if n_closed else None
    return Table("sla", _l("SLA compliance"),
                 [_l("Complaints"), _l("Closed"), _l("Closed within SLA"), _l("Compliance (%)"),
                  _l("Escalated for delay"), _l("Open and overdue")],
                 [[total, n_closed, n_on_time, pct, breached, overdue]])


def ratings(user, now, start=None, end=None) -> Table:
    row = db.session.execute(
        select(func.count(Feedback.id), func.avg(Feedback.rating))
        .select_from(Case).join(Feedback, Feedback.case_id == Case.id)
        .where(_base(user, start, end))
    ).one()
    avg = round(float(row[1]), 2) if row[1] is not None else None
    return Table("rating", _l("Customer rating"), [_l("Ratings"), _l("Average rating (1–5)")],
                 [[int(row[0] or 0), avg]])


def two_clocks(user, now, start=None, end=None) -> Table:
    """Average days with us, with external authorities and waiting for the customer,
    over closed complaints."""
    closed = Case.status == wf.CLOSED
    elapsed = _epoch(Case.closed_at) - _epoch(Case.created_at)
    ours = elapsed - Case.external_seconds - Case.customer_seconds
    row = db.session.execute(
        select(func.count(), func.avg(ours), func.avg(Case.external_seconds),
               func.avg(Case.customer_seconds), func.sum(Case.external_seconds))
        .where(_base(user, start, end), closed)
    ).one()

    def days(v):
        return round(float(v) / 86400, 1) if v is not None else None

    return Table("clocks", _l("Time with us and with others (closed complaints)"),
                 [_l("Closed complaints"), _l("Average days with us"),
                  _l("Average days at external authorities"), _l("Average days waiting for the customer")],
                 [[int(row[0] or 0), days(row[1]), days(row[2]), days(row[3])]])


def repeat_complaints(user, now, start=None, end=None) -> Table:
    """New complaints that refer to a closed one, per office and category."""
    t, s, c, top = _top_category()
    office = aliased(OrgUnit)
    rows = db.session.execute(
        select(office.name, top, func.count())
        .select_from(Case).join(office, Case.current_office_id == office.id)
        .outerjoin(t, Case.category_id == t.id).outerjoin(s, t.parent_id == s.id)
        .outerjoin(c, s.parent_id == c.id)
        .where(_base(user, start, end), Case.related_case_id.is_not(None))
        .group_by(office.name, top).order_by(office.name, func.count().desc())
    ).all()
    labels = _category_labels([r[1] for r in rows])
    return Table("repeat", _l("Repeat complaints"), [_l("Office"), _l("Category"), _l("Total")],
                 [[r[0], labels.get(r[1], "—"), r[2]] for r in rows])


REPORTS = {
    "external": pending_external,
    "category": by_category,
    "status": by_status,
    "office": by_office,
    "sla": sla_compliance,
    "rating": ratings,
    "clocks": two_clocks,
    "repeat": repeat_complaints,
}


def all_reports(user, now, start=None, end=None) -> list[Table]:
    return [fn(user, now, start, end) for fn in REPORTS.values()]


def to_csv(table: Table) -> str:
    """One report as CSV; text cells (office/authority names are data) neutralised by
    the shared writer."""
    import io

    from app.exports import csv_writer

    buf = io.StringIO()
    writer = csv_writer(buf)
    writer.writerow([str(h) for h in table.headers])
    writer.writerows(table.rows)
    return buf.getvalue()
