"""How references and due times read on the pages (issue 22, item 19): a reference
stays on one line (a CSS class, no inline style, ordinary hyphens so it copies as
typed), and a due time at the end of a business day reads as that day — "end of Mon
23 Nov" — in English, Hindi and Persian (Solar Hijri, Persian digits), not 11:59:59 PM."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import time_machine

from app import i18n
from tests.test_helpdesk_sla import FRIDAY, build_desk, log

ROOT = Path(__file__).resolve().parent.parent
END_OF_MONDAY = datetime(2026, 11, 23, 18, 29, 59)  # 23:59:59 in India


@pytest.fixture
def desk(world):
    return build_desk(world)


def test_end_of_business_day_reads_as_the_day(app):
    assert i18n.format_due(END_OF_MONDAY, "en") == "end of Mon 23 Nov"
    assert i18n.format_due(END_OF_MONDAY, "hi") == "सोम 23 नव॰ को दिन की समाप्ति"
    # 23 Nov 2026 is 2 Azar 1405, a Monday (دوشنبه)
    assert i18n.format_due(END_OF_MONDAY, "fa") == "پایان روز دوشنبه ۲ آذر"
    for locale in ("en", "hi", "fa"):
        assert "59" not in i18n.format_due(END_OF_MONDAY, locale)
        assert "۵۹" not in i18n.format_due(END_OF_MONDAY, locale)


def test_other_due_times_keep_their_time(app):
    at_noon = datetime(2026, 11, 23, 6, 30)  # 12:00 in India (a confirmation window, a paused clock)
    for locale in ("en", "hi", "fa"):
        assert i18n.format_due(at_noon, locale) == i18n.format_datetime(at_noon, locale)
    assert i18n.format_due(None, "en") == ""


@pytest.mark.parametrize("lang, day", [("en", "end of Mon 23 Nov"),
                                       ("hi", "सोम 23 नव॰ को दिन की समाप्ति"),
                                       ("fa", "پایان روز دوشنبه ۲ آذر")])
def test_helpdesk_pages_show_the_business_day(client, auth, desk, lang, day):
    with time_machine.travel(FRIDAY, tick=False):
        case = log(desk, priority="P1", now=FRIDAY)
        assert case.response_due == END_OF_MONDAY
        client.set_cookie("lang", lang)
        auth.login(desk.team_user.login_id)
        for url in ("/cases/?view=helpdesk-queue", f"/cases/{case.reference}"):
            page = client.get(url).get_data(as_text=True)
            assert day in page, url
            assert "11:59:59" not in page and "23:59" not in page and "۲۳:۵۹" not in page, url


def test_references_stay_on_one_line(client, auth, desk):
    case = log(desk, priority="P1")
    auth.login(desk.team_user.login_id)
    for url in ("/cases/?view=helpdesk-queue", f"/cases/{case.reference}"):
        page = client.get(url).get_data(as_text=True)
        # the reference as typed (plain hyphen-minus: it copies as it reads), in the class
        assert f'<bdi dir="ltr" class="ref">{case.reference}</bdi>' in page, url
        assert "\u2011" not in page and " style=" not in page, url
    css = (ROOT / "app/static/css/app.css").read_text()
    assert re.search(r"\.ref\s*\{\s*white-space:\s*nowrap;\s*\}", css)


def test_no_template_shows_a_reference_that_may_break():
    """Every reference in a template goes through the `ref` filter."""
    offenders = []
    for path in (ROOT / "app/templates").rglob("*.html"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"reference\s*\|\s*ltr", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}")
    assert offenders == []
