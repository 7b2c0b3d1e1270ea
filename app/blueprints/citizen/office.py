"""Office pages of doorstep service requests: the Division's queue. A request's page is the
one case page (`/cases/<ref>`) with the doorstep panel (`panel_values`,
`citizen/_case_panel.html`); the Division's "update status with details" (In progress /
Completed / Could not be served, with internal remarks) are actions posted to `cases.act`.
The Region/Circle monitoring of seed 001 is the monitoring dashboard filtered to doorstep
requests (`/dashboard/?kind=service_request`); its old address redirects there."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.cases.routes import moved_to_case_page
from app.blueprints.citizen.forms import QueueFilterForm
from app.blueprints.citizen.routes import bp
from app.domain import workflow as wf
from app.extensions import db
from app.htmx import render_page_or_partial
from app.i18n import STATUS_LABELS, format_number
from app.inputs import as_id
from app.models import OrgUnit
from app.nav import add_staff_link
from app.services import access, cases, citizen, queues

add_staff_link("citizen.office_queue", _l("Doorstep requests"), visible=access.handles_doorstep,
               badge_endpoint="citizen.office_badge", order=20)

SR_STATUSES = (wf.OPEN, wf.IN_PROGRESS, wf.CLOSED)


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


def panel_values(case, user) -> dict:
    """What the request's panel on the case page shows (`CaseKind.panel_values`): the
    post office of its pincode; whether the user works the Division's list; whether
    they may update it (else the panel says why not)."""
    return {"pin": citizen.lookup_pincode(case.pincode),
            "queue": access.handles_doorstep(user) or access.monitors_doorstep(user),
            "may_update": any(t.action != "note" for t in cases.available_actions(user, case))}


@bp.route("/doorstep/<reference>")
@login_required
def office_request(reference):
    """The request's old address: its page is the one case page now (301)."""
    return moved_to_case_page(_load(reference))


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
