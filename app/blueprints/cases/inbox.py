"""The inbox (`/cases/`): one page for every queue, shown through views — saved filters
defined in `app.services.read_models.views` ("Pending tickets", "Complaint Processing", «کارتابل»,
"Doorstep requests", the helpdesk's team queue…). One row partial, one filter form,
keyset paging, live search (the same URL answers htmx with the rows alone), bulk
actions where a view offers them, a CSV export of any view and one counts endpoint for
the menu's badges and the page's list of views. On the `cases` blueprint
(`app.blueprints.cases.routes`), beside the case page."""

from datetime import datetime
from types import SimpleNamespace

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.cases.forms import InboxBulkForm, filter_form
from app.blueprints.cases.routes import bp
from app.blueprints.helpdesk.forms import CLASSIFICATION_LABELS
from app.domain.errors import WorkflowError
from app.exports import download
from app.extensions import db
from app.htmx import is_htmx, render_page_or_partial
from app.i18n import (
    ERROR_MESSAGES,
    KIND_LABELS,
    STATUS_LABELS,
    case_action_label,
    format_number,
    label_choices,
    office_kind_label,
)
from app.inputs import as_id
from app.models import OrgUnit
from app.nav import INBOX, add_staff_link
from app.read_only import in_transaction
from app.services.engine import access
from app.services.front_doors import citizen, complaints, tickets
from app.services.read_models import queues, views

ALL_STATUSES = ("", _l("All statuses"))  # the filters' first choices
OPEN_STATUSES = ("", _l("Active"))
EVERY_STATUS = ("all", _l("All statuses"))
ALL_KINDS = ("", _l("All kinds"))
BULK_MAX = 100  # cases in one bulk action


def _me():
    """The signed-in user itself (not the proxy, read many times a request)."""
    return current_user._get_current_object()


def _shown() -> list:
    """The views the signed-in user sees (once a request: kept on the request, whose
    life is one request whatever the app context's)."""
    shown = getattr(request, "inbox_shown", None)
    if shown is None:
        shown = request.inbox_shown = views.visible_to(_me())
    return shown

# Each view is a link of the menu's Inbox group (the seeds' names), with a counter when
# the view says so (`/cases/counts?view=…`).
for _view in views.VIEWS:
    add_staff_link("cases.queue", _view.label, visible=_view.visible, order=_view.order, group=INBOX,
                   badge_endpoint="cases.counts" if _view.badge else None, values={"view": _view.slug})


def _view_or_404(slug):
    """The view `slug` names (the user's first without one); 404 for a view the user
    may not see, or none."""
    if not slug:
        shown = _shown()
        if not shown:
            abort(404)
        return shown[0]
    view = views.get(slug)
    if view is None or view not in _shown():
        abort(404)
    return view


# ---- the filter form --------------------------------------------------------------

def _filters(view, args) -> tuple:
    """The view's filter form from the query string and the filters it asks for."""
    form = filter_form(view.extras)(args)
    if view.default_status == views.EVERY_STATUS:
        form.status.choices = label_choices(STATUS_LABELS, ALL_STATUSES)
    elif view.default_status == views.OPEN_ONLY:
        form.status.choices = label_choices(STATUS_LABELS, OPEN_STATUSES, EVERY_STATUS)
    else:
        form.status.choices = label_choices(STATUS_LABELS, ALL_STATUSES)
    form.kind.choices = label_choices(KIND_LABELS, ALL_KINDS)
    status = form.status.data or ""
    if status not in STATUS_LABELS and status != "all":
        status = ""
    kind = form.kind.data if view.kind is None and form.kind.data in KIND_LABELS else ""
    extra = {}
    for name in view.extras:
        _fill_extra(view, form, name)
        field = getattr(form, name)
        value = field.data
        if name in ("date_from", "date_to"):
            field.validate(form)
            value = field.data if not field.errors else None
        elif hasattr(field, "choices") and field.choices is not None and name != "division":
            value = value if value in {c[0] for c in field.choices} else ""
        extra[name] = value or ""
    return form, views.Filters(q=form.q.data or "", status=status, kind=kind, extra=extra)


AGE_CHOICES = (("", _l("Any age")), ("1d", _l("Less than a day")), ("3d", _l("1 to 3 days")),
               ("7d", _l("3 to 7 days")), ("old", _l("Older than 7 days")))
AGEING_CHOICES = (("", _l("Any age")), ("0-1", _l("0–1 days")), ("1-2", _l("1–2 days")),
                  ("2-5", _l("2–5 days")), ("5+", _l("More than 5 days")))
QUEUE_LABELS = {
    "pending": _l("Pending for Resolution"),
    "external": _l("Pending at External Authorities"),
    "confirmation": _l("Awaiting Customer Confirmation"),
    "info": _l("Awaiting Information"),
    "escalated": _l("Escalated"),
}


def _fill_extra(view, form, name) -> None:
    field = getattr(form, name)
    if name == "level":
        levels = [(k, office_kind_label(k)) for k in access.TICKET_LEVEL_KINDS]
        if view.bulk:  # the handling level's own queue, or a read-only look below it
            field.choices = [("", _("At my office")), ("any", _("All levels in my jurisdiction"))] + levels
        else:
            field.choices = [("", _("Any level"))] + levels
    elif name == "category":
        field.choices = [("", _("All categories"))] + [(str(c.id), c.label()) for c in tickets.categories()]
    elif name == "age":
        field.choices = [(k, str(v)) for k, v in (AGEING_CHOICES if "service" in view.extras else AGE_CHOICES)]
    elif name == "queue":
        field.choices = [("", _("All open complaints"))] + [(k, str(QUEUE_LABELS[k])) for k in complaints.QUEUE_KEYS]
    elif name == "service":
        field.choices = [("", _("All services"))] + [(str(c.id), c.label()) for c in citizen.service_types()]
    elif name == "overdue":
        field.choices = [("", _("Any")), ("1", _("Past their deadline"))]


# ---- the page ---------------------------------------------------------------------

def _page(view, f, cursor, size):
    """A page of the view's rows, newest first. The office queue without a search reads
    the fast path (a statement built once; rows as plain tuples whose HTML is kept)."""
    now = datetime.utcnow()
    if view.fast:
        if not f.searching:
            status = f.status if f.status in STATUS_LABELS else None
            return queues.office_row_page(_me().office_id, status=status, kind=f.kind or None,
                                          open_only=not f.status, cursor=cursor, size=size)
        return queues.row_page(views.query(view, _me(), f, now), cursor, size=size)
    return queues.page(views.query(view, _me(), f, now), cursor, size=size, detailed=True)


_WORDS: dict[tuple, tuple] = {}


def _words(view) -> tuple:
    """(the view's label, its columns' headings), translated once per language."""
    from app.domain import kinds
    from app.i18n import current_locale

    key = (current_locale(), view.slug, kinds.generation())
    found = _WORDS.get(key)
    if found is None:
        found = _WORDS[key] = (str(view.label), tuple(str(c.label) for c in view.columns))
    return found


def _context(view, form, f, page, bulk_form=None, results=None) -> dict:
    actions = views.bulk_actions(view, _me())
    if actions and bulk_form is None:
        bulk_form = _bulk_form(view, actions, fresh=True)
    division = views.doorstep_division(_me(), f.extra.get("division")) if "division" in view.extras else None
    shown = _shown()
    title, headings = _words(view)
    return {"view": view, "views": shown, "title": title, "headings": headings, "views_key": tuple(v.slug for v in shown),
            "read_only": view.read_only(_me()), "form": form, "page": page,
            "columns": view.columns, "bulk": bulk_form if actions else None, "results": results,
            "division": division, "now": datetime.utcnow(), "classifications": CLASSIFICATION_LABELS,
            # "View and Reply" (seed 000) beside the tickets waiting at the user's level
            "reply_here": _me().office_id if view.bulk == views.BULK_TICKETS else None}


@bp.route("/")
@login_required
def queue():
    """The inbox: the cases of one view (`?view=<slug>`; the person's first view without
    one), newest first, searchable, filtered, a page at a time."""
    view = _view_or_404(request.args.get("view"))
    request.inbox_view = view.slug  # the menu marks this view's link as the current page
    size = as_id(request.args.get("size"))
    size = min(max(size, 10), 100) if size else current_app.config["PAGE_SIZE"]
    form, f = _filters(view, request.args)
    page = _page(view, f, request.args.get("after"), size)
    resp = render_page_or_partial("cases/queue.html", "cases/_case_rows.html", **_context(view, form, f, page))
    resp.headers["Cache-Control"] = "no-store"  # names and mobile numbers of requesters
    return resp


@bp.route("/export.csv")
@in_transaction  # streams through a server-side cursor
@login_required
def queue_csv():
    """Any view as its filters show it, every page of it, as a CSV download (streamed)."""
    view = _view_or_404(request.args.get("view"))
    _form, f = _filters(view, request.args)
    q = views.query(view, _me(), f, datetime.utcnow())
    header = [_("Reference"), _("Kind"), _("Status"), _("Priority"), _("Subject"), _("Office"),
              _("Assignee"), _("Raised (UTC)"), _("Closed (UTC)"), _("SLA breached")]
    # Each label translated once, not once per row.
    kinds = {k: str(v) for k, v in KIND_LABELS.items()}
    statuses = {k: str(v) for k, v in STATUS_LABELS.items()}
    body = queues.export_csv(q, header, lambda k: kinds.get(k, k), lambda s: statuses.get(s, s),
                             max_rows=current_app.config["EXPORT_MAX_ROWS"])
    name = "queue.csv" if view.fast else f"{view.slug}.csv"
    return download(stream_with_context(body), name, "text/csv")


# ---- counts -----------------------------------------------------------------------

@bp.route("/counts")
@login_required
def counts():
    """How many cases wait in each of the user's views: with `?view=<slug>`, that view's
    number alone (a menu badge); without, the inbox's list of views with their numbers
    (`cases/_views.html`, refreshed on the `refresh-badges` event after every in-place
    action)."""
    now = datetime.utcnow()
    slug = request.args.get("view")
    if slug:
        view = _view_or_404(slug)
        n = views.counts(_me(), now, only=[view])[view.slug]
        resp = make_response(format_number(n) if n else "")
        resp.mimetype = "text/plain"
    else:
        current = views.get(request.args.get("current"))
        resp = make_response(render_template("cases/_views.html", views=views.visible_to(_me()),
                                             view=current, counts=views.counts(_me(), now)))
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ---- bulk actions -----------------------------------------------------------------

def _bulk_label(view, action: str) -> str:
    # The action's own words for the user's level (an office ticket's "escalate" is
    # "Assign to Region" at a Division).
    probe = SimpleNamespace(kind=view.kind, current_office=_me().office)
    return case_action_label(action, probe)


def _bulk_form(view, actions, fresh=False) -> InboxBulkForm:
    form = InboxBulkForm(formdata=None) if fresh else InboxBulkForm()
    form.view.data = view.slug
    form.action.choices = [("", _("Choose…"))] + [(a, _bulk_label(view, a)) for a in actions]
    if "transfer" in actions:
        offices = db.session.scalars(access.transfer_targets(SimpleNamespace(current_office_id=None))).all()
        form.office.choices = [("", "—")] + [(str(o.id), o.label()) for o in offices]
    else:
        form.office.choices = []
    return form


def _bulk_message(error) -> str:
    if error == "not_found":
        return _("Not found, or not yours to see.")
    if error == "bad_target":
        return _("The chosen office or person cannot receive this case.")
    if isinstance(error, WorkflowError):
        return str(ERROR_MESSAGES.get(error.code, ERROR_MESSAGES["workflow_error"]))
    return str(ERROR_MESSAGES.get(error or "", ERROR_MESSAGES["workflow_error"]))


def _run_bulk(view, selection, action, text, office, now):
    """The view's bulk service on the selection: [(reference, ok, error)]."""
    if view.bulk == views.BULK_TICKETS:
        done = tickets.bulk_act(_me(), selection, action, text=text, now=now)
    else:
        done = complaints.bulk_act(_me(), [ref for ref, _v in selection], action, now=now, text=text,
                                   target_office=office)
    return [(r.reference, r.ok, r.error) for r in done]


@bp.route("/bulk", methods=["POST"])
@login_required
def bulk():
    """One action on the cases selected in a view; each is done fully or not at all, and
    reported. htmx gets the view's rows again with the results (and the counts refresh:
    `refresh-badges`); a plain form post is redirected back to the view."""
    view = _view_or_404(request.form.get("view"))
    actions = views.bulk_actions(view, _me())
    if not actions:
        abort(403)
    form = _bulk_form(view, actions)
    selection = tickets.parse_selection(request.form.getlist("selected"))[:BULK_MAX]
    valid = form.validate()
    action = form.action.data
    if action and action not in actions:
        form.action.errors = list(form.action.errors) + [_("This action is not available at your level.")]
        valid = False
    if view.bulk == views.BULK_TICKETS and not (form.text.data or "").strip():
        form.text.errors = list(form.text.errors) + [_("Please give a reason.")]
        valid = False
    if not selection:
        form.action.errors = list(form.action.errors) + [_("Select at least one case.")]
        valid = False
    back = url_for("cases.queue", view=view.slug)
    if not valid:
        if not is_htmx():
            for e in form.action.errors + form.text.errors:
                flash(e, "error")
            return redirect(back, code=303)
        return _rows_again(view, form, None, status=422)
    office = None
    if as_id(form.office.data) is not None:
        office = db.session.get(OrgUnit, as_id(form.office.data))
    results = _run_bulk(view, selection, action, form.text.data or "", office, datetime.utcnow())
    done = sum(1 for _ref, ok, _e in results if ok)
    summary = _("%(done)s of %(total)s cases done: %(action)s.", done=format_number(done),
                total=format_number(len(results)), action=_bulk_label(view, action))
    if not is_htmx():
        flash(summary, "success" if done == len(results) else "warning")
        for ref, ok, error in results:
            if not ok:
                flash(_("%(ref)s refused: %(reason)s", ref=ref, reason=_bulk_message(error)), "error")
        return redirect(back, code=303)
    rows = [{"reference": ref, "ok": ok, "message": None if ok else _bulk_message(error)}
            for ref, ok, error in results]
    return _rows_again(view, None, {"summary": summary, "rows": rows})


def _rows_again(view, bulk_form, results, status=200):
    """The view's rows (its first page, as its filters were) after a bulk post (htmx)."""
    args = request.form
    form, f = _filters(view, args)
    page = _page(view, f, None, 25)
    request.inbox_view = view.slug
    resp = make_response(render_template("cases/_case_rows.html",
                                         **_context(view, form, f, page, bulk_form=bulk_form, results=results)),
                         status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ---- the queues' old addresses ------------------------------------------------------

def moved(slug: str, **values):
    """The old address of a queue (a bookmark, a message's link): a permanent redirect to
    its view, the query string kept (`values` add or replace arguments; None drops one).
    The old lists' "show" (open / all / overdue) becomes the inbox's status and deadline
    filters."""
    args = {k: v for k, v in request.args.items() if k != "view" and not k.startswith("_")}
    show = args.pop("show", "")
    if show == "all":
        args.setdefault("status", "all")
    elif show == "overdue":
        args["overdue"] = "1"
    args.pop("sort", None)  # the inbox lists newest first (keyset paging on (created, id))
    args.update(values)
    args = {k: v for k, v in args.items() if v not in (None, "")}
    return redirect(url_for("cases.queue", view=slug, **args), code=301)
