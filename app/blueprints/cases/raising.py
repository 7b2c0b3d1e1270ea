"""The raise page of a kind that has no front door of its own: `/cases/new/<kind>`.

A kind whose registry entry says `raise_endpoint="cases.new"` is raised here with the form
its entry names (`CaseKind.form`, "module:Class"): a Flask-WTF form with `subject` and
`description` (and, if it likes, `submission_key`, and a `target_office(user)` method naming
the office the case goes to — the raising employee's own office otherwise). The built-in
kinds keep their own raise pages, which carry rules of their own (pincode lookup, the
out-of-scope hint, recipients)."""

from __future__ import annotations

import secrets
from datetime import datetime
from importlib import import_module

from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.blueprints.cases.routes import bp
from app.domain import kinds
from app.htmx import hx_redirect, render_page_or_partial
from app.services.engine import access, cases

ENDPOINT = "cases.new"


def _kind_raised_here(code: str) -> kinds.CaseKind:
    kind = kinds.find(code)
    if kind is None or kind.raise_endpoint != ENDPOINT or not kind.form:
        abort(404)
    return kind


def _form_of(kind: kinds.CaseKind):
    module, _sep, name = kind.form.partition(":")
    return getattr(import_module(module), name)()


@bp.route("/new/<kind_code>", methods=["GET", "POST"])
@login_required
def new(kind_code):
    """Raise a case of a registered kind with its own form; then its page (the one case
    page). Errors stay beside their fields with everything typed kept."""
    kind = _kind_raised_here(kind_code)
    if not access.may_raise(current_user._get_current_object(), kind):
        abort(403)
    form = _form_of(kind)
    key = getattr(form, "submission_key", None)
    if not form.is_submitted():
        if key is not None:
            key.data = secrets.token_urlsafe(16)
        return render_page_or_partial("cases/new.html", "cases/_new_form.html", form=form, kind=kind)
    if not form.validate():
        return render_page_or_partial("cases/new.html", "cases/_new_form.html", status=422,
                                      form=form, kind=kind)
    user = current_user._get_current_object()
    target = form.target_office(user) if hasattr(form, "target_office") else user.office
    case = cases.raise_case(kind.code, office=target, now=datetime.utcnow(), actor=user,
                            subject=form.subject.data or "", description=form.description.data or "",
                            submission_key=(key.data or None) if key is not None else None)
    flash(_("Registered: %(ref)s.", ref=case.reference), "success")
    return hx_redirect(url_for("cases.detail", reference=case.reference))
