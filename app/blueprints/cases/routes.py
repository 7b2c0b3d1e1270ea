"""The shared office-side case page: detail with timeline, workflow actions and
attachment downloads. Every front door's cases open here. The inbox (the queue and its
views) is `app.blueprints.cases.inbox`, on the same blueprint."""

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
from app.domain.errors import ChangedMeanwhile, MissingInput, NotAllowed, WorkflowError
from app.exports import send_stored_file
from app.extensions import db
from app.htmx import is_htmx, render_page_or_partial
from app.i18n import case_action_label, error_message
from app.inputs import as_id
from app.models import Attachment, OrgUnit, User
from app.services import access, case_view, cases, plain_rows, queues, uploads

bp = Blueprint("cases", __name__)

def _load(reference: str):
    case = access.get_case_for(current_user._get_current_object(), reference)
    if case is None:
        abort(404)
    return case


def _detail_context(case, form=None, error=None, open_action=None):
    user = current_user._get_current_object()  # the rules below read it many times
    allowed = cases.available_actions(user, case)
    internal = access.sees_internal(user, case)
    ctx = {
        "case": case,
        "header": case_view.header(case),
        "timeline": queues.timeline(case, internal=internal),
        "allowed": allowed,
        "form": form,
        "error": error,
        "open_action": open_action,
        "sees_internal": internal,
        "feedback": None,
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


@bp.route("/<reference>")
@login_required
def detail(reference):
    """A case with its timeline and the actions the signed-in user may take."""
    case = _load(reference)
    return render_page_or_partial("cases/detail.html", "cases/_case_panel.html",
                                  **_detail_context(case))


@bp.route("/<reference>/act", methods=["POST"])
@login_required
def act(reference):
    """Take one workflow action. Errors re-render the page with the text kept."""
    case = _load(reference)
    form = ActionForm()
    if not form.validate():
        return _failed(case, form, MissingInput(), 422)
    target_office = None
    if as_id(form.office.data) is not None:
        target_office = db.session.get(OrgUnit, as_id(form.office.data))
    target_user = None
    if as_id(form.user.data) is not None:
        target_user = db.session.get(User, as_id(form.user.data))
    upload, upload_error = uploads.read_checked(request.files.get("attachment"))
    if upload_error:
        form.attachment.errors = [upload_error]
        return _failed(case, form, None, 422)
    done_label = case_action_label(form.action.data, case)  # named before the case moves
    try:
        cases.act(case, form.action.data, actor=current_user, now=datetime.utcnow(),
                  expected_version=as_id(form.version.data),
                  text=form.text.data or "", target_office=target_office, target_user=target_user,
                  uploads=[upload] if upload else [])
    except ChangedMeanwhile as exc:
        db.session.refresh(case)
        return _failed(case, form, exc, 409)
    except NotAllowed as exc:
        return _failed(case, form, exc, 403)
    except WorkflowError as exc:
        return _failed(case, form, exc, 422)
    flash(_("Done: %(action)s.", action=done_label), "success")
    if is_htmx():
        db.session.refresh(case)
        if not access.can_view(current_user, case):
            from app.htmx import hx_redirect

            return hx_redirect(url_for("cases.queue"))
        return render_page_or_partial("cases/detail.html", "cases/_case_panel.html",
                                      **_detail_context(case))
    if not access.can_view(current_user, case):
        return redirect(url_for("cases.queue"), code=303)
    return redirect(url_for("cases.detail", reference=case.reference), code=303)


def _action_name(action: str) -> str:
    from app.i18n import action_label

    return action_label(action)


def _failed(case, form, exc, status):
    error = error_message(exc) if exc is not None else None
    return render_page_or_partial("cases/detail.html", "cases/_case_panel.html", status=status,
                                  **_detail_context(case, form=form, error=error,
                                                    open_action=form.action.data))


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
    return send_stored_file(uploads.path_of(att), mimetype=att.content_type,
                            download_name=att.original_name)
