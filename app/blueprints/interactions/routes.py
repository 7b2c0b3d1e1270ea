"""Staff interactions (seed 004): «ثبت جدید» (new request to a department or a
colleague), «کارتابل» (the handler's inbox), «تعاملات من» (the requester's own
requests) and one page per request with the reply / assign / resolved / not resolved /
survey forms. Thin views: parse, authorize, call `app.services.interactions`, render."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.cases.inbox import moved
from app.blueprints.interactions.forms import (
    RATING_LABELS,
    REQUEST_TYPE_LABELS,
    InteractionActionForm,
    NewInteractionForm,
)
from app.domain import workflow as wf
from app.domain.errors import (
    AlreadyDone,
    BadTarget,
    ChangedMeanwhile,
    MissingInput,
    NotAllowed,
    WorkflowError,
)
from app.extensions import db
from app.htmx import is_htmx, render_page_or_partial
from app.i18n import error_message, priority_label
from app.inputs import as_id
from app.models import OrgUnit
from app.nav import add_staff_link
from app.services import access, interactions, uploads
from app.services.helpdesk import PRIORITIES

bp = Blueprint("interactions", __name__)

add_staff_link("interactions.new", _l("Organizational interactions: new request"), order=60)

# Seed 004's names for the timeline rows of an interaction.
EVENT_LABELS = {
    "created": _l("Request sent"),
    "propose_resolution": _l("Answer from the handler"),
    "accept": _l("Marked as resolved"),
    "reject": _l("Marked as not resolved"),
    "assign": _l("Assigned to a colleague"),
    "rate": _l("Satisfaction survey"),
}


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
    return go(url_for("interactions.detail", reference=case.reference))


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
    """«تعاملات من»: now the inbox's view (app/services/views.py)."""
    return moved("interactions-mine")


@bp.route("/cartable")
def cartable():
    """«کارتابل»: now the inbox's view."""
    return moved("cartable")


# ---- one request ------------------------------------------------------------------

def _load(reference):
    case = interactions.get_for(current_user, reference)
    if case is None:
        abort(404)
    return case


def _context(case, form=None, error=None, open_action=None):
    sees_internal = access.sees_internal(current_user, case)
    allowed = interactions.allowed_actions(current_user, case)
    return {
        "case": case,
        "events": [e for e in case.events if e.public or sees_internal],
        "event_labels": EVENT_LABELS,
        "allowed": allowed,
        "colleagues": interactions.assign_targets(case) if "assign" in allowed else [],
        "feedback": interactions.feedback_for(case),
        "rating_labels": RATING_LABELS,
        "request_types": REQUEST_TYPE_LABELS,
        "is_handler": bool(access.relations(current_user, case) & {wf.HANDLER, wf.SUPERVISOR}),
        "is_requester": case.raised_by_id == current_user.id,
        "form": form,
        "error": error,
        "open_action": open_action,
        "now": _now(),
    }


@bp.route("/<reference>")
@login_required
def detail(reference):
    """One request: its replies, and what the signed-in user may do on it now."""
    case = _load(reference)
    return render_page_or_partial("interactions/detail.html", "interactions/_panel.html",
                                  **_context(case))


@bp.route("/<reference>/act", methods=["POST"])
@login_required
def act(reference):
    """Reply, assign, resolved / not resolved, or the survey. Errors re-render the page
    with the text kept and the message next to the field."""
    case = _load(reference)
    form = InteractionActionForm()
    action = form.action.data or ""
    if not form.validate() or action not in interactions.allowed_actions(current_user, case):
        return _failed(case, form, _("This action is not possible for this request now."), 422)
    if action == "assign" and not (form.text.data or "").strip():
        form.text.errors = [_("Write a note for the colleague.")]
        return _failed(case, form, None, 422)
    upload, upload_error = uploads.read_checked(request.files.get("attachment"))
    if upload_error:
        form.attachment.errors = [upload_error]
        return _failed(case, form, None, 422)
    target = interactions.find_colleague(form.user.data) if action == "assign" else None
    version = as_id(form.version.data)
    try:
        interactions.act(case, action, current_user, _now(), version=version,
                         text=form.text.data or "", target_user=target, rating=form.rating.data,
                         comment=form.comment.data or "", uploads=[upload] if upload else [])
    except ChangedMeanwhile as exc:
        db.session.refresh(case)
        return _failed(case, form, error_message(exc), 409)
    except NotAllowed as exc:
        return _failed(case, form, error_message(exc), 403)
    except (MissingInput, BadTarget, AlreadyDone) as exc:
        _field_error(form, exc)
        return _failed(case, form, None, 422)
    except WorkflowError as exc:
        return _failed(case, form, error_message(exc), 422)
    flash(str(_DONE[action]), "success")
    if not access.can_view(current_user, case):
        return go(url_for("interactions.cartable"))
    if is_htmx():
        db.session.refresh(case)
        return render_page_or_partial("interactions/detail.html", "interactions/_panel.html",
                                      **_context(case))
    return redirect(url_for("interactions.detail", reference=case.reference), code=303)


_DONE = {
    "propose_resolution": _l("Your answer has been sent to the requester."),
    "assign": _l("The request has been assigned."),
    "accept": _l("Thank you. The request is closed as resolved."),
    "reject": _l("The request has been sent back to the handler."),
    "rate": _l("Thank you for filling in the survey."),
}


def _field_error(form, exc):
    field = exc.info.get("field")
    if isinstance(exc, AlreadyDone):
        form.rating.errors = [_("You have already filled in the survey for this request.")]
    elif field == "rating":
        form.rating.errors = [_("Choose a rating from 1 to 5.")]
    elif field == "user":
        form.user.errors = [_("Choose a colleague of the office that holds this request.")]
    else:
        form.text.errors = [_("Please write your text.")]


def _failed(case, form, error, status):
    return render_page_or_partial("interactions/detail.html", "interactions/_panel.html",
                                  status=error_status(status), **_context(case, form=form, error=error,
                                                            open_action=form.action.data))
