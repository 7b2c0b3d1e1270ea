"""Browser scenarios of the public side: landing page, language switch, sign-in by
keyboard only, sign-in errors announced, error pages."""

import pytest

from tests.e2e.support import (
    ARABIC_SCRIPT,
    DEMO_PASSWORD,
    DEVANAGARI,
    axe_violations,
    check_page,
    horizontal_overflow,
    html_lang,
    switch_language,
    tab_to,
)

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

OPERATOR = "Bengaluru East Division operator"


@pytest.mark.parametrize("lang", ["en", "hi", "fa"])
def test_landing_and_sign_in_pages_in_each_language(new_page, lang):
    page = new_page()
    page.goto("/")
    switch_language(page, lang)
    assert page.evaluate("() => document.documentElement.dir") == ("rtl" if lang == "fa" else "ltr")
    heading = page.locator("main h1").inner_text()
    if lang == "hi":
        assert DEVANAGARI.search(heading), heading
    elif lang == "fa":
        assert ARABIC_SCRIPT.search(heading), heading
    check_page(page, "landing")
    page.locator("#public-links a[href$='/auth/login']").click()
    page.wait_for_url("**/auth/login")
    assert html_lang(page) == lang  # the choice is remembered in a cookie
    check_page(page, "sign-in")


def test_unknown_page_answers_404_inside_the_layout(new_page):
    page = new_page()
    response = page.goto("/no-such-page")
    assert response.status == 404
    assert page.locator("main h1").count() == 1
    check_page(page, "not-found")


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_keyboard_only_sign_in(new_page, live_server, lang):
    page = new_page(locale={"en": "en-US", "fa": "fa-IR"}[lang])
    page.goto("/")
    assert html_lang(page) == lang  # Accept-Language picks the language on a first visit
    page.keyboard.press("Tab")  # the first stop is the skip link, visible when focused
    assert page.evaluate("() => document.activeElement.classList.contains('skip-link')")
    assert page.locator(".skip-link").bounding_box()["y"] >= 0
    tab_to(page, "header a[href$='/auth/login']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "#login_id")
    page.keyboard.type(live_server.login(OPERATOR))
    tab_to(page, "#password")
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("form[action$='/auth/logout']").count() == 1
    check_page(page, "home-division")


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_sign_in_errors_are_announced(new_page, live_server, lang):
    page = new_page()
    page.goto("/auth/login")
    switch_language(page, lang)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()  # both fields empty
    field = page.locator("#login_id")
    assert field.get_attribute("aria-invalid") == "true"
    error = page.locator("#err-login_id")
    assert error.get_attribute("aria-live") == "polite"
    assert "err-login_id" in field.get_attribute("aria-describedby").split()
    message = error.inner_text().strip()
    assert message
    # What a screen reader reads with the field: its label and the error.
    expect(field).to_have_accessible_description(message)
    check_page(page, "sign-in-errors")
    # A wrong password: one message in the live region, the typed ID kept.
    page.fill("#login_id", live_server.login("Bengaluru East Division supervisor"))
    page.fill("#password", "not-the-password")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("#flash[aria-live] .flash-error, #flash[aria-live] .flash")).to_have_count(1)
    assert page.input_value("#login_id") == live_server.login("Bengaluru East Division supervisor")
    check_page(page)


def test_the_checks_themselves_catch_problems(new_page, live_server):
    """check_page must not pass vacuously: a page with a missing alt text and a too wide
    element (served from the app's origin, under its CSP) fails both checks."""
    page = new_page(viewport={"width": 360, "height": 740})
    bad = ('<!doctype html><html lang="en"><head><title>bad</title></head><body><main>'
           '<img src="/static/none.png"><div class="wide">x</div></main></body></html>')
    page.route("**/__e2e_bad_page__", lambda route: route.fulfill(
        status=200, body=bad, content_type="text/html",
        headers={"Content-Security-Policy": "default-src 'self'; style-src 'self'"}))
    page.goto("/__e2e_bad_page__")
    assert "image-alt" in [v["id"] for v in axe_violations(page)]
    page.locator("div.wide").evaluate("el => { el.style.width = '900px'; }")
    assert horizontal_overflow(page) > 0
    with pytest.raises(AssertionError, match="image-alt"):
        check_page(page)
