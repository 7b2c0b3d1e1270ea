"""Navigation registry: each blueprint adds its own links here when it is registered,
so the layout never needs editing when a front door is added."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from flask import request, url_for
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape

from app.i18n import current_locale
from app.inputs import safe_next


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy_gettext string
    visible: Callable[[object], bool]
    badge_endpoint: str | None = None  # htmx-refreshed count, optional
    order: int = 50


STAFF_NAV: list[NavItem] = []
# Which links a user sees, by (roles, active, office kind): the layout asks on every page.
_visible_cache: dict[tuple, list[NavItem]] = {}
_links_cache: dict[tuple, list[dict]] = {}
PUBLIC_LINKS: list[NavItem] = []  # cards on the public landing page (label, endpoint)


def add_staff_link(endpoint, label, visible=lambda u: True, badge_endpoint=None, order=50):
    """Show a link in the signed-in navigation to users for whom `visible(user)` holds.
    `visible` may look only at the user's roles, active flag and office kind: its answer
    is remembered for each combination of those."""
    if not any(i.endpoint == endpoint for i in STAFF_NAV):
        STAFF_NAV.append(NavItem(endpoint, label, visible, badge_endpoint, order))
        STAFF_NAV.sort(key=lambda i: i.order)
        _visible_cache.clear()
        _links_cache.clear()
        clear_kept()


def _visibility_key(user) -> tuple:
    return (frozenset(user.roles), bool(user.active), user.office.kind)


def _visible_items(user) -> list[NavItem]:
    key = _visibility_key(user)
    items = _visible_cache.get(key)
    if items is None:
        items = _visible_cache[key] = [i for i in STAFF_NAV if i.visible(user)]
    return items


def add_public_link(endpoint, label, description, order=50):
    """A card on the public landing page."""
    if not any(i.endpoint == endpoint for i in PUBLIC_LINKS):
        PUBLIC_LINKS.append(NavItem(endpoint, label, lambda u: True, description, order))
        PUBLIC_LINKS.sort(key=lambda i: i.order)


def case_url(reference: str) -> str:
    """`url_for("cases.detail", reference=…)` for the rows of a queue: the route's prefix is
    built once per mount point (`fixed_url`) and each reference appended, quoted the same way."""
    prefix = fixed_url("cases.detail", reference="_")[:-1]
    reference = str(reference)
    # References are letters, digits and dashes, which need no quoting.
    if reference.replace("-", "").isalnum() and reference.isascii():
        return prefix + reference
    return prefix + quote(reference, safe="")


_fixed_urls: dict[tuple, str] = {}


def fixed_url(endpoint: str, **values) -> str:
    """`url_for` for the links that depend on nothing but where the portal is mounted — the
    layout's links and assets on every page: each built once per mount point. Not for
    URLs with per-request values (a reference, a cursor)."""
    key = (request.script_root, endpoint, *sorted(values.items()))
    url = _fixed_urls.get(key)
    if url is None:
        if len(_fixed_urls) > 1000:  # a misuse with per-request values must not grow forever
            _fixed_urls.clear()
        url = _fixed_urls[key] = url_for(endpoint, **values)
    return url


def staff_links(user) -> list[dict]:
    """The signed-in navigation's links (URLs built and labels translated once) for this
    kind of user under this mount point, in this language."""
    key = (_visibility_key(user), request.script_root, current_locale())
    links = _links_cache.get(key)
    if links is None:
        links = _links_cache[key] = [
            {"url": url_for(i.endpoint), "label": str(i.label), "endpoint": i.endpoint,
             "badge_url": url_for(i.badge_endpoint) if i.badge_endpoint else None}
            for i in _visible_items(user)
        ]
    return links


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
    html = _header_html(ctx.environment, ctx.get("html_lang"), request.script_root, who, request.endpoint,
                        next_path, tuple(ctx.get("languages", {}).items()))
    return Markup(html.replace(_TOKEN_SLOT, str(escape(token))))  # noqa: S704 - autoescaped template


@lru_cache(maxsize=HEADERS_KEPT)
def _header_html(env, lang, script_root, who, endpoint, next_path, languages) -> str:
    # script_root is in the key, not in the call: fixed_url reads it from the request.
    nav = staff_links(current_user) if who else []  # the same user whose `who` this is
    return env.get_template("_header.html").render(
        html_lang=lang, who=who, nav=nav, endpoint=endpoint, next_path=next_path,
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

        return {"public_links": public_links}
