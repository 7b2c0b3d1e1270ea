"""Office tickets (seed 000): Sub/Head Offices raise tickets about the DARPAN field
application; Division, Region, Circle and CEPT work them from "Pending tickets". The
ticket page itself (timeline, reply, note, escalate, close) is the shared case page."""

import secrets
from datetime import datetime
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.tickets.forms import BulkForm, TicketFilterForm, TicketForm
from app.domain import workflow as wf
from app.htmx import is_htmx, render_page_or_partial, with_trigger
from app.i18n import (
    ERROR_MESSAGES,
    STATUS_LABELS,
    case_action_label,
    format_number,
    label_choices,
    office_kind_label,
)
from app.nav import add_staff_link
from app.services import access, tickets, uploads

bp = Blueprint("tickets", __name__)
ACTIVE = ("", _l("Active"))  # the status filter's first choices
ALL_STATUSES = ("all", _l("All statuses"))

add_staff_link("tickets.new", _l("Add Ticket"), visible=access.can_raise_ticket, order=20)
add_staff_link("tickets.mine", _l("My tickets"), visible=access.can_raise_ticket, order=21)
add_staff_link("tickets.pending", _l("Pending tickets"), visible=access.handles_tickets,
               badge_endpoint="tickets.pending_count", order=22)


def _only(check):
    """Signed in and `check(current_user)` holds (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not check(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# ---- raising --------------------------------------------------------------------------

def _ticket_form(data=None) -> TicketForm:
    form = TicketForm(data) if data is not None else TicketForm()
    form.category.choices = [("", _("Choose a category"))] + [
        (str(c.id), c.label()) for c in tickets.categories()]
    return form


def _category_code(form) -> str | None:
    cat = tickets.category_by_id(form.category.data)
    return cat.code if cat else None


@bp.route("/new", methods=["GET", "POST"])
@_only(access.can_raise_ticket)
def new():
    """Add Ticket: subject, category, description and an optional attachment."""
    form = _ticket_form()
    if request.method == "GET":
        form.submission_key.data = secrets.token_urlsafe(16)
        return render_page_or_partial("tickets/new.html", "tickets/_new_form.html", form=form,
                                      matches=[], out_of_scope=tickets.OUT_OF_SCOPE)
    matches = tickets.out_of_scope(form.subject.data, form.description.data, _category_code(form))
    valid = form.validate()
    upload, upload_error = uploads.read_checked(request.files.get("attachment"))
    if upload_error:
        form.attachment.errors = [upload_error]
        valid = False
    if matches and not form.confirm_scope.data:
        valid = False
    if not valid:
        return render_page_or_partial("tickets/new.html", "tickets/_new_form.html", status=422,
                                      form=form, matches=matches, out_of_scope=tickets.OUT_OF_SCOPE)
    try:
        case = tickets.raise_ticket(current_user, subject=form.subject.data,
                                    description=form.description.data,
                                    category=tickets.category_by_id(form.category.data),
                                    now=datetime.utcnow(), uploads=[upload] if upload else [],
                                    submission_key=form.submission_key.data or None)
    except tickets.NoDivision:
        flash(_("Your office is not attached to a Division; tickets cannot be raised from it."), "error")
        return render_page_or_partial("tickets/new.html", "tickets/_new_form.html", status=422,
                                      form=form, matches=matches, out_of_scope=tickets.OUT_OF_SCOPE)
    from app.htmx import hx_redirect

    return hx_redirect(url_for("tickets.created", reference=case.reference))


@bp.route("/scope")
@_only(access.can_raise_ticket)
def scope():
    """Inline hint while typing: does the subject or category point to another system?"""
    form = _ticket_form(request.args)
    matches = tickets.out_of_scope(form.subject.data, form.description.data, _category_code(form))
    return render_template("tickets/_scope_notice.html", matches=matches, form=form)


@bp.route("/<reference>/created")
@_only(access.can_raise_ticket)
def created(reference):
    """The Complaint ID of the ticket just raised."""
    case = access.get_case_for(current_user, reference)
    if case is None or case.kind != wf.OFFICE_TICKET:
        abort(404)
    return render_template("tickets/created.html", case=case)


# ---- queues ---------------------------------------------------------------------------

def _filter_form(mode: str) -> tuple[TicketFilterForm, tickets.Filters]:
    form = TicketFilterForm(request.args)
    form.status.choices = label_choices(STATUS_LABELS, ACTIVE, ALL_STATUSES)
    levels = [(k, office_kind_label(k)) for k in access.TICKET_LEVEL_KINDS]
    if mode == "pending":
        form.level.choices = [("", _("At my office")), ("any", _("All levels in my jurisdiction"))] + levels
    else:
        form.level.choices = [("", _("Any level"))] + levels
    form.age.choices = [("", _("Any age")), ("1d", _("Less than a day")), ("3d", _("1 to 3 days")),
                        ("7d", _("3 to 7 days")), ("old", _("Older than 7 days"))]
    form.category.choices = [("", _("All categories"))] + [
        (str(c.id), c.label()) for c in tickets.categories()]
    form.sort.choices = [("newest", _("Newest first")), ("oldest", _("Oldest first")),
                         ("updated", _("Recently updated"))]
    f = tickets.Filters(q=form.q.data or "", status=form.status.data or "", level=form.level.data or "",
                        age=form.age.data or "", category=form.category.data or "",
                        sort=form.sort.data or "newest")
    return form, f


def _bulk_form(fresh: bool = False) -> BulkForm:
    form = BulkForm(formdata=None) if fresh else BulkForm()
    form.action.choices = [(a, _bulk_label(a)) for a in tickets.bulk_actions_for(current_user)]
    return form


def _bulk_label(action: str) -> str:
    if action == "escalate":
        from types import SimpleNamespace

        probe = SimpleNamespace(kind=wf.OFFICE_TICKET, current_office=current_user.office)
        return case_action_label("escalate", probe)
    return case_action_label(action)


def _queue(mode: str, status: int = 200, bulk_form=None, results=None, partial=None):
    form, f = _filter_form(mode)
    now = datetime.utcnow()
    if mode == "pending":
        q = tickets.pending_query(current_user, f, now)
    else:
        q = tickets.mine_query(current_user, f, now)
    pg = tickets.page(q, f.sort, request.args.get("after"))
    bulk = None
    if mode == "pending" and f.level in ("", "here"):
        bulk = bulk_form or _bulk_form(fresh=True)
        if not bulk.action.choices:
            bulk = None
    return render_page_or_partial("tickets/queue.html", partial or "tickets/_rows.html", status=status,
                                  mode=mode, form=form, pg=pg, bulk=bulk, results=results)


@bp.route("/pending")
@_only(access.handles_tickets)
def pending():
    """Pending tickets: what reached the user's level, with search, filters and sorting."""
    return _queue("pending")


@bp.route("/mine")
@_only(access.can_raise_ticket)
def mine():
    """My tickets: every ticket the user's office raised, wherever it is now."""
    return _queue("mine")


@bp.route("/pending/count")
@_only(access.handles_tickets)
def pending_count():
    """The navigation badge: active tickets waiting at the user's office."""
    resp = render_template("tickets/_count.html", n=tickets.pending_count(current_user))
    return resp


def bulk_error_message(code: str | None) -> str:
    if code == "not_found":
        return _("This ticket was not found, or it is not yours to see.")
    if code == "bad_target":
        return _("The chosen office or person cannot receive this case.")
    return str(ERROR_MESSAGES.get(code or "", ERROR_MESSAGES["workflow_error"]))


@bp.route("/bulk", methods=["POST"])
@_only(access.handles_tickets)
def bulk():
    """Assign or close several tickets together; each is done fully or not at all."""
    form = _bulk_form()
    selection = tickets.parse_selection(request.form.getlist("selected"))
    valid = form.validate()
    if form.action.data and form.action.data not in dict(form.action.choices):
        form.action.errors = list(form.action.errors) + [_("This action is not available at your level.")]
        valid = False
    if not selection:
        form.action.errors = list(form.action.errors) + [_("Select at least one ticket.")]
        valid = False
    if not valid:
        if not is_htmx():
            for e in form.action.errors + form.text.errors:
                flash(e, "error")
            return redirect(url_for("tickets.pending"), code=303)
        return _queue("pending", status=422, bulk_form=form, partial="tickets/_queue_body.html")
    results = tickets.bulk_act(current_user, selection, form.action.data, text=form.text.data,
                               now=datetime.utcnow())
    done = sum(1 for r in results if r.ok)
    summary = _("%(done)s of %(total)s tickets done: %(action)s.", done=format_number(done),
                total=format_number(len(results)), action=_bulk_label(form.action.data))
    if not is_htmx():
        flash(summary, "success" if done == len(results) else "warning")
        for r in results:
            if not r.ok:
                flash(_("%(ref)s refused: %(reason)s", ref=r.reference, reason=bulk_error_message(r.error)),
                      "error")
        return redirect(url_for("tickets.pending"), code=303)
    view = [{"reference": r.reference, "ok": r.ok, "message": None if r.ok else bulk_error_message(r.error)}
            for r in results]
    resp = _queue("pending", results={"summary": summary, "rows": view},
                  partial="tickets/_queue_body.html")
    return with_trigger(resp, "refresh-badges")
