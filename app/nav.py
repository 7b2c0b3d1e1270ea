"""Navigation registry: each blueprint adds its own links here when it is registered,
so the layout never needs editing when a front door is added.

The top menu is arranged by job (issue 24, item 4): Home, then at most four groups —
Inbox (the queues a person works and follows), New (what they can raise), Monitoring,
Administration — then the person's own menu: never more than six top entries. A link's
group is what its blueprint says (`add_staff_link(..., group=)`: the inbox's views are
Inbox), else the kinds registry (a kind's raise endpoint is New), else `JOB_OF` below. A group
with one link shows that link itself; an empty group is not shown.

Labels: sentence case ("My tickets", "Office queue"), except the names the seeds' users
know from their own screens, kept exactly as they write them ("Add Ticket", "Complaint
Processing", "Complaint Registration", "Reports & Analytics"; docs/workflows.md,
"Finding your way")."""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from cachetools import LRUCache, cached
from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape

from app.inputs import safe_next


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy_gettext string
    visible: Callable[[object], bool]
    badge_endpoint: str | None = None  # htmx-refreshed count, optional
    order: int = 50
    group: str | None = None  # "inbox", "new", "monitoring", "admin" (None: inferred)
    values: tuple = ()  # the link's query arguments ((name, value), …): an inbox view

    @property
    def key(self) -> str:
        """What tells this link from the others: its endpoint, with its arguments (the
        inbox's views share `cases.queue`: "cases.queue?view=cartable")."""
        return self.endpoint + ("?" + urlencode(self.values) if self.values else "")


# The top menu's groups, in order (Home comes first, the person's menu last).
INBOX, NEW, MONITORING, ADMIN = "inbox", "new", "monitoring", "admin"
GROUPS = ((INBOX, _l("Inbox")), (NEW, _l("New")), (MONITORING, _l("Monitoring")),
          (ADMIN, _l("Administration")))
# The group of the links that are neither a kind's raise nor its queue endpoint.
JOB_OF = {
    "cases.queue": INBOX, "complaints.reviews": INBOX,
    "monitoring.dashboard": MONITORING,
    "complaints.reports": MONITORING, "helpdesk.report": MONITORING,
    "admin.index": ADMIN,
}


STAFF_NAV: list[NavItem] = []
PUBLIC_LINKS: list[NavItem] = []  # cards on the public landing page (label, endpoint)


def add_staff_link(endpoint, label, visible=lambda u: True, badge_endpoint=None, order=50, group=None,
                   values=None):
    """Show a link in the signed-in navigation to users for whom `visible(user)` holds,
    in the top menu's `group` (None: see the module's docstring), with the query
    arguments `values` (a dict: an inbox view's `{"view": slug}`); its badge is
    `badge_endpoint` with the same arguments.
    `visible` may look only at the user's roles, active flag and office kind: the kept
    header (below) is rendered once for each combination of those."""
    item = NavItem(endpoint, label, visible, badge_endpoint, order, group, tuple(sorted((values or {}).items())))
    if not any(i.key == item.key for i in STAFF_NAV):
        STAFF_NAV.append(item)
        STAFF_NAV.sort(key=lambda i: i.order)
        clear_kept()


def _visibility_key(user) -> tuple:
    return (frozenset(user.roles), bool(user.active), user.office.kind)


def _visible_items(user) -> list[NavItem]:
    return [i for i in STAFF_NAV if i.visible(user)]


def add_public_link(endpoint, label, description, order=50):
    """A card on the public landing page."""
    if not any(i.endpoint == endpoint for i in PUBLIC_LINKS):
        PUBLIC_LINKS.append(NavItem(endpoint, label, lambda u: True, description, order))
        PUBLIC_LINKS.sort(key=lambda i: i.order)


FIXED_URLS_KEPT = 256


def case_url(reference: str) -> str:
    """`url_for("cases.detail", reference=…)` for the rows of a queue: the route's prefix is
    built once per mount point (`fixed_url`) and each reference appended, quoted the same way."""
    prefix = fixed_url("cases.detail", reference="_")[:-1]
    reference = str(reference)
    # References are letters, digits and dashes, which need no quoting.
    if reference.replace("-", "").isalnum() and reference.isascii():
        return prefix + reference
    return prefix + quote(reference, safe="")


def _fixed_url_key(endpoint: str, **values) -> tuple:
    return (request.script_root, endpoint, *sorted(values.items()))


# Least recently used first: a misuse with per-request values cannot grow it.
@cached(LRUCache(FIXED_URLS_KEPT), key=_fixed_url_key, lock=threading.Lock())
def fixed_url(endpoint: str, **values) -> str:
    """`url_for` for the links that depend on nothing but where the portal is mounted — the
    layout's links and assets on every page: each built once per mount point (the five of
    the layout cost 80–100 µs a page through the URL map, 15 kept). Not for URLs with
    per-request values (a reference, a cursor)."""
    return url_for(endpoint, **values)


def group_of(item: NavItem) -> str:
    """The top menu group of a link: its own, the kinds registry's, JOB_OF's, else Inbox."""
    if item.group:
        return item.group
    from app.domain import kinds

    for kind in kinds.all():
        if item.endpoint == kind.raise_endpoint:
            return NEW
    return JOB_OF.get(item.endpoint, INBOX)


def like(key: str) -> Callable[[object], bool]:
    """`visible` for a link shown to whoever sees the link `key` (`NavItem.key`, e.g. "Log
    a call" beside the helpdesk's "Calls logged" view), whichever blueprint registers it."""
    def visible(user) -> bool:
        return any(i.key == key and i.visible(user) for i in STAFF_NAV)
    return visible


def staff_menu(user) -> list[dict]:
    """The top menu for this kind of user (≤ 6 entries with the person's menu, which the
    template adds): Home, then each group that has links — a list of `items` (the
    `staff_links` dicts), or one link itself when the group has only one."""
    links = staff_links(user)
    items = {i.key: i for i in _visible_items(user)}
    menu = [{"job": "home", "label": str(_l("Home")), "url": url_for("main.index"),
             "endpoint": "main.index", "key": "main.index", "items": None, "endpoints": ("main.index",)}]
    for job, label in GROUPS:
        members = [link for link in links if group_of(items[link["key"]]) == job]
        if not members:
            continue
        if len(members) == 1:
            menu.append({**members[0], "job": job, "items": None,
                         "endpoints": (members[0]["key"],)})
        else:
            menu.append({"job": job, "label": str(label), "url": None, "items": members,
                         "endpoint": None, "key": None, "endpoints": tuple(m["key"] for m in members)})
    return menu


def staff_links(user) -> list[dict]:
    """The signed-in navigation's links (URLs built and labels translated) for this user
    under this mount point, in this language. Built when the kept header is rendered
    (and by the home page); their own per-kind-of-user cache measured no faster."""
    known = _known_endpoints()
    return [{"url": url_for(i.endpoint, **dict(i.values)), "label": str(i.label), "endpoint": i.endpoint,
             "key": i.key, "badge_id": COUNT_ID_PREFIX + i.key.replace(".", "-").replace("?view=", "-"),
             "badge_url": url_for(i.badge_endpoint, **dict(i.values)) if i.badge_endpoint else None}
            for i in _visible_items(user) if i.endpoint in known]


def _known_endpoints() -> set:
    """The app's endpoints: a link whose blueprint is not registered is not shown."""
    from flask import current_app

    return set(current_app.view_functions)


# ---- the layout's header, kept ----------------------------------------------------
# Every page renders the same header for the same signed-in kind of user, language and
# page; it was a tenth of a page's work. It is rendered from the values below alone (see
# _header.html) and kept under exactly them, so a renamed user or office, a changed role
# or another language is another key. The CSRF token differs per request: the kept HTML
# holds a placeholder, replaced on the way out.
Who = namedtuple("Who", "name office_name office_kind visibility")
_TOKEN_SLOT = "@@csrf-token@@"  # noqa: S105 - a placeholder, not a secret
HEADERS_KEPT = 512


@pass_context
def layout_header(ctx, token: str) -> Markup:
    """The skip link and the header of the layout (`_header.html`) for this request."""
    who = None
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        who = Who(user.name, user.office.label(ctx.get("html_lang")), user.office.kind, _visibility_key(user))
    # Only a safe local path goes into the language form (a 404 page's own path may be
    # `//evil.example`); the switcher checks it again when posted.
    next_path = safe_next(request.full_path if request.query_string else request.path) or ""
    html = _header_html(ctx.environment, ctx.get("html_lang"), request.script_root, who, _here(),
                        next_path, tuple(ctx.get("languages", {}).items()))
    return Markup(html.replace(_TOKEN_SLOT, str(escape(token))))  # noqa: S704 - autoescaped template


def _here() -> str | None:
    """The key of the page's own menu link: its endpoint, or for the inbox the view it
    shows (`request.inbox_view`, set by the inbox), as `NavItem.key` spells it."""
    view = getattr(request, "inbox_view", None)
    if view and request.endpoint:
        return f"{request.endpoint}?{urlencode({'view': view})}"
    return request.endpoint


_headers: LRUCache = LRUCache(HEADERS_KEPT)


@cached(_headers, lock=threading.Lock(), info=True)
def _header_html(env, lang, script_root, who, endpoint, next_path, languages) -> str:
    # script_root is in the key, not in the call: fixed_url reads it from the request.
    menu = staff_menu(current_user) if who else []  # the same user whose `who` this is
    return env.get_template("_header.html").render(
        html_lang=lang, who=who, menu=menu, endpoint=endpoint, next_path=next_path,
        languages=dict(languages), token=_TOKEN_SLOT)


def clear_kept() -> None:
    """Forget the kept headers (a test that changes the navigation)."""
    _header_html.cache_clear()


def init_app(app) -> None:
    app.jinja_env.globals["case_url"] = case_url
    app.jinja_env.filters["case_url"] = case_url  # a filter is called directly, a global through the context
    app.jinja_env.globals["fixed_url"] = fixed_url

    app.jinja_env.globals["layout_header"] = layout_header

    @app.context_processor
    def inject_nav():
        # The signed-in navigation is in the kept header (layout_header).
        def public_links():
            return [{"url": url_for(i.endpoint), "label": i.label, "description": i.badge_endpoint}
                    for i in PUBLIC_LINKS]

        cfg = current_app.config
        helpdesk_contact = {"name": cfg.get("HELPDESK_NAME") or "", "phone": cfg.get("HELPDESK_PHONE") or "",
                            "email": cfg.get("HELPDESK_EMAIL") or ""}
        return {"public_links": public_links, "helpdesk_contact": helpdesk_contact}

    app.after_request(refresh_counts_after_change)


# ---- menu counters after an in-place action --------------------------------------------
# The badges in the menu (and on the home page) fetch their count on load, every minute
# and on the `refresh-badges` event (_header.html). Every htmx request that may change
# data (not GET) gets that event in its answer's HX-Trigger, so a count changed by an
# in-place action (a bulk close, a status update, a reply) shows at once, without the
# views having to remember to ask.
REFRESH_EVENT = "refresh-badges"
COUNT_ID_PREFIX = "count-"  # the id of a badge in the menu (htmx sends it as HX-Trigger)


def refresh_counts_after_change(resp):
    if (request.headers.get("HX-Request") == "true" and (300 <= resp.status_code < 400 or resp.status_code in (401, 403))
            and request.headers.get("HX-Trigger", "").startswith(COUNT_ID_PREFIX)):
        # A badge asked after the session ended: keep its number rather than swap the
        # sign-in page into the menu (204: htmx swaps nothing, base.html).
        from flask import Response

        return Response(status=204, headers={"Cache-Control": "no-store"})
    if (request.method in ("GET", "HEAD", "OPTIONS") or request.headers.get("HX-Request") != "true"
            or resp.status_code >= 500):
        return resp
    add_trigger(resp, REFRESH_EVENT)
    return resp


def add_trigger(resp, event: str) -> None:
    """Add `event` to the response's HX-Trigger, keeping the events already there (a
    comma-separated list of names, or htmx's JSON object form)."""
    import json

    current = resp.headers.get("HX-Trigger", "").strip()
    if not current:
        resp.headers["HX-Trigger"] = event
    elif current.startswith("{"):
        try:
            events = json.loads(current)
        except ValueError:
            return
        events.setdefault(event, None)
        resp.headers["HX-Trigger"] = json.dumps(events)
    elif event not in (e.strip() for e in current.split(",")):
        resp.headers["HX-Trigger"] = f"{current}, {event}"


# Links of the core that no blueprint adds: the helpdesk's raise form beside its log (the
# registry's raise endpoint of its kind). The inbox's views add their own links
# (app/blueprints/cases/inbox.py).
add_staff_link("helpdesk.new", _l("Log a call"), visible=like("cases.queue?view=helpdesk-log"), order=69,
               group=NEW)
