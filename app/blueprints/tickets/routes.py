"""Office tickets (seed 000): Sub/Head Offices raise tickets about the DARPAN field
application; Division, Region, Circle and CEPT work them from "Pending tickets" (a view
of the inbox, `app.services.read_models.views`; bulk actions there too). The
ticket page itself (timeline, reply, note, escalate, close) is the shared case page."""

import secrets
from datetime import datetime
from functools import wraps

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.cases.inbox import moved
from app.blueprints.tickets.forms import TicketForm
from app.domain import workflow as wf
from app.htmx import render_page_or_partial
from app.nav import add_staff_link
from app.services.engine import access
from app.services.front_doors import tickets
from app.services.infrastructure import uploads

bp = Blueprint("tickets", __name__)
ACTIVE = ("", _l("Active"))  # the status filter's first choices
ALL_STATUSES = ("all", _l("All statuses"))

add_staff_link("tickets.new", _l("Add Ticket"), visible=access.can_raise_ticket, order=20)


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


# ---- the old queue addresses: views of the inbox ------------------------------------

@bp.route("/pending")
def pending():
    """Pending tickets: now the inbox's view (app/services/read_models/views.py)."""
    return moved("tickets-pending")


@bp.route("/mine")
def mine():
    """My tickets: now the inbox's view."""
    return moved("tickets-mine")
