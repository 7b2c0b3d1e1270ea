"""The top menu by job (issue 24, item 4) in a browser: one line on a 360 px phone in
English, Hindi and Persian (screenshots under tests/artifacts/e2e/<lang>/), groups that
open by keyboard and without JavaScript, mirrored in Persian, and a menu counter that
follows an in-place (htmx) update without reloading the page."""

import pytest

from tests.e2e.support import check_page, html_dir, menu_link, sign_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
ADMIN = "CEPT administrator"  # the most entries: Home, Inbox, New, Monitoring, Administration, me
DIVISION = "Bengaluru East Division operator"
TOP = "nav.main-nav ul.menu > li.menu-entry"


def _one_line(page) -> None:
    boxes = [page.locator(TOP).nth(i).bounding_box() for i in range(page.locator(TOP).count())]
    assert 2 <= len(boxes) <= 6
    tops = {round(b["y"]) for b in boxes if b}
    assert len(tops) == 1, f"the menu wraps: {boxes}"


@pytest.mark.parametrize("lang", ["en", "hi", "fa"])
def test_the_menu_is_one_line_on_a_phone(new_page, live_server, lang):
    page = new_page(**PHONE)
    sign_in(page, live_server.login(ADMIN), lang=lang)
    expect(page.locator(TOP)).to_have_count(6)
    _one_line(page)
    check_page(page, "menu-phone")  # no sideways scrolling of the page, axe clean
    # A group opens under the header, inside the screen, its links usable.
    page.locator(f"{TOP}.menu-inbox summary").click()
    panel = page.locator(f"{TOP}.menu-inbox .menu-panel")
    expect(panel).to_be_visible()
    b = panel.bounding_box()
    assert b["x"] >= 0 and b["x"] + b["width"] <= 360
    check_page(page, "menu-phone-open")
    with page.expect_navigation():
        panel.locator("a[href$='/cases/?view=tickets-pending']").click()
    _one_line(page)


def test_groups_open_by_keyboard(new_page, live_server):
    page = new_page()
    sign_in(page, live_server.login(DIVISION))
    summary = page.locator(f"{TOP}.menu-inbox summary")
    summary.focus()
    page.keyboard.press("Enter")
    link = page.locator(f"{TOP}.menu-inbox a[href$='/cases/?view=tickets-pending']")
    expect(link).to_be_visible()
    # With JavaScript (app/static/js/menu.js): one group open at a time; Escape closes it
    # and gives the focus back to its summary.
    page.locator(f"{TOP}.menu-new summary").click()
    expect(link).to_be_hidden()
    page.keyboard.press("Escape")
    expect(page.locator(f"{TOP}.menu-new .menu-panel")).to_be_hidden()
    assert page.evaluate("() => document.activeElement.closest('li.menu-entry').className").endswith("menu-new")
    summary.focus()
    page.keyboard.press("Enter")
    expect(link).to_be_visible()
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/cases/?view=tickets-pending")
    expect(page.locator(f"{TOP}.menu-inbox summary")).to_have_class("current")


def test_the_menu_works_without_javascript(new_page, live_server):
    page = new_page(java_script_enabled=False, **PHONE)
    sign_in(page, live_server.login(DIVISION), lang="fa")
    assert html_dir(page) == "rtl"
    check_page(page, "menu-phone-nojs")
    with page.expect_navigation():
        menu_link(page, "/cases/?view=cartable").click()
    assert page.url.endswith("/cases/?view=cartable")
    with page.expect_navigation():
        menu_link(page, "/cases/?view=tickets-pending").click()
    assert page.url.endswith("/cases/?view=tickets-pending")


def test_persian_menu_is_mirrored(new_page, live_server):
    page = new_page()
    sign_in(page, live_server.login(ADMIN), lang="fa")
    home = page.locator(f"{TOP}.menu-home").bounding_box()
    person = page.locator(f"{TOP}.menu-person").bounding_box()
    assert home["x"] > person["x"]  # Home on the right, the person's menu on the left
    page.locator(f"{TOP}.menu-new summary").click()
    panel = page.locator(f"{TOP}.menu-new .menu-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("ثبت جدید")
    check_page(page, "menu-rtl-open")


def test_a_menu_counter_follows_an_in_place_update(new_page, live_server):
    """The Division's doorstep badge, without a reload: take an open request up in place
    (the panel's htmx form) and the badge in the menu counts one less."""
    page = new_page()
    sign_in(page, live_server.login(DIVISION))
    rows = live_server.query(
        'SELECT c.reference FROM "case" c JOIN "user" u ON u.office_id = c.current_office_id '
        "WHERE u.login_id = ? AND c.kind = 'service_request' AND c.status = 'open' ORDER BY c.id",
        live_server.login(DIVISION))
    assert rows, "the demo Division holds no open doorstep request"
    page.goto(f"/cases/{rows[0][0]}")
    badge = page.locator("nav.main-nav a[href$='/cases/?view=doorstep'] + .badge")
    expect(badge).to_have_text(str(len(rows)))
    start = page.locator("#case-panel details.action:has(input[name='action'][value='start'])")
    start.locator("summary").click()
    start.locator("button[type='submit']").click()
    expect(badge).to_have_text(str(len(rows) - 1) if len(rows) > 1 else "")
