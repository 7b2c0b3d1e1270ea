"""Landing page, home pages per level, language switch."""

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.i18n import LOCALE_COOKIE
from app.inputs import safe_next
from app.services.read_models import overview

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    """Public landing page, or the signed-in employee's home for their level."""
    if not current_user.is_authenticated:
        return render_template("main/landing.html")
    office = current_user.office
    needs, actions = what_needs_me_now(current_user)
    return render_template(
        "main/home.html",
        office=office, needs=needs, actions=actions,
        queue=overview.office_queue_counts(office.id),
        subtree=overview.subtree_status_counts(office),
        mine=overview.my_raised_counts(current_user.id, office.id),
    )


def what_needs_me_now(user) -> tuple[list[dict], list[dict]]:
    """The home page's "what needs me now": each of the user's inbox views that holds
    work (the seeds' own names), with its count (one statement) and a link to it, and the
    role's main action(s): Add Ticket for a Sub/Head Office, Log a call for the helpdesk,
    the pending views for a Division, the dashboard for a Region, Circle or CEPT. Only
    what the menu shows the user."""
    from datetime import datetime

    from app.nav import staff_links
    from app.services.read_models import views

    links = {link["key"]: link for link in staff_links(user)}
    shown = [v for v in views.visible_to(user) if v.needs]
    counts = views.counts(user, datetime.utcnow(), only=shown)

    def view_key(slug: str) -> str:
        return "cases.queue?view=" + slug

    needs = [{"endpoint": view_key(v.slug), "n": counts[v.slug], "label": str(v.label),
              "url": url_for("cases.queue", view=v.slug)} for v in shown]

    kind = user.office.kind
    if user.has_role("helpdesk") and "helpdesk.new" in links:
        main = ["helpdesk.new"]
    elif "tickets.new" in links:
        main = ["tickets.new"]
    elif kind == "division":
        main = [view_key(v) for v in ("doorstep", "tickets-pending", "complaints")]
    elif kind in ("region", "circle", "cept") and "monitoring.dashboard" in links:
        main = ["monitoring.dashboard"]
    else:
        main = [next((n["endpoint"] for n in needs), view_key(views.OFFICE))]
    actions = [{"label": links[e]["label"], "url": links[e]["url"], "endpoint": e} for e in main if e in links]
    return needs, actions


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
