"""The pages of the citizen, ticket, complaint, interaction and dashboard scenarios on a
cheap phone (360×740): check_page fails on any sideways scrolling at this viewport (and on
serious axe violations), with forms showing their errors."""

import random
import re

import pytest

from tests.e2e.support import check_page, sign_in, switch_language

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def _respond_link(live_server) -> str:
    """A signed link the demo data has sent to some customer."""
    rows = live_server.query("SELECT body FROM notification WHERE template = 'confirmation_requested' "
                             "AND body LIKE '%/respond/%' ORDER BY id DESC LIMIT 1")
    assert rows, "the demo data has no resolution awaiting a customer's confirmation"
    return re.search(r"/respond/[A-Za-z0-9._-]+", rows[0][0]).group(0)


# Persian (right to left, the likelier to break); English passes too, left out for time.
@pytest.mark.parametrize("lang", ["fa"])
def test_scenario_pages_fit_a_phone(new_page, live_server, lang):
    page = new_page(**PHONE)
    page.goto("/request")
    switch_language(page, lang)
    check_page(page, "doorstep-form")
    with page.expect_navigation():
        page.locator("#sr-form button[type='submit']").click()  # every error shown
    check_page(page, "doorstep-errors")
    page.fill("#name", "Phone Citizen")
    page.fill("#address", "3, Temple Street")
    page.fill("#pincode", "560001")
    page.fill("#email", "phone@example.in")
    page.fill("#mobile", f"98{random.randrange(10_000_000, 100_000_000)}")  # a new request each run
    page.select_option("#service", index=1)
    with page.expect_navigation():
        page.locator("#sr-form button[type='submit']").click()
    reference = page.locator(".big-ref").inner_text().strip()
    check_page(page, "doorstep-confirmation")
    page.goto("/track")
    check_page(page, "track")
    page.goto(f"/track/{reference}")
    check_page(page, "track-detail")
    page.goto(_respond_link(live_server))
    for action in page.locator("#respond-panel details.action").all():
        if action.get_attribute("open") is None:
            action.locator("summary").click()
    check_page(page, "respond")

    sign_in(page, live_server.login("Shivajinagar Sub Office (Facility ID)"), lang=lang)
    page.goto("/tickets/new")
    check_page(page, "ticket-new")

    page.context.clear_cookies()
    sign_in(page, live_server.login("Bengaluru East Division operator"), lang=lang)
    page.goto("/complaints/new")
    check_page(page, "complaint-new")
    page.goto("/interactions/new")
    check_page(page, "interaction-new")

    page.context.clear_cookies()
    sign_in(page, live_server.login("IT Support Department member"), lang=lang)
    page.goto("/cases/?view=cartable")
    check_page(page, "interaction-cartable")
    first = page.locator("main table a[href*='/interactions/']").first
    if first.count():
        first.click()
        page.wait_for_url(re.compile(r"/cases/[^/]+$"))  # the old address redirects
        for action in page.locator("#case-panel details.action").all():
            action.locator("summary").click()
        check_page(page, "interaction-case")

    page.context.clear_cookies()
    sign_in(page, live_server.login("Bengaluru HQ Region officer"), lang=lang)
    page.goto("/dashboard/")
    check_page(page, "dashboard")
    page.locator("#by-office tbody th a").first.click()
    page.wait_for_url("**/dashboard/?*office=*")
    check_page(page, "dashboard-drilled")
