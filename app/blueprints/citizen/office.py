"""Office pages of doorstep service requests: the Division's queue and request page with
"update status with details". The Region/Circle monitoring of seed 001 is the monitoring
dashboard filtered to doorstep requests (`/dashboard/?kind=service_request`); its old
address redirects there."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.citizen.forms import QueueFilterForm, UpdateForm
from app.blueprints.citizen.routes import bp
from app.domain import workflow as wf
from app.domain.errors import ChangedMeanwhile, InvalidTransition, NotAllowed, WorkflowError
from app.extensions import db
from app.htmx import is_htmx, render_page_or_partial
from app.i18n import STATUS_LABELS, error_message, format_number
from app.inputs import as_id
from app.models import OrgUnit
from app.nav import add_staff_link
from app.services import access, citizen, queues

add_staff_link("citizen.office_queue", _l("Doorstep requests"), visible=access.handles_doorstep,
               badge_endpoint="citizen.office_badge", order=20)

SR_STATUSES = (wf.OPEN, wf.IN_PROGRESS, wf.CLOSED)
OUTCOME_LABELS = {
    "in_progress": _l("In progress"),
    "completed": _l("Completed"),
    "not_served": _l("Could not be served"),
    "remarks": _l("No change: add remarks only"),
}


def _require_viewer():
    if not (access.handles_doorstep(current_user) or access.monitors_doorstep(current_user)):
        abort(404)


def _load(reference):
    case = access.get_case_for(current_user, reference)
    if case is None or case.kind != wf.SERVICE_REQUEST:
        abort(404)
    return case


@bp.route("/doorstep/")
@login_required
def office_queue():
    """Doorstep requests of the Division (or the subtree, read-only), newest first."""
    _require_viewer()
    form = QueueFilterForm(request.args)
    form.status.choices = [("", _("All statuses"))] + [(s, str(STATUS_LABELS[s])) for s in SR_STATUSES]
    form.service.choices = [("", _("All services"))] + [(str(c.id), c.label())
                                                        for c in citizen.service_types()]
    form.validate()
    division = None
    if as_id(form.division.data) is not None:
        division = db.session.get(OrgUnit, as_id(form.division.data))
        if division is None or not access.office_in_scope(current_user, division):
            division = None
    q = citizen.queue_select(
        current_user, status=form.status.data or None,
        service_id=as_id(form.service.data),
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        division_id=division.id if division else None, age=form.age.data or None,
        now=datetime.utcnow())
    q = queues.apply_search(q, form.q.data)
    page = queues.page(q, request.args.get("after"), size=current_app.config["PAGE_SIZE"])
    return render_page_or_partial("citizen/office_queue.html", "citizen/_office_rows.html",
                                  form=form, results=page, division=division)


@bp.route("/doorstep/badge")
@login_required
def office_badge():
    """htmx: how many doorstep requests wait (open) in the Division, for the nav badge."""
    _require_viewer()
    n = citizen.waiting_count(current_user)
    return (format_number(n) if n else ""), 200, {"Cache-Control": "no-store"}


def _panel(case, form=None, error=None, status=200):
    outcomes = citizen.outcomes_for(current_user, case)
    if form is None:
        form = UpdateForm(formdata=None, version=case.version)
    form.outcome.choices = [(o, str(OUTCOME_LABELS[o])) for o in outcomes]
    form.version.data = case.version
    timeline = queues.timeline(case, internal=access.sees_internal(current_user, case))
    if is_htmx() and status >= 400:
        status = 200  # htmx 2 does not swap error responses; the panel carries the error itself
    return render_page_or_partial(
        "citizen/office_request.html", "citizen/_office_panel.html", status=status, case=case,
        form=form, outcomes=outcomes, error=error, timeline=timeline,
        pin=citizen.lookup_pincode(case.pincode))


@bp.route("/doorstep/<reference>")
@login_required
def office_request(reference):
    """The request with its full timeline and, for the owning Division, the update form."""
    return _panel(_load(reference))


@bp.route("/doorstep/<reference>/update", methods=["POST"])
@login_required
def office_update(reference):
    """Update status with details (owning Division only; others get 403 here)."""
    case = _load(reference)
    form = UpdateForm()
    form.outcome.choices = [(o, "") for o in citizen.OUTCOMES]
    if not citizen.outcomes_for(current_user, case):
        if wf.HANDLER in access.relations(current_user, case):  # its Division, but closed meanwhile
            return _panel(case, form=form, error=error_message(InvalidTransition()), status=409)
        return _panel(case, form=form, error=error_message(NotAllowed()), status=403)
    if not form.validate():
        return _panel(case, form=form, status=422)
    version = as_id(form.version.data)
    try:
        citizen.update_status(case, current_user, form.outcome.data, now=datetime.utcnow(),
                              details=form.details.data or "", reason=form.reason.data or "",
                              remarks=form.remarks.data or "", expected_version=version)
    except ChangedMeanwhile as exc:
        db.session.refresh(case)
        return _panel(case, form=form, error=error_message(exc), status=409)
    except NotAllowed as exc:
        return _panel(case, form=form, error=error_message(exc), status=403)
    except WorkflowError as exc:
        return _panel(case, form=form, error=error_message(exc), status=422)
    flash(_("The request has been updated."), "success")
    if is_htmx():
        db.session.refresh(case)
        return _panel(case)
    return redirect(url_for("citizen.office_request", reference=case.reference), code=303)


# The old monitor's arguments, as the dashboard names them (it had none of its own; its
# tables linked the queue's `division` and `service`).
_MONITOR_ARGS = {"division": "office", "service": "category", "date_from": "date_from", "date_to": "date_to",
                 "office": "office", "category": "category", "priority": "priority", "days": "days"}


@bp.route("/doorstep/monitor")
def monitor():
    """The doorstep monitoring is the dashboard filtered to doorstep requests: the old
    address (bookmarks) moves there for good, with its arguments. The dashboard decides
    who may see what."""
    args = {_MONITOR_ARGS[k]: v for k, v in request.args.items() if k in _MONITOR_ARGS and v}
    return redirect(url_for("monitoring.dashboard", **args, kind=citizen.KIND), code=301)
