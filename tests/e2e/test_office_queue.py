"""Browser scenarios of the office side on the shared case pages: a Division operator
finds a doorstep request with the queue's live search, opens it and starts it; the same
without JavaScript; the Persian layout mirrored; action errors announced; home pages of
every level; change password.

Each scenario that changes a case has its own (tests/e2e/server.py SCENARIO_CASES), so
the scenarios do not depend on one another's order.
"""

import pytest

from tests.e2e.support import (
    ARABIC_SCRIPT,
    ASCII_DIGIT,
    DEVANAGARI,
    PERSIAN_DIGIT,
    box,
    check_page,
    menu_link,
    sign_in,
    switch_language,
)

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

OPERATOR = "Bengaluru East Division operator"


def _action_form(page, action: str):
    """The <details> of one workflow action on the case page (by its hidden input)."""
    return page.locator(f"details.action:has(input[name='action'][value='{action}'])")


def _mark_document(page):
    """Something only this document holds: still there after an htmx swap, gone after a
    full page load."""
    page.evaluate("() => { window.__e2eSameDocument = true; }")


def _same_document(page) -> bool:
    return page.evaluate("() => window.__e2eSameDocument === true")


@pytest.mark.parametrize("lang", ["en", "fa", "hi"])
def test_operator_live_search_open_and_start_with_htmx(new_page, live_server, lang):
    reference = live_server.cases[lang]
    page = new_page()
    sign_in(page, live_server.login(OPERATOR), lang=lang)
    check_page(page, "home-division")

    menu_link(page, "/cases/?view=office").click()
    page.wait_for_url("**/cases/?view=office")
    check_page(page, "queue")

    # Live search: typing asks for the rows only (HX-Request) and swaps them in place.
    _mark_document(page)
    with page.expect_response(lambda r: "/cases/?" in r.url and "q=" in r.url
                              and r.request.headers.get("hx-request") == "true") as resp:
        page.fill("#q", f"Scenario {lang}")
    assert resp.value.ok
    # Every word, as the start of a word: "Scenario en" also finds "Scenario nojs-en".
    rows = page.locator("#case-rows tbody tr")
    expect(rows.locator(f"a[href$='/cases/{reference}']")).to_have_count(1)
    assert rows.count() <= 2
    assert _same_document(page), "the search reloaded the page instead of swapping rows"
    assert "q=Scenario" in page.url  # hx-push-url: the search can be bookmarked
    check_page(page, "queue-search")

    rows.locator(f"a[href$='/cases/{reference}']").click()
    page.wait_for_url(f"**/cases/{reference}")
    expect(page.locator(".case-header .status")).to_have_class("status status-open")
    check_page(page, "case")

    # Take an action: the panel is swapped by htmx, the timeline shows it.
    _mark_document(page)
    start = _action_form(page, "start")
    start.locator("summary").click()
    details = f"Postman Ravi will visit tomorrow morning ({lang})"
    start.locator("textarea[name='text']").fill(details)
    with page.expect_response(lambda r: r.url.endswith(f"/cases/{reference}/act")):
        start.locator("button[type='submit']").click()
    expect(page.locator("#timeline .event-text").last).to_have_text(details)
    expect(page.locator(".case-header .status")).to_have_class("status status-in_progress")
    expect(_action_form(page, "start")).to_have_count(0)
    expect(_action_form(page, "complete")).to_have_count(1)
    assert _same_document(page), "the action reloaded the page instead of swapping the panel"
    check_page(page, "case-after-action")

    times = page.locator("#timeline time").all_inner_texts()
    assert times
    for text in times:
        if lang == "fa":  # Solar Hijri date in Persian digits
            assert PERSIAN_DIGIT.search(text) and not ASCII_DIGIT.search(text), text
            assert ARABIC_SCRIPT.search(text), text
        elif lang == "hi":  # Hindi month names, Latin digits (the official usage)
            assert DEVANAGARI.search(text) and ASCII_DIGIT.search(text), text
        else:
            assert ASCII_DIGIT.search(text), text


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_operator_search_open_and_start_without_javascript(new_page, live_server, lang):
    tag = f"nojs-{lang}"
    reference = live_server.cases[tag]
    page = new_page(java_script_enabled=False)
    sign_in(page, live_server.login(OPERATOR), lang=lang)
    page.goto("/cases/")
    check_page(page, "queue-nojs")

    page.fill("#q", f"Scenario {tag}")
    with page.expect_navigation():  # a plain GET form
        page.locator("form[role='search'] button[type='submit']").click()
    assert "q=Scenario" in page.url
    rows = page.locator("#case-rows tbody tr")
    expect(rows).to_have_count(1)
    check_page(page)

    with page.expect_navigation():
        rows.locator(f"a[href$='/cases/{reference}']").click()
    start = _action_form(page, "start")
    start.locator("summary").click()  # <details> opens without JavaScript
    details = f"Visit booked by phone ({tag})"
    start.locator("textarea[name='text']").fill(details)
    with page.expect_navigation():  # POST, then 303 back to the case page
        start.locator("button[type='submit']").click()
    assert page.url.endswith(f"/cases/{reference}")
    expect(page.locator("#flash .flash-success")).to_have_count(1)
    expect(page.locator("#timeline .event-text").last).to_have_text(details)
    expect(page.locator(".case-header .status")).to_have_class("status status-in_progress")
    check_page(page, "case-after-action-nojs")


def _layout(page) -> dict:
    brand, nav, tools = box(page, ".brand"), box(page, "nav.main-nav"), box(page, ".header-tools")
    first_th = box(page, "#case-rows thead th:first-child")
    last_th = box(page, "#case-rows thead th:last-child")
    label, field = box(page, "label[for='q']"), box(page, "#q")
    return {"brand": brand, "nav": nav, "tools": tools, "first_th": first_th, "last_th": last_th,
            "label": label, "field": field}


def test_persian_layout_is_mirrored_with_persian_digits(new_page, live_server):
    page = new_page()
    sign_in(page, live_server.login("Bengaluru East Division supervisor"), lang="en")
    page.goto("/cases/")
    ltr = _layout(page)
    width = page.viewport_size["width"]
    # The header wraps when the navigation is long: compare starting edges, not order.
    assert ltr["brand"]["x"] <= ltr["nav"]["x"] < ltr["tools"]["x"]
    assert ltr["first_th"]["x"] < ltr["last_th"]["x"]

    switch_language(page, "fa")
    assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == ["fa", "rtl"]
    rtl = _layout(page)

    def right(b):
        return b["x"] + b["width"]

    # Header: brand at the right edge, then the navigation, then the tools on the left.
    assert right(rtl["brand"]) > width * 0.85
    assert right(rtl["brand"]) >= right(rtl["nav"]) > right(rtl["tools"])
    # Table: the first column (reference) is the right-most.
    assert rtl["first_th"]["x"] > rtl["last_th"]["x"]
    # Form labels start at the right edge of their field.
    assert abs(right(rtl["label"]) - right(rtl["field"])) < 2
    assert abs(ltr["label"]["x"] - ltr["field"]["x"]) < 2
    # Numbers and dates: Persian digits, Solar Hijri months; references stay Latin.
    dates = page.locator("#case-rows tbody td:nth-child(5)").all_inner_texts()
    assert dates and all(PERSIAN_DIGIT.search(d) and not ASCII_DIGIT.search(d) for d in dates), dates
    check_page(page, "queue-rtl")

    with page.expect_navigation():
        page.locator("#case-rows tbody a").first.click()
    # The timeline's rule is on the right (border-inline-start).
    borders = page.evaluate("""() => { const s = getComputedStyle(document.querySelector('.timeline'));
        return [s.borderRightWidth, s.borderLeftWidth]; }""")
    assert borders[0] != "0px" and borders[1] == "0px", borders
    check_page(page, "case-rtl")

    page.goto("/")
    tiles = page.locator(".tile-n").all_inner_texts()
    assert tiles and all(PERSIAN_DIGIT.search(t) and not ASCII_DIGIT.search(t) for t in tiles), tiles
    check_page(page, "home-division-rtl")


@pytest.mark.parametrize("mode", ["htmx", "nojs"])
def test_action_errors_are_announced(new_page, live_server, mode):
    reference = live_server.cases["errors"]
    page = new_page(java_script_enabled=(mode == "htmx"))
    sign_in(page, live_server.login(OPERATOR), lang="en")
    page.goto(f"/cases/{reference}")
    note = _action_form(page, "note")  # an internal note needs text
    note.locator("summary").click()
    note.locator("textarea[name='text']").fill("   ")  # passes `required`, empty to the server
    with page.expect_response(lambda r: r.url.endswith(f"/cases/{reference}/act")) as resp:
        note.locator("button[type='submit']").click()
    assert resp.value.status == 422
    page.wait_for_load_state()
    alert = page.locator("#case-panel [role='alert']")
    expect(alert).to_have_count(1)
    note = _action_form(page, "note")
    expect(note).to_have_attribute("open", "")
    textarea = note.locator("textarea[name='text']")
    error = page.locator("#err-text-note")
    expect(error).not_to_be_empty()
    assert error.get_attribute("aria-live") == "polite"
    expect(textarea).to_have_accessible_description(error.inner_text().strip())
    check_page(page, f"case-action-error-{mode}")


HOMES = [
    ("CEPT administrator", "home-cept"),
    ("Karnataka Circle supervisor", "home-circle"),
    ("Bengaluru HQ Region officer", "home-region"),
    ("Bangalore GPO Head Office (Facility ID)", "home-head-office"),
    ("Shivajinagar Sub Office (Facility ID)", "home-sub-office"),
]


def test_home_page_of_every_level(new_page, live_server):
    """In English; the Division's home is checked in every language by the scenarios above."""
    page = new_page()
    for who, name in HOMES:
        page.context.clear_cookies()
        sign_in(page, live_server.login(who), lang="en")
        expect(page.locator("main h1")).to_have_count(1)
        check_page(page, name)


def test_change_password_errors_are_announced(new_page, live_server):
    page = new_page()
    sign_in(page, live_server.login("Bangalore GPO HO counter operator"), lang="hi")
    menu_link(page, "/auth/password").click()
    page.wait_for_url("**/auth/password")
    check_page(page, "change-password")
    page.fill("#current", "wrong-password-1")
    page.fill("#new", "1234567890")
    page.fill("#confirm", "0987654321")
    with page.expect_navigation():
        page.locator("main form button[type='submit']").click()
    for field in ("new", "confirm"):
        expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
        error = page.locator(f"#err-{field}")
        expect(error).not_to_be_empty()
        assert f"err-{field}" in page.locator(f"#{field}").get_attribute("aria-describedby").split()
    check_page(page, "change-password-errors")


@pytest.mark.parametrize("lang", ["en", "hi", "fa"])
def test_phone_viewport_has_no_sideways_scrolling(new_page, live_server, lang):
    """360×740: every page of the staff side fits; check_page asserts it on each."""
    reference = live_server.cases["mobile"]
    page = new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page.goto("/")
    switch_language(page, lang)
    check_page(page, "landing")
    sign_in(page, live_server.login("Bengaluru East Division supervisor"), lang=lang)
    check_page(page, "home-division")
    page.goto("/cases/")
    check_page(page, "queue")
    page.goto(f"/cases/{reference}")
    for action in page.locator("details.action").all():
        action.locator("summary").click()  # open every form: they must fit too
    check_page(page, "case")
    page.goto("/auth/password")
    check_page(page, "change-password")
    page.goto("/cases/NO-SUCH-CASE")
    check_page(page, "not-found")
