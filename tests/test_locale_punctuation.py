"""Issue 25 item 4: punctuation, numbers, dates and times from Babel in each language,
no Latin fragments that are not codes, references isolated wherever they sit in text,
one term per office level, and date filters typed in the reader's own calendar."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from markupsafe import Markup

from app import i18n
from app.dates import LocalDateField, format_input_date, parse_local_date
from tests.factories import make_case


def test_numbers_lists_and_separators(app):
    assert i18n.format_number(3.6, "fa") == "۳٫۶"
    assert i18n.format_number(3.6, "hi") == "3.6"
    assert "،" in i18n.format_list(["الف", "ب", "ج"], "fa") and "و" in i18n.format_list(["الف", "ب"], "fa")
    assert i18n.format_list(["a", "b"], "hi") == "a और b"
    assert i18n.separator("fa") == "، " and i18n.separator("en") == " · "


def test_hindi_times_have_no_seconds_and_no_latin_pm(app):
    with app.test_request_context():
        text = i18n.format_datetime(datetime(2026, 12, 7, 9, 45, 15), "hi")  # 15:15:15 in India
    assert "दोपहर 3:15" in text and "pm" not in text and "3:15:15" not in text


def test_references_in_text_are_isolated(app):
    out = i18n.isolate_refs("برای نمونه SR-2611-4K7QX2A <x>")
    assert isinstance(out, Markup)
    assert '<bdi dir="ltr" class="ref">SR-2611-4K7QX2A</bdi>' in out and "&lt;x&gt;" in out


def test_flash_reference_is_inside_bdi(client, auth, world):
    from tests.test_interactions_flow import build_org

    org = build_org(world)
    auth.login(org.d1_op.login_id)
    client.set_cookie("lang", "fa")
    client.post("/interactions/new", data={"addressed_to": "department", "department": str(org.dept.id),
                                           "subject": str(org.it_subjects[0].id), "description": "Printer jam."})
    html = client.get("/cases/?view=interactions-mine").get_data(as_text=True)
    assert '<p class="flash flash-success">' in html
    flash = html.split('<p class="flash flash-success">', 1)[1].split("</p>", 1)[0]
    assert '<bdi dir="ltr" class="ref">' in flash


def test_track_hint_isolates_the_example(client):
    client.set_cookie("lang", "fa")
    html = client.get("/track").get_data(as_text=True)
    assert '<bdi dir="ltr" class="ref">SR-2611-4K7QX2A</bdi>' in html


@pytest.mark.parametrize("text, expected", [
    ("۱۴۰۵/۹/۱۶", date(2026, 12, 7)), ("1405-09-16", date(2026, 12, 7)), ("16/9/1405", date(2026, 12, 7)),
    ("2026-12-07", date(2026, 12, 7)), ("07/12/2026", date(2026, 12, 7)), ("०७/१२/२०२६", date(2026, 12, 7)),
    ("31/02/2026", None), ("1405/13/01", None), ("12/07", None), ("yesterday", None), ("", None),
])
def test_typed_dates(text, expected):
    assert parse_local_date(text) == expected


def test_input_dates_are_written_in_the_readers_calendar(app):
    assert format_input_date(date(2026, 12, 7), "fa") == "۱۴۰۵/۰۹/۱۶"
    assert format_input_date(date(2026, 12, 7), "hi") == "07/12/2026"


def test_date_filters_are_text_inputs_parsed_on_the_server(client, auth, world):
    auth.login(world.r1_mon.login_id)
    client.set_cookie("lang", "fa")
    r = client.get("/dashboard/", query_string={"date_from": "۱۴۰۵/۹/۱", "date_to": "1405/09/16"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'type="date"' not in html
    assert 'name="date_from"' in html and 'value="۱۴۰۵/۹/۱"' in html
    r = client.get("/dashboard/", query_string={"date_from": "not a date"})
    assert "۱۴۰۵/" in r.get_data(as_text=True)  # the error shows an example in the Solar Hijri calendar


def test_local_date_field_round_trip(app):
    from flask_wtf import FlaskForm
    from werkzeug.datastructures import MultiDict

    class F(FlaskForm):
        class Meta:
            csrf = False
        d = LocalDateField("d")

    with app.test_request_context(headers={"Accept-Language": "fa"}):
        form = F(MultiDict({"d": "۱۴۰۵/۹/۱۶"}))
        assert form.validate() and form.d.data == date(2026, 12, 7)
        form = F(data={"d": date(2026, 12, 7)})
        assert 'value="۱۴۰۵/۰۹/۱۶"' in str(form.d()) and 'type="text"' in str(form.d())


def test_case_page_uses_the_persian_separator_and_channel_label(client, auth, world):
    case = make_case("complaint", world.d1)
    auth.login(world.d1_op.login_id)
    client.set_cookie("lang", "fa")
    html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    main = html.split("<main", 1)[1]
    assert " · " not in main


def test_roles_are_joined_in_the_language(client, auth, world):
    auth.login(world.admin.login_id)
    client.set_cookie("lang", "fa")
    html = client.get("/").get_data(as_text=True)
    assert " و " in html.split("<main", 1)[1]


def test_persian_office_levels_are_one_term_each(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("fa"):
        assert [str(i18n.OFFICE_KIND_LABELS[k]) for k in ("circle", "region", "division")] == \
            ["حوزه", "منطقه", "ناحیه"]
        assert "CEPT" not in str(i18n.OFFICE_KIND_LABELS["cept"])
        assert "P1" not in str(i18n.PRIORITY_LABELS["P1"])


def test_language_names_and_system_actor_are_translated(client, auth, world):
    auth.login(world.admin.login_id)
    client.set_cookie("lang", "fa")
    html = client.get("/admin/templates").get_data(as_text=True)
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    assert "انگلیسی" in main and "English" not in main  # the switcher keeps the native names
