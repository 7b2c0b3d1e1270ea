"""Maintained counters for the league table, the heat table and the weekly SLA
compliance (issue 27): `CaseFlowTally` and `CaseDisposalTally`.

Each case contributes to a few counter rows, a function of its own columns only
(`FLOW_COLUMNS`) and of its rating:

* on the local day it was raised, for the office holding it now: one `raised`, and one
  of `repeats` when it is a possible repeat (`repeat_of_id`);
* when it is closed, on the local day it was closed: one `closed`, one `closed_in_sla`
  unless its SLA was breached, its time with us (raised to closed, less the time
  waiting on external authorities and on the requester) and with external authorities,
  its rating; and one case in the disposal histogram under its whole business days
  from raising to closing (the portal's business-day and holiday rules).

Every row is written for the holding office and for each office above it (from the
office's materialized path), so that a league reads a primary-key range per office one
level down, not the whole subtree; moving an office in the tree moves its rows between
the offices above it (`move_office`).

A SQLAlchemy `after_flush` hook subtracts the contribution a changed case had and adds
the one it has now — in the same transaction, like `app.services.read_models.tallies`; writes that
bypass the ORM (the sweep's set-based path) call `apply()`. Requesters' rejections of a
proposed resolution are events: counted on their day for the office holding the case
then, never moved.

`repeat_of_id` is set here too, before a new case is first written: the case it refers
to (`related_case_id`, a review's follow-up excepted), or else the latest case from the
same mobile number about the same service (`intake.service_ids`: a complaint's service
covers its types) raised in the last `REPEAT_DAYS`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import Date, bindparam, delete, event, func, or_, select, text
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import identity_key

from app.domain import workflow as wf
from app.domain.sla import business_days_between
from app.extensions import db
from app.models import Case, CaseDisposalTally, CaseEvent, CaseFlowTally, Category, Feedback, Holiday, OrgUnit

REPEAT_DAYS = 30
FLOW_COLUMNS = ("current_office_id", "kind", "category_id", "status", "created_at", "closed_at",
                "sla_breached", "external_seconds", "customer_seconds", "repeat_of_id")
FLOW_KEY = ("office_id", "day", "kind", "category_id")
FLOW_SUMS = ("raised", "repeats", "closed", "closed_in_sla", "own_seconds", "external_seconds", "rejections",
             "rating_sum", "rating_n")
DISPOSAL_KEY = ("office_id", "day", "days")
# Reviews (`complaint_reviews`) raise a follow-up that refers to the reviewed complaint:
# not a requester coming back.
NOT_REPEAT_CHANNELS = ("review",)


# Plain SQL, the same for PostgreSQL and SQLite (as `tallies._UPSERT`).
# Adding a row's sums to the counters it lands on (every upsert of `case_flow_tally`).
_ADD_TO_FLOW = (
    "ON CONFLICT (office_id, day, kind, category_id) DO UPDATE SET "
    "raised = case_flow_tally.raised + excluded.raised, repeats = case_flow_tally.repeats + excluded.repeats, "
    "closed = case_flow_tally.closed + excluded.closed, "
    "closed_in_sla = case_flow_tally.closed_in_sla + excluded.closed_in_sla, "
    "own_seconds = case_flow_tally.own_seconds + excluded.own_seconds, "
    "external_seconds = case_flow_tally.external_seconds + excluded.external_seconds, "
    "rejections = case_flow_tally.rejections + excluded.rejections, "
    "rating_sum = case_flow_tally.rating_sum + excluded.rating_sum, "
    "rating_n = case_flow_tally.rating_n + excluded.rating_n")
_FLOW_UPSERT = text(
    "INSERT INTO case_flow_tally (office_id, day, kind, category_id, raised, repeats, closed, closed_in_sla, "  # noqa: S608 - constants only
    "own_seconds, external_seconds, rejections, rating_sum, rating_n) VALUES (:office_id, :day, :kind, "
    ":category_id, :raised, :repeats, :closed, :closed_in_sla, :own_seconds, :external_seconds, :rejections, "
    ":rating_sum, :rating_n) "
    + _ADD_TO_FLOW).bindparams(bindparam("day", type_=Date()))
_DISPOSAL_UPSERT = text(
    "INSERT INTO case_disposal_tally (office_id, day, days, n) VALUES (:office_id, :day, :days, :n) "
    "ON CONFLICT (office_id, day, days) DO UPDATE SET n = case_disposal_tally.n + excluded.n",
).bindparams(bindparam("day", type_=Date()))


# The same upserts for PostgreSQL, all rows in one statement, a column of values per array
# (as `tallies._UPSERT_ARRAYS`): a sweep batch of 500 closes moves a few thousand keys, and
# even pipelined, a statement per key was a third of the sweep. WITH ORDINALITY ... ORDER BY
# keeps the key order in which rows are locked.
_FLOW_COLUMNS = (*FLOW_KEY, *FLOW_SUMS)
_FLOW_ARRAYS = text(
    "INSERT INTO case_flow_tally (office_id, day, kind, category_id, raised, repeats, closed, closed_in_sla, "  # noqa: S608 - constants only
    "own_seconds, external_seconds, rejections, rating_sum, rating_n) "
    "SELECT office_id, day, kind, category_id, raised, repeats, closed, closed_in_sla, own_seconds, "
    "external_seconds, rejections, rating_sum, rating_n FROM unnest("
    "CAST(:office_id AS integer[]), CAST(:day AS date[]), CAST(:kind AS varchar[]), "
    "CAST(:category_id AS integer[]), CAST(:raised AS integer[]), CAST(:repeats AS integer[]), "
    "CAST(:closed AS integer[]), CAST(:closed_in_sla AS integer[]), CAST(:own_seconds AS bigint[]), "
    "CAST(:external_seconds AS bigint[]), CAST(:rejections AS integer[]), CAST(:rating_sum AS integer[]), "
    "CAST(:rating_n AS integer[])) WITH ORDINALITY AS v(office_id, day, kind, category_id, raised, repeats, "
    "closed, closed_in_sla, own_seconds, external_seconds, rejections, rating_sum, rating_n, ord) ORDER BY ord "
    + _ADD_TO_FLOW)
_DISPOSAL_ARRAYS = text(
    "INSERT INTO case_disposal_tally (office_id, day, days, n) SELECT office_id, day, days, n FROM unnest("
    "CAST(:office_id AS integer[]), CAST(:day AS date[]), CAST(:days AS integer[]), CAST(:n AS integer[])"
    ") WITH ORDINALITY AS v(office_id, day, days, n, ord) ORDER BY ord "
    "ON CONFLICT (office_id, day, days) DO UPDATE SET n = case_disposal_tally.n + excluded.n")


def _columns(rows: list[dict], names) -> dict[str, list]:
    return {c: [r[c] for r in rows] for c in names}


def _context(holidays=None):
    from app.services.engine import sla
    from app.services.read_models import tallies

    return tallies.zone(), sla.holidays() if holidays is None else holidays


def _local(instant, tz) -> date:
    from app.services.read_models.tallies import local_day

    return local_day(instant, tz)


def entries(values, rating: int | None, tz, holidays) -> tuple[list, list]:
    """(flow entries [(key, {sum: n})], disposal entries [(key, n)]) of a case with
    these FLOW_COLUMNS values and rating."""
    (office, kind, category, status, created_at, closed_at, breached, external, customer,
     repeat_of) = values
    flow, disposal = [], []
    if created_at is None or office is None:
        return flow, disposal
    cat = category or 0
    flow.append(((office, _local(created_at, tz), kind, cat), {"raised": 1, "repeats": 1 if repeat_of else 0}))
    if status == wf.CLOSED and closed_at is not None:
        day = _local(closed_at, tz)
        external, customer = int(external or 0), int(customer or 0)
        own = max(0, int((closed_at - created_at).total_seconds()) - external - customer)
        flow.append(((office, day, kind, cat), {
            "closed": 1, "closed_in_sla": 0 if breached else 1, "own_seconds": own,
            "external_seconds": external, "rating_sum": rating or 0, "rating_n": 1 if rating else 0}))
        disposal.append(((office, day, business_days_between(created_at, closed_at, holidays, tz=tz.key)), 1))
    return flow, disposal


def _values(case: Case, old: bool = False) -> tuple:
    from app.services.read_models.tallies import loaded_values

    return loaded_values(case, FLOW_COLUMNS) if old else tuple(getattr(case, c) for c in FLOW_COLUMNS)


class Changes:
    """Count changes gathered per holding office, written for the office and each office
    above it (`write`)."""

    def __init__(self, holidays=None):
        self.flow: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(FLOW_SUMS, 0))
        self.disposal: dict[tuple, int] = defaultdict(int)
        self.tz, self.holidays = _context(holidays)

    def add(self, values, rating, sign: int) -> None:
        flow, disposal = entries(values, rating, self.tz, self.holidays)
        for key, sums in flow:
            row = self.flow[key]
            for k, v in sums.items():
                row[k] += sign * v
        for key, n in disposal:
            self.disposal[key] += sign * n

    def rolled_up(self, paths: dict[int, tuple]) -> tuple[dict, dict]:
        """The changes for every office above each holding office too (`paths`: office id
        -> ids from the root down to it)."""
        flow: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(FLOW_SUMS, 0))
        disposal: dict[tuple, int] = defaultdict(int)
        for (office, *rest), sums in self.flow.items():
            if not any(sums.values()):
                continue
            for unit in paths.get(office, (office,)):
                row = flow[(unit, *rest)]
                for k, v in sums.items():
                    row[k] += v
        for (office, *rest), n in self.disposal.items():
            if n:
                for unit in paths.get(office, (office,)):
                    disposal[(unit, *rest)] += n
        return flow, disposal

    def write(self, connection, session=None) -> None:
        offices = {k[0] for k in self.flow} | {k[0] for k in self.disposal}
        flow, disposal = self.rolled_up(paths_of(connection, offices, session))
        flow = [dict(zip(FLOW_KEY, key, strict=True), **sums)
                for key, sums in sorted(flow.items(), key=lambda kv: repr(kv[0])) if any(sums.values())]
        disposal = [dict(zip(DISPOSAL_KEY, key, strict=True), n=n)
                    for key, n in sorted(disposal.items(), key=lambda kv: repr(kv[0])) if n]
        arrays = connection.dialect.name == "postgresql"
        if flow:
            connection.execute(*((_FLOW_ARRAYS, _columns(flow, _FLOW_COLUMNS)) if arrays else (_FLOW_UPSERT, flow)))
        if disposal:
            connection.execute(*((_DISPOSAL_ARRAYS, _columns(disposal, (*DISPOSAL_KEY, "n"))) if arrays
                                 else (_DISPOSAL_UPSERT, disposal)))


def _path_ids(path: str) -> tuple:
    return tuple(int(p) for p in (path or "").strip("/").split("/") if p)


def paths_of(connection, offices, session=None) -> dict[int, tuple]:
    """{office id: ids from the root down to it}, from the offices already loaded in
    `session` when they are there, else in one statement."""
    out: dict[int, tuple] = {}
    if session is not None:
        for office in offices:
            obj = session.identity_map.get(identity_key(OrgUnit, office))
            if obj is not None and obj.path:
                out[office] = _path_ids(obj.path)
    missing = [o for o in offices if o not in out and o is not None]
    if missing:
        for oid, path in connection.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id.in_(missing))):
            out[oid] = _path_ids(path) or (oid,)
    return out


def _ratings(connection, case_ids) -> dict[int, int]:
    ids = [i for i in case_ids if i is not None]
    if not ids:
        return {}
    return dict(connection.execute(select(Feedback.case_id, Feedback.rating).where(Feedback.case_id.in_(ids))).all())


def apply(connection, pairs: list[tuple]) -> None:
    """Move the counts of cases whose FLOW_COLUMNS values changed: `pairs` of (case id,
    old values, new values), None for an inserted case's old or a deleted one's new.
    For writes that bypass the flush hook (the sweep's set-based path)."""
    pairs = [(cid, old, new) for cid, old, new in pairs if old != new]
    if not pairs:
        return
    closed = [cid for cid, old, new in pairs if any(v and v[3] == wf.CLOSED for v in (old, new))]
    ratings = _ratings(connection, closed)
    ch = Changes()
    for cid, old, new in pairs:
        if old is not None:
            ch.add(old, ratings.get(cid), -1)
        if new is not None:
            ch.add(new, ratings.get(cid), 1)
    ch.write(connection)


@event.listens_for(Session, "before_flush")
def _mark_repeats(session, _flush_context, _instances) -> None:
    """Set `repeat_of_id` on the new cases of this flush (before their INSERT)."""
    for obj in session.new:
        if isinstance(obj, Case) and obj.repeat_of_id is None:
            with session.no_autoflush:
                obj.repeat_of_id = find_repeat_of(session, obj)


def find_repeat_of(session, case: Case) -> int | None:
    """The case a new case possibly repeats (see the module's docstring), or None."""
    if case.channel in NOT_REPEAT_CHANNELS:
        return None
    if case.related_case_id is not None or case.related_case is not None:
        return case.related_case_id or case.related_case.id
    if not case.requester_mobile or not case.category_id:
        return None
    now = case.created_at or datetime.utcnow()
    return session.connection().execute(
        select(Case.id).where(Case.requester_mobile == case.requester_mobile,
                              Case.category_id.in_(same_service(case.category_id)),
                              Case.created_at >= now - timedelta(days=REPEAT_DAYS), Case.created_at <= now)
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(1)).scalar()


def same_service(category_id: int):
    """SQL: the categories that count as the same service as `category_id` (as
    `intake.service_ids`: a type of grievance with its service's other types), inside the
    statement that uses it."""
    c, p = aliased(Category), aliased(Category)
    service = (select(c.parent_id).join(p, p.id == c.parent_id)
               .where(c.id == category_id, p.parent_id.is_not(None)).scalar_subquery())
    return select(Category.id).where(or_(Category.id == category_id, Category.parent_id == service))


@event.listens_for(Session, "after_flush")
def _track(session, _flush_context) -> None:
    """Move the counts of the cases this flush inserted, changed or deleted; add the
    ratings and the rejections it inserted."""
    pairs = []
    for obj in session.new:
        if isinstance(obj, Case):
            pairs.append((obj.id, None, _values(obj)))
    for obj in session.dirty:
        if isinstance(obj, Case) and session.is_modified(obj):
            old, new = _values(obj, old=True), _values(obj)
            if old != new:
                pairs.append((obj.id, old, new))
    for obj in session.deleted:
        if isinstance(obj, Case):
            pairs.append((obj.id, _values(obj, old=True), None))
    ratings = [obj for obj in session.new if isinstance(obj, Feedback)]
    rejections = [obj for obj in session.new if isinstance(obj, CaseEvent) and obj.type == "reject"]
    if not pairs and not ratings and not rejections:
        return
    connection = session.connection()
    rated = {fb.case_id: fb.rating for fb in ratings}
    ch = Changes()
    if pairs:
        known = _ratings(connection, [cid for cid, o, n in pairs if any(v and v[3] == wf.CLOSED for v in (o, n))])
        for cid, old, new in pairs:
            # a rating inserted in this flush is added with its case's new values below
            if old is not None:
                ch.add(old, known.get(cid) if cid not in rated else None, -1)
            if new is not None:
                ch.add(new, known.get(cid) if cid not in rated else None, 1)
    cases = {o.id: o for o in session.identity_map.values() if isinstance(o, Case)}
    for fb in ratings:
        values = _case_values(connection, cases, fb.case_id)
        if values is None:
            continue
        ch.add(values, fb.rating, 1)  # the contribution with the rating, less the one without
        ch.add(values, None, -1)
    for ev in rejections:
        values = _case_values(connection, cases, ev.case_id)
        if values is None:
            continue
        key = (values[0], _local(ev.at or datetime.utcnow(), ch.tz), values[1], values[2] or 0)
        ch.flow[key]["rejections"] += 1
    ch.write(connection, session)


def _case_values(connection, cases: dict, case_id: int):
    obj = cases.get(case_id)
    if obj is not None:
        return _values(obj)
    row = connection.execute(select(*(getattr(Case, c) for c in FLOW_COLUMNS)).where(Case.id == case_id)).first()
    return tuple(row) if row else None


# ---- rebuild and check ------------------------------------------------------------------

def _recount(session=None, batch: int = 20000) -> Changes:
    """The counters recomputed from the cases, their ratings and the rejection events,
    streamed in batches."""
    from app.services.read_models.tallies import as_date

    session = session or db.session
    # the holiday calendar read on the same connection (a migration's is not committed yet)
    ch = Changes(holidays=frozenset(as_date(d) for d in session.scalars(select(Holiday.day))))
    q = (select(*(getattr(Case, c) for c in FLOW_COLUMNS), Feedback.rating)
         .outerjoin(Feedback, Feedback.case_id == Case.id)
         .execution_options(yield_per=batch))
    for row in session.execute(q):
        ch.add(tuple(row[:-1]), row[-1], 1)
    rejected = (select(Case.current_office_id, CaseEvent.at, Case.kind, Case.category_id)
                .join(Case, Case.id == CaseEvent.case_id).where(CaseEvent.type == "reject"))
    for office, at, kind, category in session.execute(rejected):
        ch.flow[(office, _local(at, ch.tz), kind, category or 0)]["rejections"] += 1
    return ch


def _expanded(session, ch: Changes) -> tuple[dict, dict]:
    paths = {oid: _path_ids(path) or (oid,) for oid, path in session.execute(select(OrgUnit.id, OrgUnit.path))}
    return ch.rolled_up(paths)


def rebuild(session=None) -> int:
    """Recompute the counters from the cases (after bulk loads, or to repair; also after
    changing the holiday calendar, which the disposal times are measured with). Returns
    the number of `case_flow_tally` rows. Does not commit (`tallies.rebuild()` does).
    Rejections are recounted for the office holding the case now."""
    session = session or db.session
    session.execute(delete(CaseFlowTally))
    session.execute(delete(CaseDisposalTally))
    ch = _recount(session)
    connection = session.connection()
    flow, disposal = _expanded(session, ch)
    # plain INSERTs in chunks: the tables are empty
    flow = [dict(zip(FLOW_KEY, k, strict=True), **v) for k, v in flow.items() if any(v.values())]
    disposal = [dict(zip(DISPOSAL_KEY, k, strict=True), n=n) for k, n in disposal.items() if n]
    for rows, table in ((flow, CaseFlowTally.__table__), (disposal, CaseDisposalTally.__table__)):
        for i in range(0, len(rows), 5000):
            connection.execute(table.insert(), rows[i:i + 5000])
    return len(flow)


def check() -> list[tuple]:
    """Differences between the counters and a recount: (("flow"|"disposal", key), kept,
    recounted). Empty when all is well. Rejections are compared per (day, kind,
    category) for the whole tree (they stay with the offices where they happened)."""
    from app.services.read_models.tallies import as_date

    fresh_flow, fresh_disposal = _expanded(db.session, _recount())
    roots = set(db.session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id.is_(None))))
    kept_flow = {(r[0], as_date(r[1]), r[2], r[3]): dict(zip(FLOW_SUMS, (int(v) for v in r[4:]), strict=True))
                 for r in db.session.execute(select(*(getattr(CaseFlowTally, c) for c in FLOW_KEY + FLOW_SUMS)))}
    out = []
    zero = dict.fromkeys(FLOW_SUMS, 0)
    rej_kept, rej_fresh = defaultdict(int), defaultdict(int)
    for key in set(kept_flow) | set(fresh_flow):
        a, b = dict(kept_flow.get(key, zero)), dict(fresh_flow.get(key, zero))
        ra, rb = a.pop("rejections"), b.pop("rejections")
        if key[0] in roots:  # rejections stay where they happened: compare the whole tree's
            rej_kept[key[1:]] += ra
            rej_fresh[key[1:]] += rb
        if a != b:
            out.append((("flow", *key), a, b))
    for key in set(rej_kept) | set(rej_fresh):
        if rej_kept[key] != rej_fresh[key]:
            out.append((("rejections", *key), rej_kept[key], rej_fresh[key]))
    kept_disp = {(r[0], as_date(r[1]), r[2]): int(r[3]) for r in db.session.execute(
        select(CaseDisposalTally.office_id, CaseDisposalTally.day, CaseDisposalTally.days, CaseDisposalTally.n))}
    for key in set(kept_disp) | set(fresh_disposal):
        if kept_disp.get(key, 0) != fresh_disposal.get(key, 0):
            out.append((("disposal", *key), kept_disp.get(key, 0), fresh_disposal.get(key, 0)))
    return sorted(out, key=repr)


def count_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(CaseFlowTally)) or 0


_MOVE_FLOW = text(
    "INSERT INTO case_flow_tally (office_id, day, kind, category_id, raised, repeats, closed, closed_in_sla, "  # noqa: S608 - constants only
    "own_seconds, external_seconds, rejections, rating_sum, rating_n) "
    "SELECT :target, day, kind, category_id, :sign * raised, :sign * repeats, :sign * closed, "
    ":sign * closed_in_sla, :sign * own_seconds, :sign * external_seconds, :sign * rejections, "
    ":sign * rating_sum, :sign * rating_n FROM case_flow_tally WHERE office_id = :moved "
    + _ADD_TO_FLOW)
_MOVE_DISPOSAL = text(
    "INSERT INTO case_disposal_tally (office_id, day, days, n) "
    "SELECT :target, day, days, :sign * n FROM case_disposal_tally WHERE office_id = :moved "
    "ON CONFLICT (office_id, day, days) DO UPDATE SET n = case_disposal_tally.n + excluded.n")


def move_office(connection, moved: int, old_path: str, new_path: str) -> None:
    """An office (with its subtree) moved from under `old_path` to under `new_path`:
    its own rows count its whole subtree, so they are taken from the offices it left and
    added to those it joined (two INSERT ... SELECT per office). In the transaction of
    the move (`admin_offices.move`)."""
    old, new = set(_path_ids(old_path)) - {moved}, set(_path_ids(new_path)) - {moved}
    for target, sign in [(o, -1) for o in sorted(old - new)] + [(o, 1) for o in sorted(new - old)]:
        for statement in (_MOVE_FLOW, _MOVE_DISPOSAL):
            connection.execute(statement, {"target": target, "sign": sign, "moved": moved})
