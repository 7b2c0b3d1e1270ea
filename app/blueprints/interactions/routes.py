"""Staff interactions (seed 004): «ثبت جدید» (new request to a department or a
colleague), «کارتابل» (the handler's inbox), «تعاملات من» (the requester's own
requests). A request's page is the one case page (`/cases/<ref>`) with the interaction's
panel (`panel_values`, `interactions/_case_panel.html`): answer, assign, «حل شده است» /
not resolved and the survey are actions posted to `cases.act`. Thin views: parse,
authorize, call `app.services.front_doors.interactions`, render."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.cases.inbox import moved
from app.blueprints.cases.routes import moved_to_case_page
from app.blueprints.interactions.forms import (
    RATING_LABELS,
    REQUEST_TYPE_LABELS,
    NewInteractionForm,
)
from app.domain.errors import WorkflowError
from app.extensions import db
from app.htmx import is_htmx, render_page_or_partial
from app.i18n import priority_label
from app.inputs import as_id
from app.models import OrgUnit
from app.nav import add_staff_link
from app.services.engine import access
from app.services.front_doors import interactions
from app.services.front_doors.helpdesk import PRIORITIES
from app.services.infrastructure import uploads

bp = Blueprint("interactions", __name__)

add_staff_link("interactions.new", _l("Organizational interactions: new request"), order=60)

def _now() -> datetime:
    return datetime.utcnow()


def go(url: str):
    """After a change: a 303 redirect, or for htmx a full navigation (HX-Redirect) so the
    next page arrives whole, with its layout."""
    if is_htmx():
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        return resp
    return redirect(url, code=303)


def error_status(code: int) -> int:
    """htmx 2 does not swap 4xx answers by default, so an htmx request gets its form
    with the errors as 200; a plain request gets the real status."""
    return 200 if is_htmx() else code


# ---- new request ------------------------------------------------------------------

def _fill_choices(form: NewInteractionForm) -> list:
    """Department, subject and priority choices; the colleagues matching the search."""
    form.department.choices = [("", _("Choose a department"))] + [
        (str(d.id), d.label()) for d in interactions.departments()]
    dep = form.department.data or ""
    subjects = interactions.subjects(as_id(dep))
    form.subject.choices = [("", _("Choose a subject") if subjects else
                             _("Choose a department first"))] + [
        (str(s.id), s.label()) for s in subjects]
    form.priority.choices = [(p, priority_label(p)) for p in PRIORITIES]
    return interactions.search_colleagues(form.recipient_q.data, exclude=current_user)


def _form_page(form, candidates, status=200):
    return render_page_or_partial("interactions/new.html", "interactions/_form.html",
                                  status=error_status(status),
                                  form=form, candidates=candidates, colleague=_chosen(form))


def _chosen(form):
    return interactions.find_colleague(form.recipient.data, exclude=current_user) \
        if form.recipient.data else None


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """«تعاملات سازمانی ← ثبت جدید»: send a request to a department or to a colleague.
    Without JavaScript the "Show subjects" / "Find colleague" buttons post the form back
    with everything kept; with htmx the same lists load in place."""
    form = NewInteractionForm(formdata=request.form if request.method == "POST" else request.args
                              or None)
    if not form.submission_key.data:
        form.submission_key.data = secrets.token_hex(16)
    candidates = _fill_choices(form)
    if request.method == "GET" or request.form.get("refresh"):
        return _form_page(form, candidates)
    valid = form.validate()
    target = _validate_target(form, candidates)
    upload, upload_error = uploads.read_checked(request.files.get("attachment"))
    if upload_error:
        form.attachment.errors = [upload_error]
        valid = False
    if not valid or target is None:
        return _form_page(form, candidates, status=422)
    try:
        if form.addressed_to.data == interactions.DEPARTMENT:
            department, subject = target
            case = interactions.raise_to_department(
                current_user, department, subject, form.description.data, _now(),
                uploads=[upload] if upload else [], submission_key=form.submission_key.data)
        else:
            case = interactions.raise_to_colleague(
                current_user, target, form.request_type.data, form.priority.data,
                form.description.data, _now(), uploads=[upload] if upload else [],
                submission_key=form.submission_key.data)
    except WorkflowError:
        form.description.errors = list(form.description.errors) + [
            _("The request could not be sent. Please check the recipient and try again.")]
        return _form_page(form, candidates, status=422)
    flash(_("Your request has been sent. Its number is %(ref)s.", ref=case.reference), "success")
    return go(url_for("cases.detail", reference=case.reference))


def _validate_target(form: NewInteractionForm, candidates):
    """(department, subject) or the colleague; errors are put next to the fields."""
    if form.addressed_to.data == interactions.DEPARTMENT:
        dep = form.department.data or ""
        department = db.session.get(OrgUnit, as_id(dep)) if as_id(dep) is not None else None
        if department is None or department.kind != "department" or not department.active:
            form.department.errors = [_("Choose a department.")]
            return None
        subject = next((s for s in interactions.subjects(department.id)
                        if str(s.id) == (form.subject.data or "")), None)
        if subject is None:
            form.subject.errors = [_("Choose a subject of the selected department.")]
            return None
        return department, subject
    if form.addressed_to.data != interactions.COLLEAGUE:
        form.addressed_to.errors = [_("Choose a department or a colleague.")]
        return None
    ok = True
    if form.request_type.data not in REQUEST_TYPE_LABELS:
        form.request_type.errors = [_("Choose a request type.")]
        ok = False
    if form.priority.data not in PRIORITIES:
        form.priority.errors = [_("Choose a priority.")]
        ok = False
    colleague = _chosen(form)
    if colleague is None and len(candidates) == 1:
        colleague = candidates[0]
        form.recipient.data = str(colleague.id)
    if colleague is None:
        form.recipient_q.errors = [
            _("Choose the colleague from the list.") if candidates else
            _("No colleague found. Type at least two letters of a name or an Employee ID.")]
        return None
    return colleague if ok else None


@bp.route("/subjects")
@login_required
def subjects():
    """The subject field for the chosen department (htmx dependent dropdown)."""
    form = NewInteractionForm(formdata=request.args)
    _fill_choices(form)
    return render_page_or_partial("interactions/new.html", "interactions/_subject_field.html",
                                  form=form, candidates=[], colleague=None)


@bp.route("/recipients")
@login_required
def recipients():
    """Colleagues matching what was typed in «گیرنده» (htmx search-as-you-type)."""
    form = NewInteractionForm(formdata=request.args)
    candidates = _fill_choices(form)
    return render_page_or_partial("interactions/new.html", "interactions/_recipients.html",
                                  form=form, candidates=candidates, colleague=_chosen(form))


# ---- the old list addresses: views of the inbox -----------------------------------

@bp.route("/mine")
def mine():
    """«تعاملات من»: now the inbox's view (app/services/read_models/views.py)."""
    return moved("interactions-mine")


@bp.route("/cartable")
def cartable():
    """«کارتابل»: now the inbox's view."""
    return moved("cartable")


# ---- one request ------------------------------------------------------------------

def panel_values(case, user) -> dict:
    """What the request's panel on the case page shows (`CaseKind.panel_values`)."""
    return {
        "feedback": interactions.feedback_for(case),
        "rating_labels": RATING_LABELS,
        "request_types": REQUEST_TYPE_LABELS,
        "is_requester": case.raised_by_id == user.id,
    }


@bp.route("/<reference>")
@login_required
def detail(reference):
    """The request's old address: its page is the one case page now (301)."""
    case = access.get_case_for(current_user, reference, interactions.KIND)
    if case is None:
        abort(404)
    return moved_to_case_page(case)
