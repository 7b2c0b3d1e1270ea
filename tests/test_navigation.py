"""Navigation by job (issue 24, item 4): at most six top entries for every role, the seeds'
labels where their users look, the citizen footer on public pages only, each role's home
page with "what needs me now" and its main action, a menu that works without JavaScript,
in Persian too, and menu counters refreshed after an in-place htmx action."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from app import nav
from app.domain import kinds
from app.extensions import db
from app.models import User
from tests.citizen_support import add_services, make_request

FOOTER = 'class="site-footer"'


@pytest.fixture(autouse=True)
def _fresh_header():
    nav.clear_kept()
    yield
    nav.clear_kept()


class MenuScan(HTMLParser):
    """The top menu: its top entries (each a link or a <details> group) with their links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.entries: list[dict] = []
        self._depth = 0  # <li> nesting inside the menu
        self._in_nav = False
        self._text_to = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "nav" and "main-nav" in (a.get("class") or ""):
            self._in_nav = True
        if not self._in_nav:
            return
        if tag == "li":
            self._depth += 1
            if self._depth == 1:
                self.entries.append({"class": a.get("class", ""), "label": "", "links": [],
                                     "group": False, "open": False})
        elif tag == "details" and self._depth == 1:
            self.entries[-1]["group"] = True
            self.entries[-1]["open"] = "open" in a
        elif tag == "summary":
            self._text_to = "label"
        elif tag == "a" and self.entries:
            self.entries[-1]["links"].append({"href": a["href"], "label": ""})
            self._text_to = "link"

    def handle_endtag(self, tag):
        if not self._in_nav:
            return
        if tag == "li":
            self._depth -= 1
        elif tag in ("summary", "a"):
            self._text_to = None
        elif tag == "nav":
            self._in_nav = False

    def handle_data(self, data):
        if self._text_to == "label":
            self.entries[-1]["label"] += data
        elif self._text_to == "link":
            self.entries[-1]["links"][-1]["label"] += data
            if not self.entries[-1]["group"]:
                self.entries[-1]["label"] += data


def menu(html: str) -> list[dict]:
    scan = MenuScan()
    scan.feed(html)
    for entry in scan.entries:
        entry["label"] = " ".join(entry["label"].split())
        for link in entry["links"]:
            link["label"] = " ".join(link["label"].split())
    return scan.entries


def labels(entries) -> set[str]:
    return {link["label"] for e in entries for link in e["links"]} | {e["label"] for e in entries}


@pytest.fixture
def demo(app):
    from app.services.administration import demo

    demo.load(case_count=25)
    return demo


def _sign_in(app, login_id, lang=None):
    from app.services.administration.demo import DEMO_PASSWORD

    client = app.test_client()
    r = client.post("/auth/login", data={"login_id": login_id, "password": DEMO_PASSWORD})
    assert r.status_code == 302, login_id
    if lang:
        client.post("/language", data={"lang": lang, "next": "/"})
    return client


def test_every_demo_role_has_at_most_six_top_entries_and_no_footer(app, demo):
    """Each demo account (every role and office level): Home first, the person's menu
    last, at most six entries; every link is a plain <a href> (reachable without JS, the
    groups are <details>), each target answers; no citizen footer on staff pages."""
    seen_targets = {}
    for login_id, what in demo.demo_logins():
        client = _sign_in(app, login_id)
        page = client.get("/").get_data(as_text=True)
        entries = menu(page)
        assert 2 <= len(entries) <= 6, (what, [e["label"] for e in entries])
        assert entries[0]["label"] == "Home" and "menu-person" in entries[-1]["class"], what
        assert all(not e["open"] for e in entries)  # closed until asked
        for e in entries:
            assert e["links"], (what, e)
            if not e["group"]:
                assert len(e["links"]) == 1
        # The links, the same as before grouping: every link the user may see is there.
        hrefs = {link["href"] for e in entries for link in e["links"]}
        user = db.session.scalar(db.select(User).where(User.login_id == login_id))
        with app.test_request_context():
            expected = {i["url"] for i in nav.staff_links(user)}
        assert expected <= hrefs, what
        assert "/auth/password" in hrefs
        assert FOOTER not in page, what
        assert FOOTER not in client.get("/cases/").get_data(as_text=True)
        for href in hrefs:
            if href not in seen_targets:
                seen_targets[href] = client.get(href).status_code
            assert seen_targets[href] == 200 or client.get(href).status_code == 200, (what, href)


def test_the_seeds_labels_are_in_their_users_menus(app, demo):
    by_login = dict(demo.demo_logins())
    sub_office = next(login for login, what in by_login.items() if "Sub Office" in what)
    division_op = next(login for login, what in by_login.items() if "Division operator" in what)
    sub = labels(menu(_sign_in(app, sub_office).get("/").get_data(as_text=True)))
    assert {"Add Ticket", "Complaint Processing", "My tickets"} <= sub
    div = labels(menu(_sign_in(app, division_op).get("/").get_data(as_text=True)))
    assert {"Pending tickets", "Complaint Processing", "Complaint Registration",
            "Doorstep requests"} <= div
    # The Sub Office adds tickets (New), the Division works them (Inbox).
    new = next(e for e in menu(_sign_in(app, sub_office).get("/").get_data(as_text=True)) if e["label"] == "New")
    assert "Add Ticket" in {link["label"] for link in new["links"]}
    # Persian (RTL): the seed 004 words, as the users of «تعاملات سازمانی» know them.
    fa_page = _sign_in(app, division_op, lang="fa").get("/").get_data(as_text=True)
    assert '<html lang="fa" dir="rtl">' in fa_page
    fa = " ".join(labels(menu(fa_page)))
    for word in ("تعاملات سازمانی", "ثبت جدید", "کارتابل", "تعاملات من"):
        assert word in fa, word
    assert len(menu(fa_page)) <= 6


def test_home_shows_what_needs_me_now_and_the_main_action(app, demo):
    """Sub Office: Add Ticket; helpdesk: Log a call; Division: its pending views;
    Circle/Region: the dashboard. The counts are the queues' own, each a link to it."""
    from tests.complaints_support import queue_counts

    def home(login_id):
        return _sign_in(app, login_id).get("/").get_data(as_text=True)

    def main_actions(page):
        block = page[page.index('class="main-actions"'):]
        block = block[:block.index("</p>")]
        return re.findall(r'data-endpoint="([\w.?=-]+)"', block)

    users = {what: login for login, what in demo.demo_logins()}

    def login_of(fragment):
        return next(login for what, login in users.items() if fragment in what)

    assert main_actions(home(login_of("Sub Office")))[0] == "tickets.new"
    assert main_actions(home(login_of("helpdesk operator")))[0] == "helpdesk.new"
    assert main_actions(home(login_of("Circle supervisor"))) == ["monitoring.dashboard"]
    assert main_actions(home(login_of("Region officer"))) == ["monitoring.dashboard"]
    division = login_of("Division operator")
    page = home(division)
    assert main_actions(page) == ["cases.queue?view=doorstep", "cases.queue?view=tickets-pending",
                                  "cases.queue?view=complaints"]
    assert "What needs me now" in page
    user = db.session.scalar(db.select(User).where(User.login_id == division))
    counts = queue_counts(user)
    for key, label in (("pending", "Pending for Resolution"), ("external", "Pending at External Authorities")):
        view = "complaints-" + key
        tile = re.search(r'<a href="/cases/\?view=' + view + r'" data-endpoint="cases.queue\?view=' + view + r'">'
                         r'<span class="tile-n">([\d,]+)</span> <span class="tile-l">([^<]+)</span>', page)
        assert tile, key
        assert int(tile.group(1).replace(",", "")) == counts[key] and tile.group(2) == label
    assert 'href="/cases/?view=tickets-pending"' in page.split('id="h-needs"')[1]
    assert FOOTER not in page


def test_footer_only_on_public_pages(client, auth, world):
    for path in ("/", "/auth/login", "/track", "/request"):
        r = client.get(path)
        assert r.status_code == 200 and FOOTER in r.get_data(as_text=True), path
    auth.login(world.d1_op.login_id)
    for path in ("/", "/cases/", "/cases/?view=tickets-pending", "/auth/password"):
        assert FOOTER not in client.get(path).get_data(as_text=True), path


def test_the_language_switcher_stays_in_the_header(client, auth, world):
    auth.login(world.d1_op.login_id)
    page = client.get("/").get_data(as_text=True)
    header = page[page.index("<header"):page.index("</header>")]
    tools = header[header.index('class="header-tools"'):]
    assert 'class="lang-switch inline"' in tools and 'value="fa"' in tools
    assert 'aria-current="true"' in tools


def test_a_kinds_raise_form_is_new_and_its_queue_inbox():
    for kind in kinds.all():
        for key, job in ((kind.raise_endpoint, nav.NEW), (f"cases.queue?view={kind.queue_view}", nav.INBOX)):
            item = next((i for i in nav.STAFF_NAV if i.key == key), None)
            if item is not None:
                assert nav.group_of(item) == job, key
    assert all(nav.group_of(i) == nav.INBOX for i in nav.STAFF_NAV if i.endpoint == "cases.queue")
    assert nav.group_of(next(i for i in nav.STAFF_NAV if i.endpoint == "admin.index")) == nav.ADMIN
    assert nav.group_of(next(i for i in nav.STAFF_NAV if i.endpoint == "monitoring.dashboard")) == nav.MONITORING


def test_the_current_page_is_marked_in_its_group(client, auth, world):
    auth.login(world.d1_op.login_id)
    page = client.get("/tickets/pending", follow_redirects=True).get_data(as_text=True)
    inbox = next(e for e in menu(page) if e["label"] == "Inbox")
    assert inbox["group"]
    assert '<summary class="current">Inbox</summary>' in page
    assert '<a href="/cases/?view=tickets-pending" aria-current="page">Pending tickets</a>' in page
    header = page[page.index("<header"):page.index("</header>")]
    assert header.count('aria-current="page"') == 1  # only that view of the inbox


# ---- counters after an in-place action -------------------------------------------------

def test_add_trigger_keeps_the_events_already_asked_for():
    from flask import Response

    r = Response()
    nav.add_trigger(r, "refresh-badges")
    assert r.headers["HX-Trigger"] == "refresh-badges"
    r.headers["HX-Trigger"] = "closed"
    nav.add_trigger(r, "refresh-badges")
    nav.add_trigger(r, "refresh-badges")
    assert r.headers["HX-Trigger"] == "closed, refresh-badges"
    r.headers["HX-Trigger"] = '{"shown": {"level": "info"}}'
    nav.add_trigger(r, "refresh-badges")
    import json
    assert json.loads(r.headers["HX-Trigger"]) == {"shown": {"level": "info"}, "refresh-badges": None}


def test_an_in_place_update_refreshes_the_menu_counter(client, auth, world):
    """The Division's doorstep badge counts open requests; taking one up in place (htmx)
    answers with the event the badges listen to, and the badge then counts one less."""
    add_services(world)
    sr = make_request(world)
    auth.login(world.d1_op.login_id)
    page = client.get("/").get_data(as_text=True)
    assert 'hx-get="/cases/counts?view=doorstep" hx-trigger="load, every 60s, refresh-badges from:body"' in page
    assert client.get("/cases/counts?view=doorstep").get_data(as_text=True) == "1"
    r = client.post(f"/cases/{sr.reference}/act", data={"action": "start", "version": sr.version},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "refresh-badges" in r.headers.get("HX-Trigger", "")
    assert client.get("/cases/counts?view=doorstep").get_data(as_text=True) == ""
    # The home page's count follows too (it is read on each visit).
    needs = client.get("/").get_data(as_text=True).split('id="h-needs"')[1]
    assert re.search(r'data-endpoint="cases.queue\?view=doorstep"><span class="tile-n">0</span>', needs)


def test_reads_and_full_page_posts_ask_for_no_refresh(client, auth, world):
    auth.login(world.d1_op.login_id)
    assert "HX-Trigger" not in client.get("/", headers={"HX-Request": "true"}).headers
    r = client.post("/language", data={"lang": "en", "next": "/"})
    assert "HX-Trigger" not in r.headers


def test_a_badge_asked_after_sign_out_swaps_nothing(client, auth, world):
    """A badge polling once the session has ended gets 204 (htmx keeps it as it is), not
    the sign-in page the redirect leads to; other htmx requests are not changed."""
    auth.login(world.d1_op.login_id)
    page = client.get("/").get_data(as_text=True)
    assert 'id="count-cases-queue-tickets-pending" hx-get="/cases/counts?view=tickets-pending"' in page
    client.post("/auth/logout")
    badge = {"HX-Request": "true", "HX-Trigger": "count-cases-queue-tickets-pending"}
    r = client.get("/cases/counts?view=tickets-pending", headers=badge)
    assert r.status_code == 204 and r.data == b""
    assert client.get("/cases/counts?view=tickets-pending", headers={"HX-Request": "true"}).status_code != 204
