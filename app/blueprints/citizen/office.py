"""Office pages of doorstep service requests (their queue is the inbox's "Doorstep
requests" view): the request page with
"update status with details", and the Region/Circle monitoring view (read-only)."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.citizen.forms import UpdateForm
from app.blueprints.citizen.routes import bp
from app.domain import workflow as wf
from app.domain.errors import ChangedMeanwhile, InvalidTransition, NotAllowed, WorkflowError
from app.extensions import db
from app.htmx import is_htmx, render_page_or_partial
from app.i18n import error_message
from app.inputs import as_id
from app.nav import add_staff_link
from app.services import access, citizen, queues

add_staff_link("citizen.monitor", _l("Doorstep monitoring"), visible=access.monitors_doorstep, order=21)

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
def office_queue():
    """Doorstep requests: now the inbox's view (app/services/views.py), its filters kept."""
    from app.blueprints.cases.inbox import moved

    return moved("doorstep")


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


@bp.route("/doorstep/monitor")
@login_required
def monitor():
    """Region/Circle view: counts by status and service per Division, and ageing."""
    if not access.monitors_doorstep(current_user):
        abort(404)
    return render_page_or_partial("citizen/monitor.html", "citizen/_monitor_tables.html",
                                  m=citizen.monitor(current_user, datetime.utcnow()),
                                  statuses=SR_STATUSES, buckets=citizen.AGE_BUCKETS)
