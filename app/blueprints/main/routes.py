"""Landing page, home pages per level, language switch."""

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.i18n import LOCALE_COOKIE
from app.inputs import safe_next
from app.services import overview

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    """Public landing page, or the signed-in employee's home for their level."""
    if not current_user.is_authenticated:
        return render_template("main/landing.html")
    office = current_user.office
    return render_template(
        "main/home.html",
        office=office,
        queue=overview.office_queue_counts(office.id),
        subtree=overview.subtree_status_counts(office),
        mine=overview.my_raised_counts(current_user.id, office.id),
    )


@bp.route("/language", methods=["POST"])
def set_language():
    """Remember the chosen language (cookie, and the profile when signed in)."""
    lang = request.form.get("lang", "")
    back = safe_next(request.form.get("next")) or url_for("main.index")
    resp = make_response(redirect(back, code=303))
    if lang in current_app.config["LANGUAGES"]:
        resp.set_cookie(LOCALE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax",
                        httponly=True, secure=current_app.config["SESSION_COOKIE_SECURE"])
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return resp


@bp.route("/favicon.ico")
def favicon():
    """The icon browsers ask for at the root whatever the page links (no 404 per page)."""
    return current_app.send_static_file("favicon.ico")


@bp.route("/healthz")
def healthz():
    """Liveness probe for a load balancer (no data)."""
    from sqlalchemy import text

    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
