"""Browser scenario of an office ticket (seed 000): a Sub Office raises it at
/tickets/new; the Division assigns it to the Region, the Region escalates it to the Circle,
the Circle assigns it to CEPT and CEPT closes it, each on the shared case page with the
action forms swapped by htmx; the Sub Office then sees it closed with CEPT's answer."""

import pytest

from tests.e2e.support import check_page, menu_link, sign_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

SUB_OFFICE = "Shivajinagar Sub Office (Facility ID)"
CLIMB = [  # who, the action, the label it has in English, the page's name
    ("Bengaluru East Division operator", "escalate", "Assign to Region", "ticket-division"),
    ("Bengaluru HQ Region officer", "escalate", "Escalate to Circle", "ticket-region"),
    ("Karnataka Circle supervisor", "escalate", "Assign to CEPT", "ticket-circle"),
    ("CEPT ticket handler", "close", None, "ticket-cept"),
]


def _action_form(page, action: str):
    return page.locator(f"details.action:has(input[name='action'][value='{action}'])")


def _act(page, reference: str, action: str, text: str) -> None:
    """Open the action's <details>, write the details and submit (hx-post)."""
    form = _action_form(page, action)
    form.locator("summary").click()
    form.locator("textarea[name='text']").fill(text)
    with page.expect_response(lambda r: r.url.endswith(f"/cases/{reference}/act")) as resp:
        form.locator("button[type='submit']").click()
    assert resp.value.ok, resp.value.status
    page.wait_for_load_state()


@pytest.mark.parametrize("lang", ["en"])  # hi passes too; left out to keep the suite short
def test_ticket_climbs_from_sub_office_to_cept_and_is_closed(new_page, live_server, lang):
    page = new_page()
    sign_in(page, live_server.login(SUB_OFFICE), lang=lang)
    menu_link(page, "/tickets/new").click()
    page.wait_for_url("**/tickets/new")
    check_page(page, "ticket-new")
    subject = f"Handheld shows a blank screen after login ({lang})"
    page.fill("#subject", subject)
    page.select_option("#category", index=1)
    page.fill("#description", "Since this morning the DARPAN app shows a blank screen after login.")
    with page.expect_navigation():
        page.locator("#ticket-form button[type='submit']").click()
    page.wait_for_url("**/created")
    reference = page.locator(".reference").inner_text().strip()
    assert reference
    check_page(page, "ticket-created")

    for who, action, label, name in CLIMB:
        page.context.clear_cookies()
        sign_in(page, live_server.login(who), lang=lang)
        page.goto(f"/cases/{reference}")
        expect(page.locator(".case-header .status")).to_have_class("status status-open")
        form = _action_form(page, action)
        expect(form).to_have_count(1)
        if label and lang == "en":
            expect(form.locator("summary")).to_have_text(label)
        check_page(page, name)
        text = f"{action} by {who}"
        _act(page, reference, action, text)
        # The panel is swapped in place (the offices above the raising one still see it).
        expect(page.locator("#timeline .event-text").last).to_have_text(text)
        expect(_action_form(page, action)).to_have_count(0)
        if action == "close":
            expect(page.locator(".case-header .status")).to_have_class("status status-closed")
        check_page(page, f"{name}-done")

    page.context.clear_cookies()
    sign_in(page, live_server.login(SUB_OFFICE), lang=lang)
    page.goto(f"/cases/{reference}")
    expect(page.locator(".case-header .status")).to_have_class("status status-closed")
    expect(page.locator("#timeline .event-text", has_text="close by CEPT ticket handler")).to_have_count(1)
    check_page(page, "ticket-closed-raiser")
