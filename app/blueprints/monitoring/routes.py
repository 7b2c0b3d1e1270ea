"""Monitoring dashboard: tiles, breakdowns with drill-down, trend, exports and the
filtered case list behind every number. Read-only; scoped to the signed-in user's
jurisdiction by `app.services.engine.access`."""

from __future__ import annotations

from datetime import datetime
from functools import wraps
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.auth.decorators import role_required
from app.blueprints.monitoring.forms import DashboardFilterForm
from app.domain import kinds
from app.exports import download
from app.htmx import is_htmx, render_page_or_partial
from app.i18n import text_direction
from app.inputs import as_id
from app.nav import add_staff_link
from app.services.engine import access
from app.services.read_models import charts, dashboards, league, queues
from app.services.read_models.memo import per_request

bp = Blueprint("monitoring", __name__)

# The oversight roles watch every kind; a Region, Circle or CEPT employee without one
# watches the kinds the registry lets their level watch (doorstep requests, seed 001):
# the dashboard filtered to those kinds (`access.dashboard_kinds`).
add_staff_link("monitoring.dashboard", _l("Dashboard"), visible=access.may_monitor, order=30)

monitor_required = role_required(*access.OVERSIGHT_ROLES)  # the league: every kind, no filter


def watch_required(view):
    """Signed in and watching some kind on the dashboard (403 otherwise)."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not access.may_monitor(current_user):
            from app.extensions import db
            from app.services.infrastructure import audit

            audit.record("denied", actor=current_user, target=view.__name__)
            db.session.commit()
            abort(403)
        return view(*args, **kwargs)

    return wrapped


bp.add_app_template_global(dashboards.age_label, "age_label")


@bp.app_template_global("dash_href")
def dash_href(endpoint: str, **args) -> str:
    """`url_for(endpoint, **args)` for the dashboard's query-string-only endpoints, with
    the endpoint's URL built once per request: the tables link every number, and
    building a hundred URLs through the URL map was a good part of the page's time.
    Arguments that are None are left out, as url_for does."""
    base = per_request(("dash_href", endpoint), lambda: url_for(endpoint))
    query = [(k, v) for k, v in args.items() if v is not None]
    return f"{base}?{urlencode(query, safe=URL_SAFE)}" if query else base


URL_SAFE = "!$'()*,/:;?@"  # as werkzeug's url_for leaves them
VIEW_ARGS = ("office", "date_from", "date_to", "category", "priority", "days")  # besides `kind`


def _now() -> datetime:
    return datetime.utcnow()


def _scope():
    """The office the view covers (`?office=`), or 404 when it is not the user's."""
    raw = request.args.get("office", "")
    office_id = as_id(raw)
    if raw and office_id is None:  # not an id ("²", 30 digits): no such office
        abort(404)
    scope = dashboards.scope_for(current_user, office_id)
    if scope is None:
        abort(404)
    return scope


def _filters() -> tuple[DashboardFilterForm, dashboards.Filters]:
    """Parse the filter form; a field with an error is shown with its message and
    left out of the view (the rest still applies)."""
    kind = request.args.get("kind") or None
    watched = access.dashboard_kinds(current_user)
    if watched is not None and kind not in watched:
        kind = watched[0]  # a user who watches some kinds only sees one of them (see dashboard())
    form = DashboardFilterForm(request.args, categories=dashboards.category_choices(
        kind if kinds.find(kind) is not None else None), kinds=watched)
    if watched is not None:
        form.kind.data = kind
    form.validate()
    ok = {name: not getattr(form, name).errors for name in ("date_from", "date_to", "kind", "category",
                                                            "priority")}
    days = as_id(request.args.get("days", "30"))
    f = dashboards.Filters(
        date_from=form.date_from.data if ok["date_from"] else None,
        date_to=form.date_to.data if ok["date_to"] and ok["date_from"] else None,
        kind=(form.kind.data or None) if ok["kind"] else None,
        category_id=as_id(form.category.data) if ok["category"] else None,
        priority=(form.priority.data or None) if ok["priority"] else None,
        days=days if days in dashboards.TREND_DAYS else 30,
    )
    return form, f


def _args(scope, f, **extra) -> dict:
    """Query arguments that rebuild the current view (office + filters)."""
    args = f.as_args()
    if scope.id != current_user.office_id:
        args["office"] = scope.id
    args.update({k: v for k, v in extra.items() if v is not None})
    return args


def _context(scope, form, f):
    view = dashboards.build_view(current_user, scope, f, _now())
    return {"view": view, "form": form, "args": _args(scope, f), "labels": dashboards.tile_labels(),
            "tile_keys": dashboards.TILE_KEYS, "trend_days": dashboards.TREND_DAYS,
            "sees_league": current_user.has_role(*access.OVERSIGHT_ROLES)}


@bp.route("/")
@watch_required
def dashboard():
    """The dashboard for the user's jurisdiction or an office below it (drill-down),
    for every kind or filtered to one (`?kind=`; the doorstep monitoring of seed 001 is
    `?kind=service_request`)."""
    watched = access.dashboard_kinds(current_user)
    if watched is not None and request.args.get("kind") not in watched:
        # Someone who watches only some kinds: the URL names the kind they see.
        # (Only the dashboard's own arguments: `?_method=`/`?_scheme=` must not reach url_for.)
        kept = {k: v for k, v in request.args.items() if k in VIEW_ARGS and v}
        return redirect(url_for("monitoring.dashboard", **kept, kind=watched[0]))
    scope = _scope()
    form, f = _filters()
    return render_page_or_partial("monitoring/dashboard.html", "monitoring/_dashboard.html",
                                  **_context(scope, form, f))


@bp.route("/tiles")
@watch_required
def tiles():
    """The tiles alone, polled every minute by the dashboard."""
    scope = _scope()
    _form, f = _filters()
    if not is_htmx():
        return redirect(url_for("monitoring.dashboard", **_args(scope, f)))
    now = _now()
    resp = render_template("monitoring/_tiles.html", args=_args(scope, f), labels=dashboards.tile_labels(),
                           tile_keys=dashboards.TILE_KEYS,
                           view={"tiles": dashboards.tiles(scope, f, now),
                                 "rating": dashboards.rating(scope, f), "generated_at": now})
    return Response(resp, headers={"Vary": "HX-Request", "Cache-Control": "no-store"})


@bp.route("/cases")
@watch_required
def case_list():
    """The cases behind a number of the dashboard (same filters, same scope)."""
    scope = _scope()
    form, f = _filters()
    key = request.args.get("show") or None
    age = request.args.get("age") or None
    if key is not None and key not in dashboards.LIST_KEYS:
        abort(404)
    if age is not None and age not in {b for b, _lo, _hi in dashboards.AGE_BUCKETS}:
        abort(404)
    uncategorized = request.args.get("nocat") == "1"
    q = dashboards.case_list(current_user, scope, f, _now(), key=key, age=age,
                             uncategorized=uncategorized)
    page = queues.row_page(q, request.args.get("after"))
    # render_page_or_partial() names its first parameter `page`, which the shared rows
    # partial also needs: choose the template here instead.
    template = "cases/_case_rows.html" if is_htmx() else "monitoring/cases.html"
    html = render_template(
        template, page=page, scope=scope, form=form, filters=f, key=key, age=age,
        uncategorized=uncategorized, labels=dashboards.tile_labels(),
        back=url_for("monitoring.dashboard", **_args(scope, f)),
        categories=dashboards.categories_by_id([f.category_id]))
    return Response(html, headers={"Vary": "HX-Request"})


@bp.route("/export.<fmt>")
@watch_required
def export(fmt):
    """The current view (office + filters) as CSV or XLSX."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    scope = _scope()
    _form, f = _filters()
    view = dashboards.build_view(current_user, scope, f, _now())
    stamp = view.generated_at.strftime("%Y%m%d-%H%M")
    name = f"dashboard-{scope.code}-{stamp}.{fmt}"
    if fmt == "csv":
        return download(dashboards.export_csv(view), name, "text/csv")
    return download(dashboards.export_xlsx(view), name,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---- where to act: league table, charts, heat table (issue 27) ----------------------------

def _league_args(scope, period: str, sort: str | None = None, descending: bool | None = None) -> dict:
    args = {}
    if scope.id != current_user.office_id:
        args["office"] = scope.id
    if period != "week":
        args["period"] = period
    if sort is not None and (sort, descending) != ("index", league.worst_first("index")):
        args["sort"] = sort
        args["dir"] = "desc" if descending else "asc"
    return args


def _league_request():
    """(scope, period, sort, descending) from the query string; unknown values: 404."""
    scope = _scope()
    period = request.args.get("period", "week")
    sort = request.args.get("sort", "index")
    direction = request.args.get("dir")
    if period not in league.PERIODS or sort not in league.COLUMNS or direction not in (None, "asc", "desc"):
        abort(404)
    descending = league.worst_first(sort) if direction is None else direction == "desc"
    return scope, period, sort, descending


@bp.route("/league")
@monitor_required
def league_table():
    """Where to act: the offices one level down ranked (worst first by default), the
    charts of the index, of pending beyond SLA and of SLA compliance by week, and the
    heat table of category x office. Links only: no JavaScript needed."""
    scope, period, sort, descending = _league_request()
    now = _now()
    table, heat = league.league_and_heat(scope, period, now, sort=sort, descending=descending)
    rtl = text_direction() == "rtl"
    weeks = league.weekly_compliance(scope, now)
    ctx = {
        "lg": table, "heat": heat, "weeks": weeks,
        "trail": dashboards.trail(current_user, scope), "root": current_user.office,
        "args": _league_args(scope, period, sort, descending), "periods": league.PERIODS,
        "period": period, "columns": league.COLUMNS, "weights": league.INDEX_WEIGHTS,
        "worst_first": league.worst_first, "league_args": lambda **kw: _league_args(scope, **kw),
        "index_chart": charts.bars([(r.name, r.now.index) for r in table.rows], top=100, rtl=rtl),
        "pending_chart": charts.bars([(r.name, r.now.pending) for r in table.rows], rtl=rtl),
        "weeks_chart": charts.columns_chart(
            [(a, round(100 * s / c, 1) if c else None) for a, _b, c, s in weeks], rtl=rtl),
        "rising": league.rising, "rising_min": league.RISING_MIN, "figure_keys": list(league.FIGURE_KEYS),
        "labels_for_columns": league.column_labels, "period_labels": league.period_labels,
        "index_part_labels": league.index_part_labels,
    }
    return render_template("monitoring/league.html", **ctx)


@bp.route("/league.<fmt>")
@monitor_required
def league_export(fmt):
    """The league table and the heat table as CSV or XLSX (what the page shows)."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    scope, period, sort, descending = _league_request()
    now = _now()
    table, heat = league.league_and_heat(scope, period, now, sort=sort, descending=descending)
    sections = league.export_sections(table, heat)
    name = f"league-{scope.code}-{period}-{now.strftime('%Y%m%d-%H%M')}.{fmt}"
    if fmt == "csv":
        return download(league.to_csv(sections), name, "text/csv")
    return download(league.to_xlsx(sections), name,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
