"""Sign in, sign out, change password."""

from datetime import datetime

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from app.blueprints.auth.forms import ChangePasswordForm, LoginForm, PreferencesForm
from app.extensions import db, limiter
from app.i18n import LOCALE_COOKIE
from app.inputs import safe_next
from app.services.infrastructure import auth as auth_service
from app.services.read_models import summary

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute; 200 per hour", methods=["POST"])
def login():
    """Sign in with Employee ID / Facility ID and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    retry_after = None
    if form.validate_on_submit():
        now, ip = datetime.utcnow(), request.remote_addr or ""
        user = auth_service.authenticate(form.login_id.data, form.password.data, now, ip=ip)
        if user is not None:
            lang = session.get("lang")
            session.clear()  # a fresh session on sign-in
            if lang:
                session["lang"] = lang
            login_user(user)
            # The language chosen before signing in (the switcher's cookie) becomes the
            # saved preference: e-mails and SMS to the employee follow it (issue 25 item 2).
            auth_service.remember_locale(user, request.cookies.get(LOCALE_COOKIE) or lang)
            if user.must_change_password:
                flash(_("Please choose a new password before you continue."), "info")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
        until = auth_service.lockout(form.login_id.data, ip, now)
        if until is None:
            flash(_("Sign-in failed: the ID or password is wrong, or the account is locked."), "error")
            status = 401
        else:
            # Said to whoever tries this id from this network (an unknown id locks the
            # same way, so this reveals nothing): the real employee learns how long to
            # wait, and whom to ask instead.
            minutes = auth_service.minutes_left(until, now)
            flash(ngettext("Too many attempts. Try again in %(num)d minute, or ask your office's "
                           "administrator to unlock your account.",
                           "Too many attempts. Try again in %(num)d minutes, or ask your office's "
                           "administrator to unlock your account.", minutes), "error")
            status, retry_after = 429, minutes * 60
    elif request.method == "POST":
        status = 422
    resp = make_response(render_template("auth/login.html", form=form), status)
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out. The session token is rotated, so a copied session cookie stops working
    too (this signs the user out on every device)."""
    auth_service.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other sessions are signed out."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if auth_service.change_password(current_user, form.current.data, form.new.data,
                                        datetime.utcnow()):
            login_user(current_user._get_current_object())  # token changed: re-issue this session
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("main.index"))
        form.current.errors.append(_("The current password is wrong."))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form), status


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    """One's own preferences: the weekly monitoring summary (Circle and Region heads)."""
    user = current_user._get_current_object()
    is_head = summary.is_head(user)
    form = PreferencesForm(data={"weekly_summary": user.weekly_summary})
    if form.validate_on_submit():
        user.weekly_summary = bool(form.weekly_summary.data)
        db.session.commit()
        flash(_("Your preferences have been saved."), "success")
        return redirect(url_for("auth.preferences"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/preferences.html", form=form, is_head=is_head), status
