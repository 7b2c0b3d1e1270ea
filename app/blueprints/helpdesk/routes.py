"""The helpdesk desk (seed 002): log a call, the desk's log, each team's queue and the
SLA report. A ticket's page is the one case page (`/cases/<ref>`) with the helpdesk's
panel (`panel_values`, `helpdesk/_case_panel.html`); the desk (L1) classifies, replies,
resolves (resolved at first contact) or escalates along its category's path there, and a
team replies, assigns, escalates to its supervisors or closes — all through `cases.act`.
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
from app.blueprints.cases.routes import moved_to_case_page
from app.blueprints.helpdesk.forms import (
    CHANNEL_LABELS,
    CLASSIFICATION_LABELS,
    LogCallForm,
)
from app.blueprints.interactions.routes import error_status, go
from app.domain import sla as domain_sla
from app.domain import workflow as wf
from app.domain.errors import WorkflowError
from app.extensions import db
from app.htmx import render_page_or_partial
from app.i18n import priority_label
from app.inputs import as_id
from app.models import Category, Holiday, OrgUnit, SlaRule
from app.nav import add_staff_link
from app.services.engine import access
from app.services.front_doors import helpdesk

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


def _category_choices() -> list:
    teams = {o.id: o for o in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "team"))}
    return [("", _("Choose a category"))] + [
        (str(c.id), f"{c.label()} → {teams[c.route_to_id].name}" if c.route_to_id in teams
         else c.label()) for c in helpdesk.categories()]


def _priority_choices() -> list:
    return [(p, priority_label(p)) for p in helpdesk.PRIORITIES]


def _fill_choices(form) -> None:
    form.category.choices = _category_choices()
    form.priority.choices = _priority_choices()


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
                return go(url_for("cases.detail", reference=case.reference))
        return render_page_or_partial("helpdesk/new.html", "helpdesk/_form.html",
                                      status=error_status(422),
                                      form=form)
    return render_page_or_partial("helpdesk/new.html", "helpdesk/_form.html", form=form)


@bp.route("/")
def log():
    """The desk's log ("Calls logged"): now the inbox's view (app/services/read_models/views.py)."""
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
    from app.services.engine.sla import FALLBACK

    return FALLBACK


def panel_values(case, user) -> dict:
    """What the ticket's panel on the case page shows (`CaseKind.panel_values`): its
    level (L1 with the path it would take, or the team it went to), the labels, and the
    choices of the `classify` action when the user may take it."""
    at_desk = helpdesk.with_desk(case)
    team_id = (case.data or {}).get("routed_to")
    values = {
        "at_desk": at_desk, "path": helpdesk.path_of(case) if at_desk else None,
        "routed_to": db.session.get(OrgUnit, team_id) if team_id else None,
        "channels": CHANNEL_LABELS, "classifications": CLASSIFICATION_LABELS,
    }
    if at_desk and "classify" in {t.action for t in helpdesk.cases.available_actions(user, case)}:
        values.update(category_choices=_category_choices(),
                      classification_choices=[(k, str(v)) for k, v in CLASSIFICATION_LABELS.items()],
                      priority_choices=_priority_choices())
    return values


@bp.route("/<reference>")
@login_required
def detail(reference):
    """The ticket's old address: its page is the one case page now (301)."""
    case = access.get_case_for(current_user, reference, helpdesk.KIND)
    if case is None:
        abort(404)
    return moved_to_case_page(case)
