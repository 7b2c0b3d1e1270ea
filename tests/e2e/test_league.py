"""Browser scenario of "Where to act" (issue 27): a Region officer opens the league table
from the dashboard, sorts it by a column (a plain link), and reads it in Persian (right to
left) on a phone and without JavaScript. No script error, no CSP refusal, no serious axe
violation, no sideways scrolling of the page (the wide tables scroll in their own box)."""

import pytest

from tests.e2e.support import check_page, sign_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

REGION = "Bengaluru HQ Region officer"


def test_region_officer_sorts_the_league_table(new_page, live_server):
    page = new_page()
    sign_in(page, live_server.login(REGION), lang="en")
    page.goto("/dashboard/")
    page.get_by_role("link", name="Where to act: league table of the offices below").click()
    page.wait_for_url("**/dashboard/league")
    expect(page.locator("main h1")).to_have_text("Where to act")
    expect(page.locator("table.league th[aria-sort]")).to_have_count(1)
    check_page(page, "league")
    page.locator("table.league thead a", has_text="Office").click()
    page.wait_for_url("**/dashboard/league?sort=name&dir=asc")
    expect(page.locator("table.league th[aria-sort='ascending']")).to_contain_text("Office")
    check_page(page)


@pytest.mark.parametrize("javascript", [True, False])
def test_league_in_persian_on_a_phone(new_page, live_server, javascript):
    page = new_page(viewport={"width": 360, "height": 740}, java_script_enabled=javascript)
    sign_in(page, live_server.login(REGION), lang="fa")
    page.goto("/dashboard/league?period=month")
    assert page.locator("html").get_attribute("dir") == "rtl"
    expect(page.locator("main h1")).to_have_text("کجا اقدام کنیم")
    check_page(page, "league-fa" if javascript else None, lang="fa")
