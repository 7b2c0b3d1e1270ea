"""Browser scenario of an organizational interaction (seed 004), in Persian (and English):
an employee sends a request to a department («ثبت جدید»), a department member assigns it to
a colleague («اختصاص داده شود به»), the colleague answers, the requester says it is not
resolved, the colleague answers again, the requester says it is resolved and fills in the
satisfaction survey. The request's page is the one case page (`/cases/<ref>`); every
action is an htmx form posted to `/cases/<ref>/act` that swaps the page's panel."""

import re

import pytest

from tests.e2e.support import ARABIC_SCRIPT, PERSIAN_DIGIT, check_page, htmx_idle, menu_link, sign_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

REQUESTER = "Bangalore GPO HO counter operator"
MEMBER = "IT Support Department member"
COLLEAGUE = "IT Support Department colleague"
ASSIGN_LABEL = {"fa": "اختصاص داده شود به", "en": "Assign to"}


def _act(page, reference: str, action: str, text: str | None = None) -> None:
    """Submit the panel's form of `action` (hx-post; the panel is swapped)."""
    details = page.locator(f"#case-panel details.action:has(input[name='action'][value='{action}'])")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    form = details.locator("form")
    if text is not None:
        form.locator("textarea[name='text']").fill(text)
    with page.expect_response(lambda r: r.url.endswith(f"/cases/{reference}/act")) as resp:
        form.locator("button[type='submit']").click()
    assert resp.value.ok, resp.value.status
    htmx_idle(page)


def _status(page):
    return page.locator("#case-panel .case-header .status")


def _open_as(page, live_server, who: str, reference: str, lang: str) -> None:
    page.context.clear_cookies()
    sign_in(page, live_server.login(who), lang=lang)
    page.goto(f"/cases/{reference}")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_interaction_assigned_answered_not_resolved_then_resolved_and_rated(new_page, live_server, lang):
    page = new_page()
    sign_in(page, live_server.login(REQUESTER), lang=lang)
    menu_link(page, "/interactions/new").click()
    page.wait_for_url("**/interactions/new")
    check_page(page, "interaction-new")
    expect(page.locator("input[name='addressed_to'][value='department']")).to_be_checked()
    from app.services.administration.demo import OFFICE_NAMES

    department = "IT Support Department"  # offered by its name in the reader's language
    page.select_option("#department", label=department if lang == "en" else OFFICE_NAMES[department][1])
    expect(page.locator("#subject option")).not_to_have_count(1)  # the subjects, swapped in
    htmx_idle(page)
    page.select_option("#subject", index=1)
    page.fill("#description", f"The counter printer jams on every receipt ({lang}).")
    with page.expect_navigation():  # HX-Redirect: the request's page arrives whole
        page.locator("#interaction-form button.primary[type='submit']").click()
    page.wait_for_url(re.compile(r"/cases/[^/]+$"))
    reference = page.url.rsplit("/", 1)[1]
    assert reference != "new"
    expect(page.locator("#flash .flash-success")).to_have_count(1)
    expect(_status(page)).to_have_class("status status-open")
    if lang == "fa":  # Solar Hijri date with Persian digits
        sent_on = page.locator("#case-panel .facts time, #case-panel .facts dd").all_inner_texts()
        assert any(PERSIAN_DIGIT.search(t) for t in sent_on), sent_on
    check_page(page, "interaction-sent")

    # A member of the department assigns it to a colleague.
    _open_as(page, live_server, MEMBER, reference, lang)
    assign = page.locator("#case-panel details.action:has(input[name='action'][value='assign'])")
    expect(assign.locator("summary")).to_have_text(ASSIGN_LABEL[lang])
    check_page(page, "interaction-cartable-case")
    assign.locator("summary").click()
    colleague_name = live_server.user_name(live_server.login(COLLEAGUE))
    page.select_option("#user-assign", label=colleague_name)
    _act(page, reference, "assign", "Please look at this printer today.")
    expect(page.locator("#case-panel .facts").first).to_contain_text(colleague_name)
    check_page(page, "interaction-assigned")

    # The colleague answers.
    _open_as(page, live_server, COLLEAGUE, reference, lang)
    check_page(page)
    _act(page, reference, "propose_resolution", "Cleaned the rollers; please try again.")
    expect(_status(page)).to_have_class("status status-awaiting_confirmation")
    check_page(page, "interaction-answered")

    # The requester: not resolved.
    _open_as(page, live_server, REQUESTER, reference, lang)
    check_page(page, "interaction-confirm")
    _act(page, reference, "reject", "It still jams on the second receipt.")
    expect(_status(page)).to_have_class("status status-in_progress")
    check_page(page)

    # The colleague answers again.
    _open_as(page, live_server, COLLEAGUE, reference, lang)
    _act(page, reference, "propose_resolution", "Replaced the paper guide.")
    expect(_status(page)).to_have_class("status status-awaiting_confirmation")
    check_page(page)

    # The requester: resolved, then the survey.
    _open_as(page, live_server, REQUESTER, reference, lang)
    _act(page, reference, "accept")
    expect(_status(page)).to_have_class("status status-closed")
    survey = page.locator("#case-panel details.action:has(input[name='action'][value='rate'])")
    expect(survey).to_have_count(1)
    survey.locator("summary").click()
    check_page(page, "interaction-survey")
    survey.locator("input[name='rating'][value='5']").check()
    survey.locator("textarea[name='comment']").fill("Quick and kind.")
    _act(page, reference, "rate")
    expect(survey).to_have_count(0)
    expect(page.locator("#case-panel section[aria-labelledby='h-survey-done']")).to_contain_text(
        "۵" if lang == "fa" else "5")
    if lang == "fa":
        assert ARABIC_SCRIPT.search(page.locator("#case-panel h1").inner_text())
    check_page(page, "interaction-rated")
