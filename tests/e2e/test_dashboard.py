"""Browser scenario of the monitoring dashboard: a Region officer reads the dashboard of
the Region (tiles, offices below it) and drills down one level to a Division (htmx swaps the
dashboard and pushes the URL, so the view can be bookmarked), then goes back up through the
breadcrumb. In Hindi and English."""

import pytest

from tests.e2e.support import DEVANAGARI, check_page, htmx_idle, menu_link, sign_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

REGION = "Bengaluru HQ Region officer"


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_region_officer_reads_the_dashboard_and_drills_down(new_page, live_server, lang):
    page = new_page()
    sign_in(page, live_server.login(REGION), lang=lang)
    menu_link(page, "/dashboard/").click()
    page.wait_for_url("**/dashboard/")
    if lang == "hi":
        assert DEVANAGARI.search(page.locator("main h1").inner_text())
    trail = page.locator("#dashboard nav.breadcrumb li")
    expect(trail).to_have_count(1)
    region = page.locator("#dashboard nav.breadcrumb [aria-current='page']").inner_text()
    rows = page.locator("#by-office tbody th a")
    assert rows.count() >= 1, "no office to drill down to"
    check_page(page, "dashboard")

    page.evaluate("() => { window.__e2eSameDocument = true; }")
    division = rows.first.inner_text()
    with page.expect_response(lambda r: "/dashboard/?" in r.url and "office=" in r.url
                              and r.request.headers.get("hx-request") == "true"):
        rows.first.click()
    page.wait_for_url("**/dashboard/?*office=*")  # hx-push-url: the drill-down is a URL
    expect(trail).to_have_count(2)
    expect(page.locator("#dashboard nav.breadcrumb [aria-current='page']")).to_have_text(division)
    expect(trail.first.locator("a")).to_have_text(region)
    assert page.evaluate("() => window.__e2eSameDocument === true"), "the drill-down reloaded the page"
    htmx_idle(page)
    check_page(page, "dashboard-drilled")

    # The pushed URL works on its own (a bookmark, or without JavaScript).
    drilled = page.url
    page.goto(drilled)
    expect(page.locator("#dashboard nav.breadcrumb [aria-current='page']")).to_have_text(division)
    check_page(page)

    # Back up through the breadcrumb.
    trail.first.locator("a").click()
    page.wait_for_url(lambda url: url.endswith("/dashboard/") or "office=" not in url)
    expect(trail).to_have_count(1)
    htmx_idle(page)
    check_page(page)


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_doorstep_monitoring_is_the_dashboard_filtered_to_doorstep_requests(new_page, live_server, lang):
    """Seed 001 §4: the Region reads its doorstep requests on the dashboard. The old
    address lands on the filtered view; choosing the kind in the filter (htmx, URL pushed)
    shows the same: by office, by type of service and office, ageing per office."""
    page = new_page()
    sign_in(page, live_server.login(REGION), lang=lang)
    page.goto("/doorstep/monitor")
    page.wait_for_url("**/dashboard/?kind=service_request")
    expect(page.locator("#kind")).to_have_value("service_request")
    expect(page.locator("#by-category")).to_have_count(1)
    expect(page.locator("#ageing tfoot th")).to_have_count(1)
    check_page(page, "dashboard-doorstep")

    page.goto("/dashboard/")
    expect(page.locator("#by-category")).to_have_count(0)
    page.evaluate("() => { window.__e2eSameDocument = true; }")
    with page.expect_response(lambda r: "kind=service_request" in r.url
                              and r.request.headers.get("hx-request") == "true"):
        page.select_option("#kind", "service_request")
    page.wait_for_url("**/dashboard/?*kind=service_request*")
    expect(page.locator("#by-category")).to_have_count(1)
    assert page.evaluate("() => window.__e2eSameDocument === true"), "the filter reloaded the page"
    htmx_idle(page)
    check_page(page)


def test_persian_chart_labels_stay_off_the_axis_and_inside_the_chart(new_page, live_server):
    """In Persian, the trend chart's y-axis numbers sit left of the axis, and its first and
    last dates inside the drawing (SVG text inherits the page's right-to-left direction
    unless the stylesheet sets it: every anchor would turn round)."""
    page = new_page()
    sign_in(page, live_server.login(REGION), lang="fa")
    page.goto("/dashboard/?days=90")
    svg = page.locator(".trend svg")
    if svg.count() == 0:
        pytest.skip("no trend chart in the demo data")
    box = svg.bounding_box()
    axis_x = page.evaluate("""() => {
        const l = document.querySelectorAll('.trend svg line.axis')[1];
        return l.getBoundingClientRect().left; }""")
    ticks = page.evaluate("""() => Array.from(document.querySelectorAll('.trend svg text.tick'))
        .map(t => { const r = t.getBoundingClientRect(); return [r.left, r.right]; })""")
    assert ticks, "no tick labels"
    n_y = page.locator(".trend svg text.tick[text-anchor='end']").count() - 1  # the last date is anchored at its end too
    for left, right in ticks[:n_y]:
        assert right <= axis_x + 1, (right, axis_x)
    for left, right in ticks:
        assert left >= box["x"] - 1 and right <= box["x"] + box["width"] + 1, (left, right, box)
