"""Languages: selection, right-to-left layout, localized numbers and dates, catalogues."""

from datetime import date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app import i18n

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("lang,direction,word", [
    ("en", "ltr", "Staff sign-in"),
    ("hi", "ltr", "कर्मचारी"),
    ("fa", "rtl", "ورود"),
])
def test_language_cookie_sets_lang_dir_and_words(client, lang, direction, word):
    client.set_cookie("lang", lang)
    page = client.get("/").get_data(as_text=True)
    assert f'<html lang="{lang}" dir="{direction}">' in page
    assert word in page


def test_accept_language_is_used_without_cookie(client):
    page = client.get("/", headers={"Accept-Language": "fa-IR,fa;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert 'dir="rtl"' in page


def test_language_switch_sets_cookie_and_user_preference(client, auth, world):
    auth.login(world.d1_op.login_id)
    r = client.post("/language", data={"lang": "hi", "next": "/cases/"})
    assert r.status_code == 303 and r.headers["Location"] == "/cases/"
    assert "lang=hi" in r.headers["Set-Cookie"]
    assert world.d1_op.locale == "hi"
    assert 'lang="hi"' in client.get("/").get_data(as_text=True)


def test_language_switch_refuses_foreign_redirect(client):
    r = client.post("/language", data={"lang": "fa", "next": "//evil.example"})
    assert r.headers["Location"] == "/"


def test_persian_digits_and_solar_hijri_dates(app):
    # the Persian group and decimal separators (٬ ٫), not a Latin comma or point
    assert i18n.format_number(1234567, "fa") == "۱٬۲۳۴٬۵۶۷"
    assert i18n.format_number(3.6, "fa") == "۳٫۶"
    assert i18n.format_list(["a", "b", "c"], "fa") == "a،‏ b، و c"
    assert i18n.format_date(date(2026, 11, 22), "fa") == "۱ آذر ۱۴۰۵"
    assert i18n.format_date(date(2026, 11, 22), "hi") == "22 नव॰ 2026"
    assert "2026" in i18n.format_datetime(datetime(2026, 11, 22, 5, 0), "en")
    # 05:00 UTC is 10:30 in India
    assert "۱۰:۳۰" in i18n.format_datetime(datetime(2026, 11, 22, 5, 0), "fa")


def test_references_are_isolated_in_rtl_text(app):
    assert str(i18n.ltr("SR-2611-ABC<1>")) == '<bdi dir="ltr">SR-2611-ABC&lt;1&gt;</bdi>'


def test_error_pages_are_translated_inside_the_layout(client):
    client.set_cookie("lang", "fa")
    r = client.get("/no/such/page")
    page = r.get_data(as_text=True)
    assert r.status_code == 404 and 'dir="rtl"' in page and "Page not found" not in page


@pytest.mark.parametrize("lang", ["hi", "fa"])
def test_catalogues_are_complete(lang):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert missing == [] and fuzzy == []


@pytest.mark.parametrize("lang", ["hi", "fa"])
def test_placeholders_survive_translation(lang):
    import re

    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    for m in catalog:
        if m.id and isinstance(m.id, str):
            assert set(re.findall(r"%\(\w+\)s", m.id)) == set(re.findall(r"%\(\w+\)s", m.string)), m.id


def test_every_marked_string_is_in_the_catalogues():
    """The code's strings and the catalogues agree (run `make update-translations`)."""
    import subprocess
    import sys
    import tempfile

    pybabel = Path(sys.executable).with_name("pybabel")
    with tempfile.NamedTemporaryFile(suffix=".pot") as pot:
        subprocess.run([str(pybabel), "--quiet", "extract", "-F", "babel.cfg", "-k", "_l", "-o", pot.name, "."],
                       cwd=ROOT, check=True)
        extracted = {m.id for m in read_po(open(pot.name, "rb")) if m.id}
    for lang in ("hi", "fa"):
        with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
            have = {m.id for m in read_po(fh) if m.id}
        assert extracted - have == set(), lang


def test_datetimes_read_as_babel_writes_them_in_every_latin_script_locale(app):
    """format_datetime builds Babel's "medium" date and time from patterns parsed once:
    the same text as babel.dates.format_datetime, across the year (daylight saving in
    other zones) and at every hour."""
    from datetime import datetime, timedelta

    from babel.dates import format_date as babel_format_date
    from babel.dates import format_datetime as babel_format_datetime
    from babel.dates import format_time as babel_format_time

    from app.i18n import _babel_locale, _local, format_datetime

    with app.test_request_context():
        for zone in ("Asia/Kolkata", "Europe/London"):
            app.config["BABEL_DEFAULT_TIMEZONE"] = zone
            for step in range(0, 366 * 24, 7):
                value = datetime(2026, 1, 1, 0, 0, 13) + timedelta(hours=step, minutes=step % 60)
                local = _local(value)
                assert format_datetime(value, "en") == babel_format_datetime(
                    local, "medium", locale=_babel_locale("en"), tzinfo=local.tzinfo)
                # Hindi: no seconds, the part of the day in Hindi ("दोपहर 3:15", not "3:15:15 pm")
                hi = format_datetime(value, "hi")
                assert hi == (babel_format_date(local, "medium", locale="hi") + ", "
                              + babel_format_time(local, "B h:mm", locale="hi", tzinfo=local.tzinfo))
                assert "am" not in hi and "pm" not in hi and hi.count(":") == 1
