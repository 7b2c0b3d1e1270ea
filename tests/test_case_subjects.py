"""Issue 25, item 1 (cases): a case whose subject is its catalogue row (a department's
request subject, a complaint's type, a doorstep service) keeps no copy of the row's
English name; every place that shows the subject names the row in the reader's
language — the inbox rows, the case page, the CSV export, the dashboard's case list,
the citizen's tracking page, the notifications (the recipient's language) and the API
(Accept-Language) — and search finds the case by the row's name in any language. A
migration moves the copies already made."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Case, Category, Notification
from app.services.front_doors import complaints, interactions
from tests.api_support import bearer, new_key
from tests.citizen_support import add_services, make_request
from tests.conftest import NOW
from tests.factories import CITIZEN, make_case

NAMES = {"en": "Printer not working", "hi": "प्रिंटर काम नहीं कर रहा", "fa": "چاپگر کار نمی‌کند"}


@pytest.fixture
def printer(world):
    """A request subject of the IT department with three names, and one without Hindi."""
    row = Category(kind="interaction", level="subject", code="it_printer", name_en=NAMES["en"],
                   name_hi=NAMES["hi"], name_fa=NAMES["fa"], department_id=world.dept.id)
    bare = Category(kind="interaction", level="subject", code="it_mouse", name_en="Mouse missing",
                    name_hi="", name_fa="ماوس گم شده", department_id=world.dept.id, sort_order=1)
    db.session.add_all([row, bare])
    db.session.commit()
    world.printer, world.mouse = row, bare
    return row


def _request(world, subject=None):
    return interactions.raise_to_department(world.d1_op, world.dept, subject or world.printer,
                                            "Please look.", NOW)


def _page(client, path, lang):
    client.set_cookie("lang", lang)
    r = client.get(path)
    assert r.status_code == 200, path
    return r.get_data(as_text=True)


# ---- what is stored ------------------------------------------------------------------

def test_the_front_doors_store_no_copy_of_the_name(world, printer):
    department = _request(world)
    add_services(world)
    from app.services.front_doors import citizen

    doorstep = citizen.submit(name=CITIZEN["name"], address=CITIZEN["address"], pincode="560001",
                              email="", mobile=CITIZEN["mobile"], service=world.services[1], now=NOW)
    typ = Category(kind="complaint", level="type", code="late", name_en="Late delivery",
                   name_hi="देर से वितरण", name_fa="تحویل دیرهنگام", parent_id=world.cat.id)
    db.session.add(typ)
    db.session.commit()
    complaint = complaints.register(actor=world.ho1_op, office=world.ho1, type_row=typ, description="Late.",
                                    requester=dict(CITIZEN), now=NOW)
    for case, row in ((department, printer), (doorstep, world.services[1]), (complaint, typ)):
        assert case.subject == "" and case.category_id == row.id
        assert case.subject_label("fa") == row.name_fa and case.subject_label("en") == row.name_en


def test_a_typed_subject_stays_as_typed(world, printer):
    colleague = interactions.raise_to_colleague(world.d1_op, world.dept_user, "question", "P2",
                                                "Where is the form?\nThanks", NOW)
    ticket = make_case("office_ticket", world.d1, actor=world.so1_user, subject="DARPAN down",
                       category=world.cat)
    assert colleague.subject == "Where is the form?" and colleague.subject_label("fa") == "Where is the form?"
    assert ticket.subject_label("fa") == "DARPAN down"


# ---- where it is shown ---------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "hi", "fa"])
def test_inbox_rows_and_case_page_name_the_row_in_the_readers_language(client, auth, world, printer, lang):
    case = _request(world)
    auth.login(world.dept_user.login_id)
    cartable = _page(client, "/cases/?view=cartable", lang)
    assert f'<td dir="auto" class="wrap-anywhere">{NAMES[lang]}</td>' in cartable
    # the office queue: plain rows whose HTML is kept per language (app/fragments.py)
    office = _page(client, "/cases/?view=office", lang)
    assert NAMES[lang] in office
    assert all(NAMES[other] not in office for other in NAMES if other != lang)
    page = _page(client, f"/cases/{case.reference}", lang)
    assert f'<p class="case-subject" dir="auto">{NAMES[lang]}</p>' in page
    assert f'<dd dir="auto">{NAMES[lang]}</dd>' in page  # the Category fact


def test_an_english_fallback_is_marked_on_hindi_pages(client, auth, world, printer):
    case = _request(world, world.mouse)
    auth.login(world.dept_user.login_id)
    marked = '<span lang="en" dir="ltr">Mouse missing</span>'
    assert marked in _page(client, "/cases/?view=cartable", "hi")
    assert marked in _page(client, f"/cases/{case.reference}", "hi")
    assert marked not in _page(client, f"/cases/{case.reference}", "en")
    assert "ماوس گم شده" in _page(client, "/cases/?view=office", "fa")


@pytest.mark.parametrize("lang", ["en", "hi", "fa"])
def test_csv_export_names_the_row_in_the_readers_language(client, auth, world, printer, lang):
    _request(world)
    typed = interactions.raise_to_colleague(world.d1_op, world.dept_user, "question", "P2", "Typed text", NOW)
    auth.login(world.dept_user.login_id)
    client.set_cookie("lang", lang)
    body = client.get("/cases/export.csv?view=cartable&status=all").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    subjects = {r[0]: r[4] for r in rows[1:]}
    assert NAMES[lang] in subjects.values() and subjects[typed.reference] == "Typed text"


@pytest.mark.parametrize("lang", ["hi", "fa"])
def test_dashboard_case_list_names_the_row(client, auth, world, printer, lang):
    _request(world)
    auth.login(world.admin.login_id)
    assert NAMES[lang] in _page(client, "/dashboard/cases", lang)


@pytest.mark.parametrize("lang", ["en", "hi", "fa"])
def test_tracking_page_names_the_service_in_the_page_language(client, world, lang):
    add_services(world)
    case = make_request(world)
    assert case.subject == ""
    html = _page(client, f"/track/{case.reference}", lang)
    service = world.services[0]
    assert {"en": service.name_en, "hi": service.name_hi, "fa": service.name_fa}[lang] in html


@pytest.mark.parametrize("lang", ["en", "hi", "fa"])
def test_api_names_the_subject_in_the_accept_language(client, world, printer, lang):
    add_services(world)
    case = make_request(world)
    key = new_key("R1")
    r = client.get(f"/api/v1/cases/{case.reference}", headers={**bearer(key), "Accept-Language": lang})
    assert r.status_code == 200
    service = world.services[0]
    expected = {"en": service.name_en, "hi": service.name_hi, "fa": service.name_fa}[lang]
    assert r.json["subject"] == expected and r.json["category"] == expected


def test_notifications_name_the_subject_in_the_recipients_language(app, world, printer):
    app.config["OFFICE_NOTICE_MODE"] = "each"
    world.dept_user.locale, world.dept_user2.locale = "fa", "hi"
    db.session.commit()
    case = _request(world)
    notices = {n.recipient: n for n in db.session.scalars(
        select(Notification).where(Notification.case_id == case.id, Notification.channel == "email"))}
    assert NAMES["fa"] in notices[world.dept_user.email].body
    assert NAMES["hi"] in notices[world.dept_user2.email].body
    from app.services.engine import notify

    assert notify.case_context(case, "hi", public=False)["subject"] == NAMES["hi"]
    assert notify.case_context(case, "en", public=False)["subject"] == NAMES["en"]


def test_a_digest_names_the_subject_in_the_recipients_language(app, world, printer):
    from datetime import timedelta

    from app.services.engine import notify

    app.config["OFFICE_NOTICE_MODE"] = "digest"
    world.dept_user.locale, world.dept_user2.locale = "fa", "hi"
    db.session.commit()
    case = _request(world)
    assert notify.send_digests(NOW + timedelta(hours=2)) == 1
    digests = {n.recipient: n.body for n in db.session.scalars(
        select(Notification).where(Notification.template == "office_digest", Notification.channel == "email"))}
    assert case.reference in digests[world.dept_user.email]
    assert NAMES["fa"] in digests[world.dept_user.email] and NAMES["hi"] in digests[world.dept_user2.email]


@pytest.mark.parametrize("lang", ["en", "hi", "fa"])
def test_search_finds_the_case_by_the_rows_name_in_any_language(client, auth, world, printer, lang):
    case = _request(world)
    other = _request(world, world.mouse)
    auth.login(world.dept_user.login_id)
    words = {"en": "printer", "hi": "प्रिंटर", "fa": "چاپگر"}[lang]
    html = _page(client, f"/cases/?view=cartable&q={words}", "en")
    assert case.reference in html and other.reference not in html
    # the office queue's search too
    html = _page(client, f"/cases/?view=office&q={words}", lang)
    assert case.reference in html and other.reference not in html


# ---- the migration -------------------------------------------------------------------

def test_migration_moves_the_copied_names_and_puts_them_back(world, printer):
    from flask_migrate import downgrade, upgrade

    copied = _request(world)
    typed = make_case("complaint", world.d1, subject="Mail lost twice", category=world.cat)
    free = interactions.raise_to_colleague(world.d1_op, world.dept_user, "question", "P2", "Free text", NOW)
    ids = {"copied": copied.id, "typed": typed.id, "free": free.id}
    db.session.commit()
    db.session.remove()

    def subjects():
        db.session.remove()
        return {k: db.session.scalar(select(Case.subject).where(Case.id == v)) for k, v in ids.items()}

    try:
        downgrade(revision="b7d3e5f9a1c2")
        # before: the English name copied into the case, as the front doors used to do
        assert subjects() == {"copied": NAMES["en"], "typed": "Mail lost twice", "free": "Free text"}
        db.session.execute(Case.__table__.update().where(Case.id == ids["typed"]).values(subject="Mail"))
        db.session.commit()
    finally:
        db.session.remove()
        upgrade()
    assert subjects() == {"copied": "", "typed": "", "free": "Free text"}  # "Mail" was world.cat's name
    assert db.session.get(Case, ids["copied"]).subject_label("fa") == NAMES["fa"]
