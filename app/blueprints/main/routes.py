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
    needs, actions = what_needs_me_now(current_user)
    return render_template(
        "main/home.html",
        office=office, needs=needs, actions=actions,
        queue=overview.office_queue_counts(office.id),
        subtree=overview.subtree_status_counts(office),
        mine=overview.my_raised_counts(current_user.id, office.id),
    )


def what_needs_me_now(user) -> tuple[list[dict], list[dict]]:
    """The home page's "what needs me now": a count per queue of the user's Inbox (each a
    link to that queue; the seeds' own names), and the role's main action(s): Add Ticket
    for a Sub/Head Office, Log a call for the helpdesk, the pending views for a Division,
    the dashboard for a Region, Circle or CEPT. Only what the menu shows the user."""
    from sqlalchemy import func, select

    from app.blueprints.complaints.routes import QUEUE_LABELS
    from app.domain import workflow as wf
    from app.models import Case
    from app.nav import staff_links
    from app.services import citizen, complaints, helpdesk, interactions, tickets

    links = {link["endpoint"]: link for link in staff_links(user)}

    def count(q) -> int:
        return db.session.scalar(select(func.count()).select_from(q.subquery())) or 0

    def need(endpoint, n, label=None, **args):
        return {"endpoint": endpoint, "n": n, "label": label or links[endpoint]["label"],
                "url": url_for(endpoint, **args)}

    needs = []
    if "citizen.office_queue" in links:
        needs.append(need("citizen.office_queue", citizen.waiting_count(user)))
    if "tickets.pending" in links:
        needs.append(need("tickets.pending", tickets.pending_count(user)))
    if "complaints.processing" in links:
        counts = complaints.queue_counts(user)
        needs += [need("complaints.processing", counts[key], str(QUEUE_LABELS[key]), queue=key)
                  for key in complaints.QUEUE_KEYS]
    if "helpdesk.queue" in links:
        needs.append(need("helpdesk.queue", count(helpdesk.team_queue(user))))
    if "helpdesk.log" in links:
        needs.append(need("helpdesk.log", count(helpdesk.desk_log(user).where(Case.status != wf.CLOSED))))
    if "interactions.cartable" in links:
        needs.append(need("interactions.cartable", interactions.cartable_count(user)))

    kind = user.office.kind
    if user.has_role("helpdesk") and "helpdesk.new" in links:
        main = ["helpdesk.new"]
    elif "tickets.new" in links:
        main = ["tickets.new"]
    elif kind == "division":
        main = [e for e in ("citizen.office_queue", "tickets.pending", "complaints.processing") if e in links]
    elif kind in ("region", "circle", "cept") and "monitoring.dashboard" in links:
        main = ["monitoring.dashboard"]
    else:
        main = [next((n["endpoint"] for n in needs), "cases.queue")]
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
