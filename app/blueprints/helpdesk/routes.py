"""The helpdesk desk (seed 002): log a call, the desk's log, each team's queue, one
ticket's page and the SLA report. The desk (L1) works a ticket it holds on its page:
classify, reply, resolve (closing it, resolved at first contact) or escalate along its
category's path; a team then replies, assigns, escalates to its supervisors or closes.
The SLA matrix, the holiday calendar and the escalation paths are edited on the admin
pages (not here)."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from app.blueprints.auth.decorators import role_required
from app.blueprints.cases.inbox import moved
from app.blueprints.helpdesk.forms import (
    CHANNEL_LABELS,
    CLASSIFICATION_LABELS,
    ClassifyForm,
    LogCallForm,
    TicketActionForm,
)
from app.blueprints.interactions.forms import RATING_LABELS
from app.blueprints.interactions.routes import error_status, go
from app.domain import sla as domain_sla
from app.domain import workflow as wf
from app.domain.errors import BadTarget, ChangedMeanwhile, MissingInput, WorkflowError
from app.extensions import db
from app.htmx import is_htmx, render_page_or_partial
from app.i18n import error_message, priority_label
from app.inputs import as_id
from app.models import Category, Holiday, OrgUnit, SlaRule, User
from app.nav import add_staff_link
from app.services import access, helpdesk

bp = Blueprint("helpdesk", __name__)

DESK_ROLES = ("helpdesk", "admin")
REPORT_ROLES = ("helpdesk", "supervisor", "admin", "monitor")

add_staff_link("helpdesk.report", _l("Helpdesk: SLA report"),
               visible=lambda u: u.has_role(*REPORT_ROLES), order=72)


@bp.app_template_global("case_overdue")
def case_overdue(case, now=None) -> bool:
    """Past the deadline it works to, with its clock running (the sweep's definition)."""
    return helpdesk.is_overdue(case, now)


@bp.app_template_global("case_due_by")
def case_due_by(case):
    """The deadline `case_overdue` judges: the date a list shows beside the flag."""
    return domain_sla.due_by(case) if not case.is_closed else None


def _now() -> datetime:
    return datetime.utcnow()


def _fill_choices(form) -> None:
    teams = {o.id: o for o in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "team"))}
    form.category.choices = [("", _("Choose a category"))] + [
        (str(c.id), f"{c.label()} → {teams[c.route_to_id].name}" if c.route_to_id in teams
         else c.label()) for c in helpdesk.categories()]
    form.priority.choices = [(p, priority_label(p)) for p in helpdesk.PRIORITIES]


@bp.route("/new", methods=["GET", "POST"])
@role_required(*DESK_ROLES)
def new():
    """Log a caller's issue; it goes to the team of its category at once."""
    form = LogCallForm()
    _fill_choices(form)
    if not form.submission_key.data:
        form.submission_key.data = secrets.token_hex(16)
    if request.method == "POST":
        category = None
        if form.validate():
            cat_id = form.category.data or ""
            category = db.session.get(Category, as_id(cat_id)) if as_id(cat_id) is not None else None
            if category is None or category.kind != wf.HELPDESK or not category.active:
                form.category.errors = [_("Choose a category from the list.")]
                category = None
        if category is not None:
            try:
                case = helpdesk.log_call(
                    current_user, category=category, classification=form.classification.data,
                    priority=form.priority.data, channel=form.channel.data,
                    caller={"name": form.caller_name.data.strip(),
                            "mobile": (form.caller_mobile.data or "").strip(),
                            "email": (form.caller_email.data or "").strip()},
                    subject=form.subject.data, description=form.description.data,
                    diagnosis=form.diagnosis.data or "", now=_now(),
                    submission_key=form.submission_key.data, fix=form.fix.data or "")
            except WorkflowError:
                form.classification.errors = [_("Choose a classification, priority and channel from the lists.")]
            else:
                if case.is_closed:
                    flash(_("Ticket %(ref)s is logged and closed as resolved at first contact; "
                            "the caller receives the fix.", ref=case.reference), "success")
                else:
                    flash(_("Ticket %(ref)s is logged. Share this ticket id with the caller.",
                            ref=case.reference), "success")
                return go(url_for("helpdesk.detail", reference=case.reference))
        return render_page_or_partial("helpdesk/new.html", "helpdesk/_form.html",
                                      status=error_status(422),
                                      form=form)
    return render_page_or_partial("helpdesk/new.html", "helpdesk/_form.html", form=form)


@bp.route("/")
def log():
    """The desk's log ("Calls logged"): now the inbox's view (app/services/views.py)."""
    return moved("helpdesk-log")


@bp.route("/queue")
def queue():
    """A team's queue: now the inbox's view."""
    return moved("helpdesk-queue")


@bp.route("/report")
@role_required(*REPORT_ROLES)
def report():
    """SLA compliance by priority and team, with the matrix in force."""
    now = _now()
    rules = db.session.scalars(select(SlaRule).where(SlaRule.kind == wf.HELPDESK)
                               .order_by(SlaRule.priority)).all()
    holidays = db.session.scalars(select(Holiday).where(Holiday.day >= now.date())
                                  .order_by(Holiday.day).limit(5)).all()
    return render_page_or_partial("helpdesk/report.html", "helpdesk/_report_table.html",
                                  rows=helpdesk.compliance_report(current_user, now), rules=rules,
                                  levels=helpdesk.level_report(current_user, now),
                                  fallback=helpdesk_fallback(), holidays=holidays, now=now)


def helpdesk_fallback():
    from app.services.sla import FALLBACK

    return FALLBACK


def _load(reference):
    case = helpdesk.get_for(current_user, reference)
    if case is None:
        abort(404)
    return case


def _context(case, form=None, error=None, open_action=None, classify_form=None):
    sees_internal = access.sees_internal(current_user, case)
    rels = access.relations(current_user, case)
    allowed = helpdesk.allowed_actions(current_user, case)
    team_id = (case.data or {}).get("routed_to")
    at_desk = helpdesk.with_desk(case)
    can_classify = at_desk and "classify" in {t.action for t in helpdesk.cases.available_actions(current_user, case)}
    if can_classify and classify_form is None:
        classify_form = ClassifyForm(formdata=None, data={
            "category": str(case.category_id or ""), "classification": case.classification or "",
            "priority": case.priority, "version": str(case.version)})
    if classify_form is not None:
        _fill_choices(classify_form)
    return {
        "at_desk": at_desk, "path": helpdesk.path_of(case) if at_desk else None,
        "classify_form": classify_form if can_classify else None,
        "case": case, "events": [e for e in case.events if e.public or sees_internal],
        "is_handler": bool(rels & {wf.HANDLER, wf.SUPERVISOR}),
        "routed_to": db.session.get(OrgUnit, team_id) if team_id else None,
        "channels": CHANNEL_LABELS, "classifications": CLASSIFICATION_LABELS, "now": _now(),
        "event_labels": {}, "rating_labels": RATING_LABELS, "allowed": allowed,
        "colleagues": helpdesk.assign_targets(case) if "assign" in allowed else [],
        "form": form, "error": error, "open_action": open_action,
    }


@bp.route("/<reference>")
@login_required
def detail(reference):
    """One ticket: the id to share with the caller, classification, diagnosis, due
    times, the timeline, and reply / assign / close for the team."""
    case = _load(reference)
    return render_page_or_partial("helpdesk/detail.html", "helpdesk/_panel.html", **_context(case))


@bp.route("/<reference>/act", methods=["POST"])
@login_required
def act(reference):
    """Reply to the caller, assign to a team mate with a note, or close with the fix."""
    case = _load(reference)
    form = TicketActionForm()
    action = form.action.data or ""
    if not form.validate() or action not in helpdesk.allowed_actions(current_user, case):
        return _failed(case, form, _("This action is not possible for this ticket now."), 422)
    if not (form.text.data or "").strip():
        form.text.errors = [_("Please write your text.")]
        return _failed(case, form, None, 422)
    target = None
    if action == "assign":
        uid = form.user.data or ""
        target = db.session.get(User, as_id(uid)) if as_id(uid) is not None else None
    version = as_id(form.version.data)
    try:
        helpdesk.act(case, action, current_user, _now(), version=version, text=form.text.data,
                     target_user=target)
    except ChangedMeanwhile as exc:
        db.session.refresh(case)
        return _failed(case, form, error_message(exc), 409)
    except (MissingInput, BadTarget) as exc:
        if action == "escalate":
            form.text.errors = [_("This ticket's category has no escalation path: set its "
                                  "category (or ask an administrator to give the category a path).")]
            return _failed(case, form, None, 422)
        if exc.info.get("field") == "text":
            form.text.errors = [_("Please write your text.")]
            return _failed(case, form, None, 422)
        form.user.errors = [_("Choose a colleague of the office that holds this request.")]
        return _failed(case, form, None, 422)
    except WorkflowError as exc:
        return _failed(case, form, error_message(exc), 422)
    flash(str(_DONE[action]), "success")
    if not access.can_view(current_user, case):
        return go(url_for("helpdesk.queue"))
    if is_htmx():
        db.session.refresh(case)
        return render_page_or_partial("helpdesk/detail.html", "helpdesk/_panel.html",
                                      **_context(case))
    return go(url_for("helpdesk.detail", reference=case.reference))


_DONE = {
    "reply": _l("Your reply has been sent to the caller."),
    "assign": _l("The ticket has been assigned."),
    "escalate": _l("The ticket has been escalated."),
    "close": _l("The ticket is closed."),
}


@bp.route("/<reference>/classify", methods=["POST"])
@login_required
def classify(reference):
    """L1: set the ticket's category (its escalation path), classification and priority."""
    case = _load(reference)
    form = ClassifyForm()
    _fill_choices(form)
    if not helpdesk.with_desk(case) or "classify" not in {
            t.action for t in helpdesk.cases.available_actions(current_user, case)}:
        return _failed_classify(case, form, _("This action is not possible for this ticket now."), 422)
    ok = form.validate()
    cat_id = as_id(form.category.data or "")
    category = db.session.get(Category, cat_id) if cat_id is not None else None
    if category is None or category.kind != wf.HELPDESK or not category.active:
        form.category.errors = [_("Choose a category from the list.")]
        ok = False
    if form.priority.data not in helpdesk.PRIORITIES:
        form.priority.errors = [_("Choose a classification, priority and channel from the lists.")]
        ok = False
    if not ok:
        return _failed_classify(case, form, None, 422)
    try:
        helpdesk.classify(case, current_user, _now(), category=category,
                          classification=form.classification.data, priority=form.priority.data,
                          version=as_id(form.version.data))
    except ChangedMeanwhile as exc:
        db.session.refresh(case)
        return _failed_classify(case, form, error_message(exc), 409)
    except WorkflowError as exc:
        return _failed_classify(case, form, error_message(exc), 422)
    flash(_("The ticket's classification has been saved."), "success")
    if is_htmx():
        db.session.refresh(case)
        return render_page_or_partial("helpdesk/detail.html", "helpdesk/_panel.html", **_context(case))
    return go(url_for("helpdesk.detail", reference=case.reference))


def _failed_classify(case, form, error, status):
    return render_page_or_partial("helpdesk/detail.html", "helpdesk/_panel.html",
                                  status=error_status(status),
                                  **_context(case, error=error, classify_form=form))


def _failed(case, form, error, status):
    return render_page_or_partial("helpdesk/detail.html", "helpdesk/_panel.html",
                                  status=error_status(status),
                                  **_context(case, form=form, error=error, open_action=form.action.data))
