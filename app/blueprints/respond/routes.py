"""Signed links for requesters without an account (any kind of case): accept, reject
or ask for clarification on a proposed resolution, provide requested information,
and rate the resolution once after closure — all through the case engine as the
requester. The link is the credential; an invalid or expired one answers 404."""

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.blueprints.respond.forms import RespondForm
from app.domain import workflow as wf
from app.domain.errors import ChangedMeanwhile, WorkflowError
from app.extensions import db, limiter
from app.failures import failure
from app.htmx import render_page_or_partial
from app.i18n import action_label, current_locale
from app.inputs import as_id
from app.models import Case, CaseEvent, Feedback
from app.services.engine import cases, notify
from app.services.infrastructure import uploads
from app.services.infrastructure.tokens import load_case_token

bp = Blueprint("respond", __name__)

# Requester actions this page offers, in display order.
OFFERED = ("accept", "clarify", "reject", "provide_info", "requester_reply", "rate")


def _case_for(token: str) -> Case:
    data = load_case_token(token, "respond")
    if not data:
        abort(404)
    case = db.session.get(Case, data.get("id"))
    if case is None or case.reference != data.get("ref"):
        abort(404)
    return case


def _context(case: Case, token: str, form=None, error=None, open_action=None):
    allowed = [t for t in wf.available(case.kind, case.status, {wf.REQUESTER}, facts=wf.facts_of(case))
               if t.action in OFFERED]
    rated = db.session.scalar(select(Feedback).where(Feedback.case_id == case.id))
    if rated is not None:
        allowed = [t for t in allowed if t.action != "rate"]
    allowed.sort(key=lambda t: OFFERED.index(t.action))
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                        CaseEvent.public.is_(True))
                                .order_by(CaseEvent.id)).all()
    asked = next((e for e in reversed(events) if e.type in ("propose_resolution", "request_info")), None)
    return {"case": case, "token": token, "allowed": allowed, "events": events, "asked": asked,
            "rated": rated, "form": form or RespondForm(), "error": error, "open_action": open_action}


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def respond(token):
    """The requester's page for one case: where it stands, and what they may answer."""
    case = _case_for(token)
    if request.method == "GET":
        return render_page_or_partial("respond/respond.html", "respond/_respond.html",
                                      **_context(case, token))
    form = RespondForm()
    action = form.action.data or ""
    if not form.validate() or action not in OFFERED:
        return _failed(case, token, form, _("Please fill in the required details for this action."))
    upload, upload_error = (uploads.read_checked(request.files.get("attachment"))
                            if action == "provide_info" else (None, None))
    if upload_error:
        form.attachment.errors = [upload_error]
        return _failed(case, token, form, None)
    data = {}
    if action == "rate":
        data = {"rating": form.rating.data, "comment": form.text.data or ""}
    version = as_id(form.version.data)
    notify.set_requester_locale([case], current_locale())  # later messages: this page's language
    try:
        cases.act(case, action, now=datetime.utcnow(), as_=wf.REQUESTER, expected_version=version,
                  text="" if action == "rate" else (form.text.data or ""), data=data,
                  uploads=[upload] if upload else [])
    except WorkflowError as exc:  # the one mapping of the case page and the API
        if isinstance(exc, ChangedMeanwhile):
            db.session.refresh(case)
        failed = failure(exc)
        if failed.status == 422 and failed.field in ("text", "rating"):  # beside its field
            getattr(form, failed.field).errors = [failed.message]
            return _failed(case, token, form, None, failed.status)
        return _failed(case, token, form, failed.message, failed.status)
    flash(_("Thank you. Recorded: %(action)s.", action=action_label(action)), "success")
    return redirect(url_for("respond.respond", token=token), code=303)


def _failed(case, token, form, error, status=422):
    return render_page_or_partial("respond/respond.html", "respond/_respond.html", status=status,
                                  **_context(case, token, form=form, error=error,
                                             open_action=form.action.data))
