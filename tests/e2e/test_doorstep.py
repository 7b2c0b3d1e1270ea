"""Browser scenarios of the citizen's front door: request a doorstep service at /request
and track it at /track by its reference, with htmx (inline check of a field on blur) and
with JavaScript disabled; the form completed with the keyboard alone; errors announced.

Every scenario raises its own request through the form, so none depends on another.
"""

import itertools
import random

import pytest

from tests.e2e.support import (
    DEVANAGARI,
    check_page,
    focus_is_visible,
    html_lang,
    htmx_idle,
    switch_language,
    tab_to,
)

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

PINCODE = "560001"  # in the demo pincode directory (Bengaluru East Division)
# A mobile (and e-mail) per raised request: the same mobile, service and pincode again while
# the first request is open would be shown that request instead of raising a new one.
_MOBILES = (f"98{n:08d}" for n in itertools.count(random.randrange(10_000_000, 90_000_000)))


def _mobile() -> str:
    return next(_MOBILES)

FIELDS = ("name", "address", "pincode", "email", "mobile", "service")  # required ones


def _fill_request(page, name: str) -> None:
    page.fill("#name", name)
    page.fill("#address", "12, MG Road, near the temple")
    page.fill("#pincode", PINCODE)
    mobile = _mobile()
    # an e-mail per request too: the same one's open requests are shown first (issue 27)
    page.fill("#email", f"citizen{mobile}@example.in")
    page.fill("#mobile", mobile)
    page.select_option("#service", index=1)
    page.fill("#details", "Please come after 10 am.")


def _submit_request(page) -> str:
    """Submit the form (a plain POST → 303) and return the reference it shows."""
    with page.expect_navigation():
        page.locator("#sr-form button[type='submit']").click()
    assert "/registered" in page.url, page.url
    reference = page.locator(".big-ref").inner_text().strip()
    assert reference.startswith("SR-"), reference
    return reference


def _track(page, reference: str, lang: str) -> None:
    """Track by reference from the confirmation's own link to /track: a GET form, then
    303 to the request's page with its status and timeline."""
    page.goto("/track")
    check_page(page, "track")
    page.fill("#reference", reference)
    with page.expect_navigation():
        page.locator("form[action$='/track'] button[type='submit']").click()
    page.wait_for_url(f"**/track/{reference}")
    expect(page.locator("#track-status .status")).to_have_class("status status-open")
    expect(page.locator("#track-status .event-created")).to_have_count(1)
    assert html_lang(page) == lang
    check_page(page, "track-detail")


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_citizen_raises_and_tracks_a_request_with_htmx(new_page, lang):
    page = new_page()
    page.goto("/")
    switch_language(page, lang)
    check_page(page, "landing")
    page.locator("#public-links a[href$='/request']").click()
    page.wait_for_url("**/request")
    if lang == "hi":
        assert DEVANAGARI.search(page.locator("main h1").inner_text())
    check_page(page, "doorstep-form")

    # Inline check on blur: htmx swaps the pincode's block with its verdict.
    page.fill("#pincode", "999999")  # six digits, not in the directory
    with page.expect_response(lambda r: r.url.endswith("/request/check/pincode")):
        page.locator("#pincode").blur()
    error = page.locator("#err-pincode")
    expect(error).not_to_be_empty()
    expect(page.locator("#pincode")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pincode")).to_have_accessible_description(
        page.locator("#hint-pincode").inner_text().strip() + " " + error.inner_text().strip())
    check_page(page, "doorstep-inline-error")
    htmx_idle(page)  # the swapped-in field listens again

    page.fill("#pincode", PINCODE)
    with page.expect_response(lambda r: r.url.endswith("/request/check/pincode")):
        page.locator("#pincode").blur()
    expect(error).to_be_empty()
    expect(page.locator("#pincode")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pincode-info .ok")).to_have_count(1)  # the office serving it

    _fill_request(page, f"Htmx Citizen {lang}")
    reference = _submit_request(page)
    assert html_lang(page) == lang
    expect(page.locator("button[data-print]")).to_be_visible()  # wired by js/print.js (CSP)
    check_page(page, "doorstep-confirmation")
    _track(page, reference, lang)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_citizen_raises_and_tracks_a_request_without_javascript(new_page, lang):
    page = new_page(java_script_enabled=False)
    page.goto("/request")
    switch_language(page, lang)
    check_page(page, "doorstep-form-nojs")
    _fill_request(page, f"Plain Citizen {lang}")
    page.fill("#pincode", "56000")  # five digits: refused by the server, the rest kept
    with page.expect_navigation():
        page.locator("#sr-form button[type='submit']").click()
    expect(page.locator("#pincode")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-pincode")).not_to_be_empty()
    assert page.input_value("#name") == f"Plain Citizen {lang}"
    assert page.input_value("#email").startswith("citizen") and page.input_value("#email").endswith("@example.in")
    check_page(page, "doorstep-error-nojs")

    page.fill("#pincode", PINCODE)
    reference = _submit_request(page)
    expect(page.locator("button[data-print]")).to_be_hidden()  # no dead button without JS
    check_page(page, "doorstep-confirmation-nojs")
    _track(page, reference, lang)


def test_doorstep_form_by_keyboard_only(new_page):
    """Tab, typing, arrow keys and Enter only; a visible focus ring at every stop."""
    page = new_page()
    page.goto("/")
    tab_to(page, "main a[href$='/request']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    check_page(page)
    for selector, text in (("#name", "Keyboard Citizen"), ("#address", "7, Station Road"),
                           ("#pincode", PINCODE), ("#email", "keys@example.in"), ("#mobile", _mobile())):
        tab_to(page, selector)
        page.keyboard.type(text)
    tab_to(page, "#service")
    page.keyboard.press("ArrowDown")  # the first service
    assert page.input_value("#service") != ""
    tab_to(page, "#details")
    page.keyboard.type("Ring the bell twice.")
    tab_to(page, "#sr-form button[type='submit']")
    assert focus_is_visible(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/registered" in page.url, page.url
    expect(page.locator(".big-ref")).to_contain_text("SR-")
    check_page(page)


@pytest.mark.parametrize("js", [True, False], ids=["htmx", "nojs"])
def test_doorstep_errors_are_announced(new_page, js):
    page = new_page(java_script_enabled=js)
    page.goto("/request")
    page.fill("#mobile", "12345")  # not an Indian mobile number
    with page.expect_navigation():
        page.locator("#sr-form button[type='submit']").click()  # everything else empty
    expect(page.locator("main [role='alert']")).to_have_count(1)
    for name in FIELDS:
        field = page.locator(f"#{name}")
        expect(field).to_have_attribute("aria-invalid", "true")
        error = page.locator(f"#err-{name}")
        expect(error).not_to_be_empty()
        assert error.get_attribute("aria-live") == "polite"
        assert f"err-{name}" in field.get_attribute("aria-describedby").split()
    assert page.input_value("#mobile") == "12345"  # what was typed is kept
    expect(page.locator("#name")).to_have_accessible_description(
        page.locator("#err-name").inner_text().strip())
    check_page(page, f"doorstep-errors-{'htmx' if js else 'nojs'}")


def test_the_error_summary_follows_the_corrections_made_with_htmx(new_page):
    """Issue 22, item 10: after a submit with errors, each field corrected (checked on
    blur) leaves the summary, and the summary goes away when none is wrong."""
    page = new_page()
    page.goto("/request")
    page.fill("#mobile", "12345")
    with page.expect_navigation():
        page.locator("#sr-form button[type='submit']").click()
    summary = page.locator("#form-summary")
    expect(summary.locator("a[href='#name']")).to_have_count(1)
    expect(summary.locator("a[href='#mobile']")).to_have_count(1)
    page.fill("#name", "Summary Citizen")
    with page.expect_response(lambda r: r.url.endswith("/request/check/name")):
        page.locator("#address").focus()  # the name's blur checks it
    htmx_idle(page)
    expect(summary.locator("a[href='#name']")).to_have_count(0)
    expect(summary.locator("a[href='#mobile']")).to_have_count(1)
    _fill_request(page, "Summary Citizen")
    page.locator("#name").focus()
    htmx_idle(page)
    expect(page.locator("#form-summary [role='alert']")).to_have_count(0)
    _submit_request(page)
