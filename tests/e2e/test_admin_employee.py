"""An administrator on a cheap phone (360×740) creates an employee: the office is found
with the picker (live search with htmx, the "Find office" button without JavaScript),
chosen and the roles ticked by keyboard. The offices tree is indented by CSS classes:
no inline style for the CSP to refuse (a refusal fails the test, see conftest.py)."""

import pytest

from tests.e2e.support import check_page, htmx_idle, sign_in, tab_to

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
ADMIN = "CEPT administrator"
OFFICE = "Shivajinagar"  # a demo Sub Office


def _indent(page, depth: int) -> float:
    cell = page.locator(f"#admin-rows td.tree-name.depth-{depth}").first
    return float(cell.evaluate("(el) => parseFloat(getComputedStyle(el).paddingInlineStart)"))


def test_the_offices_tree_is_indented_without_inline_styles(new_page, live_server):
    page = new_page()
    sign_in(page, live_server.login(ADMIN))
    page.goto("/admin/offices")
    assert page.locator("#admin-rows [style]").count() == 0
    assert _indent(page, 0) < _indent(page, 1) < _indent(page, 2)
    check_page(page, "admin-offices")
    r = page.request.get("/favicon.ico")
    assert r.status == 200


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_new_employee_office_picker_by_keyboard_on_a_phone(new_page, live_server, lang):
    page = new_page(**PHONE)
    sign_in(page, live_server.login(ADMIN), lang=lang)
    page.goto("/admin/users/new")
    check_page(page, "admin-user-new")
    login_id = "1999" + ("0001" if lang == "en" else "0002")
    page.fill("#login_id", login_id)
    page.fill("#name", f"Keyboard Person {lang}")

    tab_to(page, "#office_code")
    with page.expect_response(lambda r: "/admin/offices/choices" in r.url):
        page.keyboard.type(OFFICE, delay=20)
    htmx_idle(page)
    radios = page.locator("#office-choices input[name=office_id]")
    expect(radios.first).to_be_visible()
    shown = OFFICE if lang == "en" else "شیواجی‌نگر"  # found by its English name, shown in the reader's
    assert all(shown in label for label in page.locator("#office-choices label").all_inner_texts())
    check_page(page, "admin-user-new-search")

    tab_to(page, "#office-choices input[name=office_id]")
    page.keyboard.press("Space")
    expect(radios.first).to_be_checked()
    tab_to(page, "#roles-0")
    page.keyboard.press("Space")
    expect(page.locator("#roles-0")).to_be_checked()
    tab_to(page, "main form button.primary")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text(login_id)
    office = live_server.query('SELECT o.name FROM "user" u JOIN org_unit o ON o.id = u.office_id '
                               "WHERE u.login_id = ?", login_id)
    assert office and OFFICE in office[0][0]


def test_new_employee_office_picker_without_javascript(new_page, live_server):
    page = new_page(java_script_enabled=False, **PHONE)
    sign_in(page, live_server.login(ADMIN))
    page.goto("/admin/users/new")
    page.fill("#login_id", "19990003")
    page.fill("#name", "No Script Person")
    page.fill("#office_code", OFFICE)
    with page.expect_navigation():
        page.locator("button[name=find_office]").click()
    expect(page.locator("#login_id")).to_have_value("19990003")  # nothing typed is lost
    expect(page.locator("#name")).to_have_value("No Script Person")
    labels = page.locator("#office-choices label").all_inner_texts()
    assert labels and all(OFFICE in label for label in labels)
    check_page(page, "admin-user-new-found-nojs")
    page.locator("#office-choices input[name=office_id]").first.check()
    page.locator("#roles-0").check()
    with page.expect_navigation():
        page.locator("main form button.primary").click()
    expect(page.locator("main")).to_contain_text("19990003")
