"""The office queue and THE case page of every kind: detail with the kind's panel and
timeline, the one `act` endpoint for every workflow action of every kind, the redirect
of a front door's old page address, and attachment downloads."""

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from app.blueprints.cases.forms import ActionForm, QueueFilterForm
from app.domain import kinds
from app.domain import workflow as wf
from app.domain.errors import ChangedMeanwhile, MissingInput, WorkflowError
from app.exports import download, send_stored_file
from app.extensions import db
from app.failures import Failure, failure
from app.htmx import hx_redirect, is_htmx, render_page_or_partial
from app.i18n import KIND_LABELS, STATUS_LABELS, case_action_label, label_choices
from app.inputs import as_id
from app.models import Attachment, OrgUnit, User
from app.read_only import in_transaction
from app.services import access, case_actions, case_view, plain_rows, queues, uploads

bp = Blueprint("cases", __name__)
ALL_STATUSES = ("", _l("All statuses"))  # the filters' first choices
ALL_KINDS = ("", _l("All kinds"))

def _load(reference: str):
    case = access.get_case_for(current_user._get_current_object(), reference)
    if case is None:
        abort(404)
    return case


def _queue_filters():
    """The filter form of the signed-in office's queue and what it asks for:
    (form, search text, status, kind, open cases only)."""
    form = QueueFilterForm(request.args)
    form.status.choices = label_choices(STATUS_LABELS, ALL_STATUSES)
    form.kind.choices = label_choices(KIND_LABELS, ALL_KINDS)
    status = form.status.data if form.status.data in STATUS_LABELS else None
    kind = form.kind.data if form.kind.data in KIND_LABELS else None
    # Without a status or a search, the working backlog: matches the partial index
    # ix_case_office_active.
    return form, form.q.data, status, kind, status is None and not form.q.data


def _queue_select(filters: tuple | None = None):
    """The filter form and the SELECT of the signed-in office's queue it describes."""
    form, text, status, kind, open_only = filters or _queue_filters()
    q = queues.apply_search(access.office_queue(current_user), text)
    if open_only:
        q = q.where(queues.Case.status != wf.CLOSED)
    return form, queues.apply_filters(q, status=status, kind=kind)


@bp.route("/")
@login_required
def queue():
    """The signed-in office's queue: cases it holds, newest first, searchable."""
    size = min(max(as_id(request.args.get("size")) or 25, 10), 100)
    cursor = request.args.get("after")
    filters = form, text, status, kind, open_only = _queue_filters()
    if (text or "").strip():
        page = queues.row_page(_queue_select(filters)[1], cursor, size=size)
    else:
        page = queues.office_row_page(current_user.office_id, status=status, kind=kind,
                                      open_only=open_only, cursor=cursor, size=size)
    return render_page_or_partial("cases/queue.html", "cases/_case_rows.html", form=form, page=page)


@bp.route("/export.csv")
@in_transaction  # streams through a server-side cursor
@login_required
def queue_csv():
    """The queue as the filters show it, every page of it, as a CSV download (streamed)."""
    _form, q = _queue_select()
    header = [_("Reference"), _("Kind"), _("Status"), _("Priority"), _("Subject"), _("Office"),
              _("Assignee"), _("Raised (UTC)"), _("Closed (UTC)"), _("SLA breached")]
    # Each label translated once, not once per row.
    kinds = {k: str(v) for k, v in KIND_LABELS.items()}
    statuses = {k: str(v) for k, v in STATUS_LABELS.items()}
    body = queues.export_csv(q, header, lambda k: kinds.get(k, k), lambda s: statuses.get(s, s),
                             max_rows=current_app.config["EXPORT_MAX_ROWS"])
    return download(stream_with_context(body), "queue.csv", "text/csv")


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
