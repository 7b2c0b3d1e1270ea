"""THE case page of every kind: detail with the kind's panel and timeline, the one `act`
endpoint for every workflow action of every kind, the redirect of a front door's old page
address, and attachment downloads. The inbox (the queue and its views) is
`app.blueprints.cases.inbox`, on the same blueprint."""

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.blueprints.cases.forms import ActionForm
from app.domain import kinds
from app.domain.errors import ChangedMeanwhile, MissingInput, WorkflowError
from app.exports import send_stored_file
from app.extensions import db
from app.failures import Failure, failure
from app.htmx import hx_redirect, is_htmx, render_page_or_partial
from app.i18n import case_action_label
from app.inputs import as_id
from app.models import Attachment, OrgUnit, User
from app.services.engine import access, case_actions
from app.services.infrastructure import uploads
from app.services.read_models import case_view, plain_rows, queues

bp = Blueprint("cases", __name__)

def _load(reference: str):
    case = access.get_case_for(current_user._get_current_object(), reference)
    if case is None:
        abort(404)
    return case


def _detail_context(case, form=None, failed=None, open_action=None):
    """Everything the one case page shows: the header, the kind's panel (`CaseKind.panel`
    with its `panel_values`), the timeline (internal rows for those who may see them) and
    one form per action the workflow table allows the user now."""
    user = current_user._get_current_object()  # the rules below read it many times
    allowed = case_actions.available(user, case)
    internal = access.sees_internal(user, case)
    kind = kinds.get(case.kind)
    ctx = {
        "case": case,
        "kind": kind,
        "header": case_view.header(case),
        "timeline": queues.timeline(case, internal=internal),
        "allowed": allowed,
        "form": form,
        "failed": failed,
        # every refusal is announced in the page's alert (role="alert"); one that names a
        # field is also said beside it, in the form of the action tried, when that is shown
        "error": failed.message if failed is not None else None,
        "open_action": open_action,
        "sees_internal": internal,
        "panel": case_view.panel_values(case, user),
    }
    # The choice lists show ids and names: plain rows, not ORM objects (a Division's
    # colleagues and the office tree are dozens to hundreds of them).
    needs = {t.needs for t in allowed}
    if "office" in needs:
        ctx["offices"] = plain_rows.all_rows(
            access.transfer_targets(case).with_only_columns(OrgUnit.id, OrgUnit.name_in(), OrgUnit.kind))
    if "external" in needs:
        ctx["externals"] = plain_rows.all_rows(
            access.external_authorities().with_only_columns(OrgUnit.id, OrgUnit.name_in()))
    if "user" in needs:
        ctx["colleagues"] = [u for u in plain_rows.all_rows(
            access.colleagues(case).with_only_columns(User.id, User.name)) if u.id != case.assignee_id]
    return ctx


def _page(case, status=200, **kw):
    return render_page_or_partial("cases/detail.html", "cases/_case_panel.html", status=status,
                                  **_detail_context(case, **kw))


@bp.route("/<reference>")
@login_required
def detail(reference):
    """THE case page of every kind: header, the kind's panel, timeline, and the actions
    the signed-in user may take."""
    return _page(_load(reference))


def moved_to_case_page(case):
    """An old address of a case's page (`/helpdesk/<ref>`, `/interactions/<ref>`,
    `/doorstep/<ref>`, handed out by messages and bookmarks) answers a permanent redirect
    to the one case page, with its query string. The caller has checked that the user
    may see the case (404 otherwise, as before)."""
    url = url_for("cases.detail", reference=case.reference)
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return redirect(url, code=301)


@bp.route("/<reference>/act", methods=["POST"])
@login_required
def act(reference):
    """Take one workflow action of any kind. Without JavaScript: 303 to the case page;
    with htmx: the panel. A refusal re-renders the panel with the text kept and the
    message beside the field, with the status of `app.failures.failure`."""
    case = _load(reference)
    form = ActionForm()
    action = form.action.data or ""
    if not form.validate():
        return _failed(case, form, MissingInput())
    upload, upload_error = uploads.read_checked(request.files.get("attachment"))
    if upload_error:
        return _failed(case, form, None, Failure(422, "attachment", upload_error))
    done_label = case_action_label(action, case)  # named before the case moves
    try:
        case_actions.perform(case, action, current_user._get_current_object(), datetime.utcnow(),
                             version=as_id(form.version.data), text=form.text.data or "",
                             office_id=form.office.data, user_id=form.user.data,
                             uploads=[upload] if upload else [], inputs=form.inputs())
    except WorkflowError as exc:
        if isinstance(exc, ChangedMeanwhile):
            db.session.refresh(case)
        return _failed(case, form, exc)
    flash(_("Done: %(action)s.", action=done_label), "success")
    if not access.can_view(current_user, case):
        return hx_redirect(url_for("cases.queue"))
    if is_htmx():
        db.session.refresh(case)
        return _page(case)
    return redirect(url_for("cases.detail", reference=case.reference), code=303)


def _failed(case, form, exc, failed: Failure | None = None):
    failed = failed or failure(exc)
    return _page(case, status=failed.status, form=form, failed=failed,
                 open_action=form.action.data)


@bp.route("/<reference>/attachments/<id:attachment_id>")
@login_required
def attachment(reference, attachment_id):
    """Download an attachment of a case the user may see (never served from static/)."""
    case = _load(reference)
    att = db.session.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                     Attachment.case_id == case.id))
    if att is None:
        abort(404)
    if att.event is not None and not att.event.public and not access.sees_internal(current_user, case):
        abort(404)
    try:
        source, size = uploads.open_stored(att)
    except FileNotFoundError:
        abort(404)
    except uploads.StoreFailed:
        abort(503)
    return send_stored_file(source, mimetype=att.content_type, download_name=att.original_name, size=size)
