"""Office pages of doorstep service requests (their list is the inbox's "Doorstep requests"
view; `/doorstep/` redirects there). A request's page is the
one case page (`/cases/<ref>`) with the doorstep panel (`panel_values`,
`citizen/_case_panel.html`); the Division's "update status with details" (In progress /
Completed / Could not be served, with internal remarks) are actions posted to `cases.act`.
The Region/Circle monitoring of seed 001 is the monitoring dashboard filtered to doorstep
requests (`/dashboard/?kind=service_request`); its old address redirects there."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_login import current_user, login_required

from app.blueprints.cases.routes import moved_to_case_page
from app.blueprints.citizen.routes import bp
from app.domain import workflow as wf
from app.services.engine import access
from app.services.front_doors import citizen

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
def office_queue():
    """Doorstep requests: now the inbox's view (app/services/read_models/views.py), its filters kept."""
    from app.blueprints.cases.inbox import moved

    return moved("doorstep")


def panel_values(case, user) -> dict:
    """What the request's panel on the case page shows (`CaseKind.panel_values`): the
    post office of its pincode (read with the case: `Case.pincode_office`) and whether the
    user works the Division's list. Whether they may update it the panel reads off the
    page's own list of actions (`allowed`), not the workflow table a second time."""
    return {"post_office": case.pincode_office,
            "queue": access.handles_doorstep(user) or access.monitors_doorstep(user)}


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
