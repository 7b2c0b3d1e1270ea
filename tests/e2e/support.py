"""What every browser scenario uses: check a page (axe-core, no horizontal scrolling,
screenshot), sign in, switch the language.

Selectors use ids, names and attributes, never translated words, so one scenario runs
unchanged in English, Hindi and Persian.
"""

from __future__ import annotations

import re
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "e2e"
AXE_SOURCE = (Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text()
DEMO_PASSWORD = "Seva@2026"  # app/services/administration/demo.py
FAILING_IMPACTS = ("serious", "critical")
PERSIAN_DIGIT = re.compile(r"[۰-۹]")
ASCII_DIGIT = re.compile(r"[0-9]")
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF]")


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now.

    axe is evaluated through the DevTools protocol, which the page's CSP (script-src
    'self', no eval) does not block, so the app's real headers stay on."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + "  " + n.html.slice(0, 160))}));
    }""")
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page scrolls sideways (0 = fits the viewport)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def check_page(page, name: str | None = None, *, lang: str | None = None) -> None:
    """Run on EVERY page a scenario visits (and after every htmx swap worth checking):
    no serious/critical axe violation, no sideways scrolling at the context's viewport,
    and, when `name` is given, a full-page screenshot under tests/artifacts/e2e/<lang>/.

    A page without JavaScript cannot run axe, so its exact HTML is audited in a twin
    page (same origin, viewport and stylesheets) that has JavaScript."""
    lang = lang or html_lang(page)
    where = f"{page.url} ({lang})"
    if name:
        folder = ARTIFACTS / lang
        folder.mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"] if page.viewport_size else 0
        suffix = "-mobile" if width and width < 600 else ""
        # caret="initial": hiding the caret would inject a <style>, which the CSP refuses.
        page.screenshot(path=str(folder / f"{name}{suffix}.png"), full_page=True, caret="initial")
    audited = _twin_with_same_html(page) if no_javascript(page) else page
    violations = axe_violations(audited)
    assert not violations, f"axe-core on {where}:\n" + "\n".join(
        f"- {v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in violations)
    overflow = horizontal_overflow(audited)
    assert overflow <= 0, f"{where} scrolls sideways by {overflow}px"


SNAPSHOT_PATH = "/__e2e_snapshot__"


def no_javascript(page) -> bool:
    return getattr(page, "e2e_twin", None) is not None


def _twin_with_same_html(page):
    twin = page.e2e_twin
    html = page.content()
    twin.unroute(f"**{SNAPSHOT_PATH}")
    twin.route(f"**{SNAPSHOT_PATH}", lambda route: route.fulfill(
        status=200, body=html, content_type="text/html; charset=utf-8"))
    origin = page.url.split("/", 3)[:3]
    twin.goto("/".join(origin) + SNAPSHOT_PATH)
    return twin


def html_lang(page) -> str:
    # A locator, not page.evaluate: it also works where JavaScript is off.
    return page.locator("html").get_attribute("lang")


def html_dir(page) -> str:
    return page.locator("html").get_attribute("dir")


def switch_language(page, code: str) -> None:
    """Press the language button in the header (a plain form post; works without JS)."""
    if html_lang(page) == code:
        return
    with page.expect_navigation():
        page.locator(f'form.lang-switch button[name="lang"][value="{code}"]').click()
    assert html_lang(page) == code


def sign_in(page, login_id: str, password: str = DEMO_PASSWORD, lang: str = "en") -> None:
    """Sign in through the real form and make sure the page speaks `lang` (a signed-in
    user's language is stored on their profile, so it is set again every time)."""
    page.goto("/auth/login")
    page.fill("#login_id", login_id)
    page.fill("#password", password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("form[action$='/auth/logout']").count() == 1, "sign-in failed"
    switch_language(page, lang)


def menu_link(page, href_end: str):
    """The top menu's link whose address ends with `href_end`, its group (a <details>,
    app/nav.py) opened first when it is in one: what a person clicks, without JavaScript too."""
    link = page.locator(f"nav.main-nav a[href$='{href_end}']").first
    if not link.is_visible():
        page.locator("nav.main-nav details.menu-group").filter(
            has=page.locator(f"a[href$='{href_end}']")).locator("summary").click()
    return link


def box(page, selector: str) -> dict:
    b = page.locator(selector).first.bounding_box()
    assert b is not None, f"{selector} is not visible"
    return b


def focus_is_visible(page) -> bool:
    """The focused element shows a focus ring (an outline of at least 2px)."""
    return page.evaluate("""() => {
        const el = document.activeElement, s = getComputedStyle(el);
        return el !== document.body && s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
    }""")


def tab_to(page, selector: str, limit: int = 30) -> None:
    """Press Tab until `selector` has the focus; every stop must show a visible focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert focus_is_visible(page), "focus ring missing on " + page.evaluate(
            "() => document.activeElement.outerHTML.slice(0, 120)")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with Tab")


def htmx_idle(page) -> None:
    """Wait until no htmx request, swap or settle is under way (new content processed,
    so its triggers listen)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")
