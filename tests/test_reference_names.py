"""Issue 25, items 1–2 (reference data): the catalogue the README's `flask demo-data`
loads has real Hindi (Devanagari) and Persian names for every category, service,
complaint type, request subject and helpdesk category; holiday names from the `holidays`
package are shown in Hindi where the package names them so, and marked English on
Persian pages; priorities on the SLA pages are named in the reader's language."""

from __future__ import annotations

from datetime import date

import pytest

from app.extensions import db
from app.models import Holiday
from app.services.administration import demo
from app.services.engine import sla


def _devanagari(text: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" for ch in text)


def _persian(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def _catalogue_rows():
    """(code, en, hi, fa) of every catalogue row the demo loader writes."""
    yield from demo.SERVICES
    yield from demo.TICKET_CATEGORIES
    for code, en, hi, fa, services, types in demo.COMPLAINT_TAXONOMY:
        yield code, en, hi, fa
        yield from services
        yield from types
    for _code, _name, subjects in demo.DEPARTMENTS:
        yield from subjects
    for code, en, hi, fa, _team in demo.HELPDESK_CATEGORIES:
        yield code, en, hi, fa


def test_every_demo_catalogue_row_has_hindi_and_persian_names():
    rows = list(_catalogue_rows())
    assert len(rows) > 30
    for code, en, hi, fa in rows:
        assert _devanagari(hi) and hi != en, code
        assert _persian(fa) and fa != en, code


def _holidays_page(client, lang):
    client.set_cookie("lang", lang)
    r = client.get("/admin/holidays?year=2026")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_holiday_names_in_hindi_and_persian(client, auth, world):
    """The `holidays` package names India's days in English and Hindi; the Persian names
    come from our catalogue (`i18n.HOLIDAY_NAMES`). An administrator's own name is shown as
    typed, marked with its language nowhere."""
    sla.load_national_holidays([2026])
    db.session.add(Holiday(day=date(2026, 12, 28), name="Foundation day of the Circle"))
    db.session.commit()
    auth.login(world.admin.login_id)
    hindi = _holidays_page(client, "hi")
    assert "गणतंत्र दिवस" in hindi and "Republic Day" not in hindi
    assert "Foundation day of the Circle" in hindi  # an administrator's own name, as typed
    persian = _holidays_page(client, "fa")
    assert "روز جمهوری" in persian and "روز استقلال" in persian and "Republic Day" not in persian
    assert "Republic Day" in _holidays_page(client, "en")


@pytest.mark.parametrize("lang, name, shown", [
    ("fa", "Independence Day; Prophet's Birthday (estimated)", "روز استقلال؛ میلاد پیامبر (تخمینی)"),
    ("hi", "Dussehra; Gandhi Jayanti", "दशहरा; गांधी जयंती"),
    ("fa", "Eid al-Fitr (estimated)", "عید فطر (تخمینی)"),
    ("en", "Eid al-Fitr (estimated)", "Eid al-Fitr (estimated)"),
    ("fa", "Foundation day of the Circle", None),  # not a package's name: not ours to name
])
def test_the_packages_joined_and_estimated_names_are_composed(app, lang, name, shown):
    from flask_babel import force_locale

    from app.i18n import HOLIDAY_NAMES, holiday_name

    with app.test_request_context(), force_locale(lang):
        assert holiday_name(name) == shown
        if lang != "en":  # every name of the catalogue is translated
            assert all(str(label) != english for english, label in HOLIDAY_NAMES.items())


@pytest.mark.parametrize("lang, words", [("fa", "بحرانی"), ("hi", "गंभीर")])
def test_priorities_on_the_sla_pages_in_the_readers_language(client, auth, world, lang, words):
    from flask_babel import force_locale

    from app.i18n import PRIORITY_LABELS

    with force_locale(lang):
        p1 = str(PRIORITY_LABELS["P1"])
    assert words in p1
    auth.login(world.admin.login_id)
    client.set_cookie("lang", lang)
    for path in ("/admin/sla", "/helpdesk/report"):
        html = client.get(path).get_data(as_text=True)
        assert p1 in html and "P1 Critical" not in html, path
