"""The inbox's views (issue 24, item 2): saved filters over the cases, each the queue of
one job — the seeds' own queue names ("Pending tickets", "Complaint Processing",
«کارتابل», "Doorstep requests", the helpdesk's team queue…) — defined here, in one place.

A view has a stable slug (`/cases/?view=<slug>`), its label, who sees it (a rule on the
user's roles and office kind, like the menu's), its base query (the front doors' own
selects: `access.office_queue`, `tickets.pending_query`, `complaints.scoped`,
`access.handler_queue`, `access.raised_by_user`, `citizen.queue_select`…), its columns
(the kind's `queue_columns` in the registry, `app.domain.kinds`), the extra filters it
has beyond search / status / kind, and the bulk actions it offers.

`query(view, user, filters, now)` is the SELECT of what a view shows with its filters;
`count_select` what its counter counts (its rows without filters); the inbox
(`app.blueprints.cases.inbox`) pages, exports and counts them.

Adding a view: one `View(...)` in VIEWS below (docs/architecture.md, "The inbox").
A new kind's cases are in "All my office's cases" from the start (with a kind filter);
it gets a view of its own when its handlers need one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from app.domain import kinds
from app.domain import workflow as wf
from app.inputs import as_id, search_text
from app.models import Case, OrgUnit, User
from app.services.engine import access
from app.services.front_doors import citizen, complaints, helpdesk, interactions, tickets
from app.services.read_models import queues

# How a view treats the status filter when none is chosen:
OPEN_ONLY = "open"  # closed cases only when asked (status=all or closed)
OPEN_UNLESS_SEARCH = "open_unless_search"  # the office queue: a search finds closed ones too
EVERY_STATUS = "all"  # every case (the doorstep list, as seed 001 shows it)

# The bulk services a view may offer (which of its rows, and what each may do, is theirs).
BULK_TICKETS = "tickets"
BULK_COMPLAINTS = "complaints"


@dataclass
class Filters:
    """What the filter form asks: search text, status ("" the view's default, "all", or
    a status), kind (views that span kinds), and the view's own extra filters."""
    q: str = ""
    status: str = ""
    kind: str = ""
    extra: Mapping = field(default_factory=dict)

    @property
    def searching(self) -> bool:
        return bool(search_text(self.q))


# The columns of a view that spans kinds (the office queue).
OFFICE_COLUMNS = (
    kinds.Column("reference", _l("Reference")), kinds.Column("kind", _l("Kind")),
    kinds.Column("subject", _l("Subject")), kinds.Column("status", _l("Status")),
    kinds.Column("created_at", _l("Raised")), kinds.Column("assignee", _l("Assignee")),
)


@dataclass(frozen=True)
class View:
    slug: str
    label: object  # lazy string: the seeds' own names
    visible: Callable[[User], bool]  # may look only at roles, active flag and office kind
    # The base SELECT of Case, with the view's extra filters applied:
    # select(user, filters, now) -> Select.
    select: Callable[[User, Filters, datetime], Select]
    kind: str | None = None  # the one kind it lists (None: every kind; a kind filter)
    default_status: str = OPEN_ONLY
    extras: tuple[str, ...] = ()  # extra filters: level, age, category, queue, service, …
    bulk: str | None = None  # BULK_TICKETS / BULK_COMPLAINTS
    bulk_visible: Callable[[User], bool] = lambda u: True
    badge: bool = False  # a counter beside its menu link
    # What its counter counts of its rows, when not all of them: Complaint Processing
    # counts those waiting for us (open or in progress, escalated or not), not those
    # waiting for the customer or an external authority.
    counted: Callable[[Select], Select] | None = None
    needs: bool = True  # on the home page's "what needs me now" (work waiting for the user)
    # Whom the view shows cases they only read (a Region's look at its Divisions'
    # doorstep requests), and what the page tells them.
    read_only: Callable[[User], bool] = lambda u: False
    read_only_note: object = None
    order: int = 50  # in the menu and the inbox's list of views

    @property
    def columns(self) -> tuple:
        if self.kind is None:
            return OFFICE_COLUMNS
        return kinds.get(self.kind).queue_columns or OFFICE_COLUMNS

    @property
    def fast(self) -> bool:
        """The office queue: its rows come from `queues.office_row_page` (and the rows'
        kept HTML, `app.fragments`) when there is no search."""
        return self.slug == OFFICE


# ---- the views' base queries -------------------------------------------------------

def _office(user, f, now):
    return access.office_queue(user)


def _ticket_filters(f: Filters) -> tickets.Filters:
    # Search and status are the inbox's (`query`); the level, age and category are the
    # tickets' own.
    x = f.extra
    return tickets.Filters(status="all", level=x.get("level", ""), age=x.get("age", ""),
                           category=x.get("category", ""))


def _tickets_pending(user, f, now):
    return tickets.pending_query(user, _ticket_filters(f), now)


def _tickets_mine(user, f, now):
    return tickets.mine_query(user, _ticket_filters(f), now)


def _complaints(key: str | None = None):
    def build(user, f, now):
        q = complaints.scoped(user)
        chosen = key or f.extra.get("queue")
        if chosen in complaints.QUEUE_KEYS:
            q = q.where(complaints.queue_condition(chosen))
        return q
    return build


def _cartable(user, f, now):
    return access.handler_queue(user, interactions.KIND)


def _my_interactions(user, f, now):
    return access.raised_by_user(user, interactions.KIND)


def _overdue(q, f, now):
    return q.where(helpdesk.overdue_condition(now)) if f.extra.get("overdue") else q


def _team_queue(user, f, now):
    return _overdue(access.handler_queue(user, helpdesk.KIND), f, now)


def _desk_log(user, f, now):
    return _overdue(access.raised_by_office(user, helpdesk.KIND), f, now)


def _doorstep(user, f, now):
    x = f.extra
    division = doorstep_division(user, x.get("division"))
    return citizen.queue_select(
        user, service_id=as_id(x.get("service")), date_from=_date(x.get("date_from")),
        date_to=_date(x.get("date_to")), division_id=division.id if division else None,
        age=x.get("age") or None, now=now)


def doorstep_division(user, value) -> OrgUnit | None:
    """The Division a doorstep filter names, if it is in the user's scope."""
    from app.extensions import db

    if as_id(value) is None:
        return None
    division = db.session.get(OrgUnit, as_id(value))
    if division is None or not access.office_in_scope(user, division):
        return None
    return division


def _date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# ---- who sees which view ----------------------------------------------------------

COMPLAINT_STAFF = ("operator", "supervisor", "admin", "monitor")
COMPLAINT_BULK = ("operator", "supervisor", "admin")
DESK_ROLES = ("helpdesk", "admin")


def _everyone(user) -> bool:
    return bool(user is not None and user.is_authenticated)


def _complaint_staff(user) -> bool:
    return _everyone(user) and user.has_role(*COMPLAINT_STAFF)


def _team(user) -> bool:
    return _everyone(user) and user.office.kind == "team" and not user.has_role("helpdesk")


def _desk(user) -> bool:
    return _everyone(user) and user.has_role(*DESK_ROLES)


def _doorstep_viewer(user) -> bool:
    return access.handles_doorstep(user) or access.monitors_doorstep(user)


# ---- the views --------------------------------------------------------------------

OFFICE = "office"

VIEWS: tuple[View, ...] = (
    View(OFFICE, _l("All my office's cases"), _everyone, _office,
         default_status=OPEN_UNLESS_SEARCH, needs=False, order=10),
    View("doorstep", _l("Doorstep requests"), _doorstep_viewer, _doorstep,
         kind=citizen.KIND, default_status=EVERY_STATUS,
         extras=("service", "division", "date_from", "date_to", "age"), badge=True, order=20,
         read_only=lambda u: not access.handles_doorstep(u),
         read_only_note=_l("Read-only: only the Division that holds a request updates it.")),
    View("tickets-pending", _l("Pending tickets"), access.handles_tickets, _tickets_pending,
         kind=tickets.KIND, extras=("level", "age", "category"), bulk=BULK_TICKETS, badge=True, order=22),
    View("tickets-mine", _l("My tickets"), access.can_raise_ticket, _tickets_mine,
         kind=tickets.KIND, extras=("level", "age", "category"), needs=False, order=21),
    View("complaints", _l("Complaint Processing"), _complaint_staff, _complaints(),
         kind=complaints.KIND, extras=("queue",), bulk=BULK_COMPLAINTS,
         bulk_visible=lambda u: u.has_role(*COMPLAINT_BULK), badge=True, order=30,
         counted=lambda q: q.where(Case.status.in_(sorted(wf.WORKING)))),
    View("complaints-pending", _l("Pending for Resolution"), _complaint_staff, _complaints("pending"),
         kind=complaints.KIND, bulk=BULK_COMPLAINTS,
         bulk_visible=lambda u: u.has_role(*COMPLAINT_BULK), order=31),
    View("complaints-external", _l("Pending at External Authorities"), _complaint_staff,
         _complaints("external"), kind=complaints.KIND, bulk=BULK_COMPLAINTS,
         bulk_visible=lambda u: u.has_role(*COMPLAINT_BULK), order=32),
    View("cartable", _l("Cartable"), _everyone, _cartable, kind=interactions.KIND, badge=True, order=62),
    View("interactions-mine", _l("My interactions"), _everyone, _my_interactions,
         kind=interactions.KIND, needs=False, order=61),
    View("helpdesk-queue", _l("Team queue"), _team, _team_queue, kind=helpdesk.KIND,
         extras=("overdue",), order=71),
    View("helpdesk-log", _l("Calls logged"), _desk, _desk_log, kind=helpdesk.KIND,
         extras=("overdue",), order=70),
)
_BY_SLUG = {v.slug: v for v in VIEWS}


def get(slug: str | None) -> View | None:
    return _BY_SLUG.get(slug or "")


_VISIBLE: dict[tuple, list[View]] = {}


def visible_to(user) -> list[View]:
    """The views `user` sees, in menu order (their first is their inbox's default).
    Remembered per (roles, active, office kind): what `visible` may look at."""
    if not getattr(user, "is_authenticated", False):
        return []
    key = (frozenset(user.roles), bool(user.active), user.office.kind)
    shown = _VISIBLE.get(key)
    if shown is None:
        if len(_VISIBLE) > 1000:
            _VISIBLE.clear()
        shown = _VISIBLE[key] = sorted((v for v in VIEWS if v.visible(user)), key=lambda v: v.order)
    return shown


def first_for(user) -> View:
    return visible_to(user)[0]


def query(view: View, user, f: Filters, now: datetime) -> Select:
    """The SELECT of `view`'s cases for `user` with the filters `f` (unordered)."""
    q = view.select(user, f, now)
    q = queues.apply_search(q, f.q)
    if f.status == "all":
        pass
    elif f.status in wf.STATES:
        q = q.where(Case.status == f.status)
    elif view.default_status == OPEN_ONLY or (view.default_status == OPEN_UNLESS_SEARCH and not f.searching):
        q = q.where(Case.status != wf.CLOSED)
    if view.kind is None and f.kind in kinds.codes():
        q = q.where(Case.kind == f.kind)
    return q


def count_select(view: View, user, now: datetime) -> Select:
    """What the view's counter counts: its cases with no filter chosen (open ones, for
    a view that shows open ones by default; a doorstep list counts the requests not yet
    taken up, as its menu badge always did), narrowed by the view's `counted`."""
    f = Filters(status=wf.OPEN if view.default_status == EVERY_STATUS else "")
    q = query(view, user, f, now)
    if view.counted is not None:
        q = view.counted(q)
    return select(func.count()).select_from(q.order_by(None).subquery())


def counts(user, now: datetime, only: list[View] | None = None) -> dict[str, int]:
    """{slug: count} of the user's views (or `only` those), in one statement."""
    from app.extensions import db

    shown = only if only is not None else visible_to(user)
    if not shown:
        return {}
    cols = [count_select(v, user, now).scalar_subquery().label(f"v{i}") for i, v in enumerate(shown)]
    row = db.session.execute(select(*cols)).one()
    return {v.slug: int(row[i] or 0) for i, v in enumerate(shown)}


def bulk_actions(view: View, user) -> list[str]:
    """The bulk actions `view` offers `user` (none for a view without bulk)."""
    if view.bulk is None or not view.bulk_visible(user):
        return []
    if view.bulk == BULK_TICKETS:
        return list(tickets.bulk_actions_for(user))
    return list(complaints.BULK_ACTIONS)
