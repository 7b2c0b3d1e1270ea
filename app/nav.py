"""Navigation registry: each blueprint adds its own links here when it is registered,
so the layout never needs editing when a front door is added."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from flask import request, url_for
from flask_login import current_user

from app.i18n import current_locale


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


def init_app(app) -> None:
    app.jinja_env.globals["case_url"] = case_url
    app.jinja_env.filters["case_url"] = case_url  # a filter is called directly, a global through the context
    app.jinja_env.globals["fixed_url"] = fixed_url

    @app.context_processor
    def inject_nav():
        def staff_nav():
            if not current_user.is_authenticated:
                return []
            # The links (URLs built and labels translated once) for this kind of user
            # under this mount point, in this language.
            key = (_visibility_key(current_user), request.script_root, current_locale())
            links = _links_cache.get(key)
            if links is None:
                links = _links_cache[key] = [
                    {"url": url_for(i.endpoint), "label": str(i.label), "endpoint": i.endpoint,
                     "badge_url": url_for(i.badge_endpoint) if i.badge_endpoint else None}
                    for i in _visible_items(current_user)
                ]
            return links

        def public_links():
            return [{"url": url_for(i.endpoint), "label": i.label, "description": i.badge_endpoint}
                    for i in PUBLIC_LINKS]

        return {"staff_nav": staff_nav, "public_links": public_links}
