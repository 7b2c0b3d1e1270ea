"""Listing cases: search, filters and keyset pagination, scoped by `access`."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from app.domain.references import normalize
from app.extensions import db
from app.inputs import as_id, search_text
from app.models import Case, CatalogueName, Category
from app.models.case import NOT_CLOSED
from app.services.read_models import plain_rows, search

# The case's catalogue row as the row columns and the CSV read it: an alias of its own,
# so that it neither meets a join of the base query nor correlates the search's subquery.
_NAMED = aliased(Category, name="named_category")


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None


def apply_search(q: Select, text: str | None) -> Select:
    """`q` narrowed to the cases `text` finds: its words (each a prefix, all of them) in
    the subject, description or requester's name, by the full-text index (PostgreSQL's
    `to_tsvector('simple', ...)`, SQLite's FTS5); or `text` inside the reference, the
    requester's name or mobile (pg_trgm indexes, SQLite's FTS5 trigram table); or the exact
    reference or pincode; or the name of its catalogue row in any language. Every branch is served by an index (docs/performance.md, "Search")."""
    text = search_text(text)  # the filter forms' limit; SQLite refuses huge LIKE patterns
    if not text:
        return q
    branches = [Case.reference == normalize(text), Case.pincode == text, *search.inside(text)]
    # A case whose subject is its catalogue row keeps no copy of the name (issue 25): it is
    # found by the row's name in any of the three languages.
    branches.append(search.category_named(text))
    found = search.words_match(text)
    if found is not None:
        branches.append(found)
    return q.where(or_(*branches))


def apply_filters(q: Select, status: str | None = None, kind: str | None = None) -> Select:
    if status:
        q = q.where(Case.status == status)
    if kind:
        q = q.where(Case.kind == kind)
    return q


def _newest_first(q: Select, cursor: str | None) -> Select:
    """`q` ordered newest first, starting after the row whose id is `cursor` (keyset
    pagination on (created_at, id): the cost does not grow with the page number)."""
    q = q.order_by(Case.created_at.desc(), Case.id.desc())
    last = _cursor_row(cursor)
    if last is not None:
        q = q.where(_older_than(last.created_at, last.id))
    return q


def _cursor_row(cursor: str | None):
    """(created_at, id) of the case a page's cursor names, or None."""
    if as_id(cursor) is None:
        return None
    stmt = _prebuilt(("cursor",), lambda: select(Case.created_at, Case.id).where(Case.id == bindparam("after_id")))
    return plain_rows.first_row(stmt, {"after_id": as_id(cursor)})


def _older_than(created_at, case_id):
    """Cases after (created_at, id) in newest-first order: the keyset condition."""
    return or_(Case.created_at < created_at, (Case.created_at == created_at) & (Case.id < case_id))


def page(q: Select, cursor: str | None = None, size: int = 25, detailed: bool = False) -> Page:
    """A page of `Case` objects (with office, category and assignee; `detailed`: also the
    raising office and who raised it, which a kind's columns may show), newest first.
    `cursor` is "<id>" of the last row of the previous page."""
    q = _newest_first(q, cursor)
    loads = [selectinload(Case.current_office), selectinload(Case.category), selectinload(Case.assignee)]
    if detailed:
        loads += [selectinload(Case.raising_office), selectinload(Case.raised_by)]
    rows = db.session.scalars(q.options(*loads).limit(size + 1)).unique().all()
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows=rows, next_cursor=str(rows[-1].id) if more and rows else None,
                prev_cursor=None)


def _row_columns(q: Select) -> Select:
    from app.models import User

    return (q.with_only_columns(Case.id, Case.reference, Case.kind, Case.subject, Case.status,
                                Case.created_at, Case.sla_breached, User.name.label("assignee_name"),
                                _NAMED.name_en, _NAMED.name_hi, _NAMED.name_fa)
            .outerjoin(User, User.id == Case.assignee_id)
            .outerjoin(_NAMED, _NAMED.id == Case.category_id))


# A queue row as a plain named tuple: a template reads each attribute of fifty rows, and a
# named tuple's attributes are several times cheaper to read than a result Row's.
# `subject` is the text someone typed ("" when the case's subject is its catalogue row);
# `name_en`, `name_hi`, `name_fa` the row's three names, read as one `CatalogueName` (the
# `category` property), so the kept HTML of a row, keyed by the tuple and the page's
# language, names it in that language (the `subject` filter).
class QueueRow(namedtuple("QueueRow", "id reference kind subject status created_at sla_breached assignee_name "
                                      "name_en name_hi name_fa")):
    __slots__ = ()

    @property
    def category(self) -> CatalogueName | None:
        if self.name_en is None:
            return None
        return CatalogueName(self.name_en, self.name_hi or "", self.name_fa or "")


# A result row is the named tuple's fields in order (`_row_columns`): made without a Python
# frame per row (a page is fifty of them, every request).
_queue_row = partial(tuple.__new__, QueueRow)


def _rows_to_page(rows: list, size: int) -> Page:
    more = len(rows) > size
    rows = list(map(_queue_row, rows[:size]))
    return Page(rows=rows, next_cursor=str(rows[-1].id) if more and rows else None,
                prev_cursor=None)


def row_page(q: Select, cursor: str | None = None, size: int = 25) -> Page:
    """Like `page`, but each row holds only what a queue table shows (reference, kind,
    subject, status, raised, overdue, assignee's name), read by one SELECT as plain
    tuples: no ORM objects, no related rows loaded one table at a time."""
    q = _row_columns(_newest_first(q, cursor))
    return _rows_to_page(plain_rows.all_rows(q.limit(size + 1)), size)


# Statements built once per shape, their values bound at execution: building a SELECT and
# its cache key costs more Python time than PostgreSQL takes to run a queue page's.
_PREBUILT: dict[tuple, Select] = {}


def _prebuilt(key: tuple, build) -> Select:
    stmt = _PREBUILT.get(key)
    if stmt is None:
        stmt = _PREBUILT[key] = build()
    return stmt


def office_row_page(office_id: int, *, status: str | None = None, kind: str | None = None,
                    open_only: bool = False, cursor: str | None = None, size: int = 25) -> Page:
    """`row_page` of an office's queue (`access.office_queue_scope`) filtered by status and
    kind, without a search: the same rows, from a statement built once per filter shape.
    `open_only` leaves closed cases out (the partial index `ix_case_office_active`)."""
    from app.services.engine import access

    last = _cursor_row(cursor)

    def build() -> Select:
        q = select(Case).where(access.office_queue_scope())
        if open_only:
            # The partial index's own predicate, a constant (`NOT_CLOSED`).
            q = q.where(NOT_CLOSED)
        if status:
            q = q.where(Case.status == bindparam("status"))
        if kind:
            q = q.where(Case.kind == bindparam("kind"))
        q = q.order_by(Case.created_at.desc(), Case.id.desc())
        if last is not None:
            q = q.where(_older_than(bindparam("after_at"), bindparam("after_id")))
        # the size in the statement and its key: app/sql_limits.py
        return _row_columns(q).limit(size + 1)

    stmt = _prebuilt(("office_rows", open_only, bool(status), bool(kind), last is not None, size), build)
    params = {"queue_office": office_id}
    if status:
        params["status"] = status
    if kind:
        params["kind"] = kind
    if last is not None:
        params.update(after_at=last.created_at, after_id=last.id)
    return _rows_to_page(plain_rows.all_rows(stmt, params), size)


# The timeline as plain rows: what the timeline partial reads of an event, with who and
# where as one-attribute tuples (`e.actor.name`). No ORM objects: building them, their
# related objects and their attachment lists cost more than the rest of a case page's SQL.
# Every field is a plain, hashable value, so a whole timeline keys its kept HTML
# (`fragments.memo`): a partner's name and a rating are read out of the event's data.
TimelineEvent = namedtuple("TimelineEvent", "id type public at actor_kind partner rating text actor "
                                            "from_office to_office to_user attachments qualifiers")
TimelineAttachment = namedtuple("TimelineAttachment", "id event_id original_name size")
Named = namedtuple("Named", "name")
# What the timeline partial shows: the case's reference (its attachments' links), its kind
# (the words of its actions) and events. An event's `qualifiers` name its action as the
# button did (`i18n.case_action_label`): the fact its row required and the kind of the
# office it was taken in.
Timeline = namedtuple("Timeline", "reference events kind")


def timeline(case: Case, internal: bool) -> Timeline:
    """The case's events in order, with the names of who and where and their attachments,
    in one statement whatever the number of events. Internal notes only when `internal`."""
    from app.i18n import current_locale
    from app.models import Attachment, CaseEvent, OrgUnit, User

    locale = current_locale()

    def office_name(office):  # the reader's language, English when the office has none
        if locale not in ("hi", "fa"):
            return office.name
        return func.coalesce(getattr(office, f"name_{locale}"), office.name)

    def build_events() -> Select:
        actor, to_user = aliased(User), aliased(User)
        from_office, to_office = aliased(OrgUnit), aliased(OrgUnit)
        q = (select(CaseEvent.id, CaseEvent.type, CaseEvent.public, CaseEvent.at, CaseEvent.actor_kind,
                    CaseEvent.data, CaseEvent.text, actor.name, office_name(from_office), office_name(to_office),
                    to_user.name, Attachment.id, Attachment.original_name, Attachment.size,
                    from_office.kind)
             .outerjoin(actor, actor.id == CaseEvent.actor_id)
             .outerjoin(from_office, from_office.id == CaseEvent.from_office_id)
             .outerjoin(to_office, to_office.id == CaseEvent.to_office_id)
             .outerjoin(to_user, to_user.id == CaseEvent.to_user_id)
             # An event's attachments (most have none) come on its rows, one row each;
             # the case's own condition lets the database read them by the case index.
             .outerjoin(Attachment, (Attachment.event_id == CaseEvent.id)
                        & (Attachment.case_id == bindparam("case_id")))
             .where(CaseEvent.case_id == bindparam("case_id")).order_by(CaseEvent.id, Attachment.id))
        return q if internal else q.where(CaseEvent.public.is_(True))

    events: list[TimelineEvent] = []
    attachments: dict[int, list[TimelineAttachment]] = {}
    for (eid, type_, public, at, actor_kind, data, text, actor, origin, target, assignee,
         att_id, att_name, att_size, origin_kind) in plain_rows.all_rows(_prebuilt(("timeline", internal, locale), build_events),
                                                            {"case_id": case.id}):
        if not events or events[-1].id != eid:
            data = data or {}
            events.append(TimelineEvent(eid, type_, public, at, actor_kind,
                                        data.get("partner") if actor_kind == "partner" else None,
                                        data.get("rating"), text,
                                        Named(actor) if actor is not None else None,
                                        Named(origin) if origin is not None else None,
                                        Named(target) if target is not None else None,
                                        Named(assignee) if assignee is not None else None, (),
                                        (data.get("requires"), origin_kind)))
        if att_id is not None:
            attachments.setdefault(eid, []).append(TimelineAttachment(att_id, eid, att_name, att_size))
    if attachments:
        events = [e._replace(attachments=tuple(attachments[e.id])) if e.id in attachments else e
                  for e in events]
    return Timeline(case.reference, tuple(events), case.kind)


def base_select() -> Select:
    return select(Case)


def export_csv(q: Select, header: list[str], label_kind, label_status, max_rows: int):
    """Stream the cases of the queue SELECT `q` as CSV lines (UTF-8 with a BOM for
    spreadsheets), newest first, at most `max_rows`. Reads plain columns in chunks
    (no ORM objects), so memory stays flat whatever the number of rows."""
    import io

    from app.exports import csv_writer
    from app.i18n import current_locale
    from app.models import OrgUnit, User

    office, assignee = aliased(OrgUnit), aliased(User)
    # The queue's own SELECT with other columns: its WHERE, ORDER BY and LIMIT read the
    # newest rows straight off the (office, status, created_at) index.
    locale = current_locale()
    # The subject as typed, else the case's catalogue row named in the reader's language.
    category_name = _NAMED.name_en if locale not in ("hi", "fa") else func.coalesce(
        func.nullif(getattr(_NAMED, f"name_{locale}"), ""), _NAMED.name_en)
    rows = (q.with_only_columns(Case.reference, Case.kind, Case.status, Case.priority, Case.subject,
                                office.code, assignee.name, Case.created_at, Case.closed_at,
                                Case.sla_breached, category_name)
            .join(office, office.id == Case.current_office_id)
            .outerjoin(assignee, assignee.id == Case.assignee_id)
            .outerjoin(_NAMED, _NAMED.id == Case.category_id)
            .order_by(None).order_by(Case.created_at.desc(), Case.id.desc())
            .limit(max_rows))
    buf = io.StringIO()
    writer = csv_writer(buf)  # every field neutralised (CSV injection)

    def take() -> str:
        out = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return out

    writer.writerow(header)
    yield "\ufeff" + take()
    result = db.session.execute(rows.execution_options(yield_per=2000))
    for chunk in result.partitions():
        for ref, kind, status, prio, subject, office_code, who, created, closed, breached, named in chunk:
            writer.writerow([ref, label_kind(kind), label_status(status), prio, subject or named or "", office_code,
                             who, created.strftime("%Y-%m-%d %H:%M"),
                             closed.strftime("%Y-%m-%d %H:%M") if closed else "", "1" if breached else "0"])
        yield take()
