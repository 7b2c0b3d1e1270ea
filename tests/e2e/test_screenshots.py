"""The documentation's screenshots: each role's main page in English, Hindi and Persian.

Every run checks these pages (axe-core, no sideways scrolling) and writes the pictures to
tests/artifacts/e2e/screenshots/. With UPDATE_SCREENSHOTS=1 they are written to
docs/screenshots/ instead, where the README and docs/ show them, so the pictures are made
by the same code as the tests and never drift from the pages:

    UPDATE_SCREENSHOTS=1 E2E=1 .venv/bin/python -m pytest tests/e2e/test_screenshots.py

They are small on purpose: an 800×600 viewport (not the full page), JPEG quality 60.
"""

import os
from pathlib import Path

import pytest

from tests.e2e.support import ARTIFACTS, check_page, sign_in, switch_language

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# role -> (demo login description or None for the public, the page to open)
ROLES = {
    "citizen": (None, "/"),
    "operator": ("Bengaluru East Division operator", "/cases/"),
    "post-office": ("Shivajinagar Sub Office (Facility ID)", "/cases/?view=tickets-mine"),
    "supervisor": ("Karnataka Circle supervisor", "/dashboard/"),
    "helpdesk": ("L1 helpdesk operator", "/cases/?view=helpdesk-log"),
    "admin": ("CEPT administrator", "/admin/"),
}


def _folder() -> Path:
    folder = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("lang", ["en", "hi", "fa"])
def test_main_page_of_every_role(new_page, live_server, lang):
    folder = _folder()
    for role, (login, path) in ROLES.items():
        page = new_page(viewport={"width": 800, "height": 600})
        if login is None:
            page.goto(path)
            switch_language(page, lang)
        else:
            sign_in(page, live_server.login(login), lang=lang)
            page.goto(path)
        assert page.locator("html").get_attribute("lang") == lang, role
        check_page(page)
        target = folder / f"{role}-{lang}.jpg"
        page.screenshot(path=str(target), type="jpeg", quality=60, caret="initial")
        assert target.stat().st_size < 100_000, f"{target.name} is {target.stat().st_size} bytes"
