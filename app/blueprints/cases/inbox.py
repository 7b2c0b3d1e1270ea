"""The inbox: the signed-in office's queue, searchable and filtered, and its CSV export.
On the `cases` blueprint (`app.blueprints.cases.routes`), beside the case page."""

from flask import current_app, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.cases.forms import QueueFilterForm
from app.blueprints.cases.routes import bp
from app.domain import workflow as wf
from app.exports import download
from app.htmx import render_page_or_partial
from app.i18n import KIND_LABELS, STATUS_LABELS, label_choices
from app.inputs import as_id
from app.read_only import in_transaction
from app.services import access, queues

ALL_STATUSES = ("", _l("All statuses"))  # the filters' first choices
ALL_KINDS = ("", _l("All kinds"))


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


