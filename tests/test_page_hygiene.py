"""Every page keeps to the portal's CSP (no inline styles, event handlers or scripts),
and the favicon is served (issue 22, items 14 and 15).

The walk signs in as each demo account (one per role and office level), starts from
every GET route that takes no argument and follows the links of each page it renders,
so detail pages (a case, an office, an employee) are reached with real ids."""

from __future__ import annotations

from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from app.security import CSP

# URLs a walk must not follow: they change state on GET or only download.
SKIP_PREFIXES = ("/static/", "/auth/logout")
PER_PATH = 2  # query-string variants (pages, filters) rendered per path
PER_ENDPOINT = 3  # paths per endpoint (e.g. three case pages)


class InlineScan(HTMLParser):
    """Collects what the CSP would block, and the page's local links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}>")
            elif name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"<{tag} {name}=…>")
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        attrs = dict(attrs)
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and not attrs.get("src"):
            self.problems.append("inline <script>")
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def scan(html: str) -> InlineScan:
    parser = InlineScan()
    parser.feed(html)
    parser.close()
    return parser


@pytest.mark.parametrize("html", [
    '<td style="padding: 1rem">x</td>',
    '<button onclick="go()">x</button>',
    '<div hx-on:click="go()">x</div>',
    "<script>alert(1)</script>",
    "<style>p{}</style>",
    '<a href="javascript:go()">x</a>',
])
def test_the_scan_finds_what_the_csp_blocks(html):
    assert scan(html).problems


def test_the_scan_passes_clean_markup():
    found = scan('<p class="a" data-onclick="x" title="style=1">style= onclick=</p>'
                 '<script src="/static/x.js" defer></script>')
    assert found.problems == []


def _walk(app, client, seeds, limit=400, check=lambda html: scan(html).problems):
    """GET pages breadth-first from `seeds`; returns {url: what `check` found in the page}
    and the endpoints seen."""
    adapter = app.url_map.bind("localhost")
    seen, per_path, per_endpoint = set(), {}, {}
    problems, endpoints = {}, set()
    queue = deque(seeds)
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        path = urlsplit(url).path
        try:
            endpoint, _args = adapter.match(path, method="GET")
        except Exception:  # noqa: BLE001 - a link to a POST-only or unknown path
            continue
        if per_path.get(path, 0) >= PER_PATH:
            continue
        paths = per_endpoint.setdefault(endpoint, set())
        if path not in paths and len(paths) >= PER_ENDPOINT:
            continue
        seen.add(url)
        per_path[path] = per_path.get(path, 0) + 1
        paths.add(path)
        r = client.get(url)
        if r.mimetype != "text/html":
            r.close()  # a streamed download, not read
            continue
        html = r.get_data(as_text=True)
        found = check(html)  # error pages (403, 404, 422) too
        if found:
            problems[url] = found
        if r.status_code != 200:
            continue
        endpoints.add(endpoint)
        for href in scan(html).links:
            target, _frag = urldefrag(urljoin(url, href))
            parts = urlsplit(target)
            if parts.netloc not in ("", "localhost") or parts.path.startswith(SKIP_PREFIXES):
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local not in seen:
                queue.append(local)
    return problems, endpoints


def _seeds(app):
    """Every GET route without arguments, and the pages no link leads to: the public
    tracking page and the respond page of a few cases, the review of closed complaints."""
    from flask import url_for
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Case
    from app.services.infrastructure.tokens import make_case_token

    seeds = {rule.rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments
             and not rule.rule.startswith(SKIP_PREFIXES)}
    with app.test_request_context():
        for kind in ("service_request", "complaint", "interaction", "helpdesk"):
            case = db.session.scalar(select(Case).where(Case.kind == kind).order_by(Case.id).limit(1))
            if case is not None:
                if kind == "service_request":  # the only kind citizens track
                    seeds.add(url_for("citizen.track_detail", reference=case.reference))
                seeds.add(url_for("respond.respond", token=make_case_token(case, "respond")))
        closed = db.session.scalar(select(Case).where(Case.kind == "complaint", Case.status == "closed")
                                   .order_by(Case.id).limit(1))
        if closed is not None:
            seeds.add(url_for("complaints.review", reference=closed.reference))
    return sorted(seeds)


@pytest.fixture
def demo(app):
    from app.services.administration import demo

    demo.load(case_count=25)
    return demo


def test_no_page_of_any_role_has_inline_styles_handlers_or_scripts(app, demo):
    """Anonymous, then each demo account: every page reached holds no `style=`, no
    `on…=` handler, no inline <script>/<style> (the CSP would block them)."""
    from app.services.administration.demo import DEMO_PASSWORD

    accounts = [None] + [login_id for login_id, _what in demo.demo_logins()]
    all_problems, all_endpoints, seeds = {}, set(), _seeds(app)
    for login_id in accounts:
        client = app.test_client()
        if login_id:
            r = client.post("/auth/login", data={"login_id": login_id, "password": DEMO_PASSWORD})
            assert r.status_code == 302, login_id
        problems, endpoints = _walk(app, client, seeds)
        all_problems.update({f"{login_id or 'anonymous'} {url}": p for url, p in problems.items()})
        all_endpoints |= endpoints
    assert all_problems == {}
    # The walk did reach the pages that had inline styles, and detail pages by link.
    assert {"admin.offices_list", "admin.office_detail", "admin.sla", "admin.audit_log",
            "admin.user_edit", "admin.user_new", "cases.detail", "auth.login",
            "citizen.track", "citizen.track_detail", "respond.respond"} <= all_endpoints


def test_offices_tree_indents_by_class(app, client, auth, world):
    auth.login(world.admin.login_id)
    page = client.get("/admin/offices").get_data(as_text=True)
    assert 'class="tree-name depth-0"' in page and 'class="tree-name depth-4"' in page
    css = client.get("/static/css/app.css").get_data(as_text=True)
    assert "td.tree-name.depth-4" in css


def test_the_csp_allows_no_inline_styles_or_scripts():
    assert "unsafe-inline" not in CSP and "style-src 'self'" in CSP


# ---- favicon (item 15) ------------------------------------------------------------

def test_favicon_ico_is_served_at_the_root(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert r.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")


def test_the_layout_links_the_icons(client):
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in page
    assert 'rel="icon" href="/favicon.ico"' in page
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_favicon_is_served_to_a_user_who_must_change_password(client, auth, world):
    from app.extensions import db

    world.d1_op.must_change_password = True
    db.session.commit()
    auth.login(world.d1_op.login_id)
    assert client.get("/favicon.ico").status_code == 200
