"""Issue 25 item 3: Persian (۰–۹), Arabic-Indic (٠–٩) and Devanagari (०–९) digits are
accepted wherever a person types a number (login ids, mobiles, pincodes, one-time codes,
searches, codes in admin forms and imports, the API) and normalised before they reach a
query or the database. URL path ids stay ASCII-only (`as_id`, tests/test_id_inputs.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.inputs import as_id, ascii_digits, digits, search_text, typed_number
from app.models import Case, PincodeEntry, User
from app.services.administration import admin_catalog, admin_users
from app.services.front_doors import interactions
from app.services.read_models import queues
from tests.conftest import NOW
from tests.factories import make_case
from tests.test_interactions_flow import build_org

FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
AR = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
HI = str.maketrans("0123456789", "०१२३४५६७८९")
SCRIPTS = pytest.mark.parametrize("table", [FA, AR, HI], ids=["fa", "ar", "hi"])


def test_the_normaliser():
    assert ascii_digits("۰۱۲۳۴۵۶۷۸۹") == ascii_digits("٠١٢٣٤٥٦٧٨٩") == ascii_digits("०१२३४५६७८९") \
        == "0123456789"
    assert ascii_digits("SR-۲۰۲۶-०००४2") == "SR-2026-00042"
    assert ascii_digits(None) == "" and digits(None) is None and digits(" ۱۲ ") == "12"
    assert search_text("  ۹۸۷ ") == "987" and len(search_text("۱" * 500)) == 100
    # other look-alikes are not digits people type: still refused
    assert ascii_digits("²¹") == "²¹" and typed_number("²") is None
    assert typed_number("۲۰۲۶") == 2026 and typed_number("२०२६") == 2026 and typed_number(7) == 7
    assert typed_number("۱" * 12) is None
    # URL ids stay strict on purpose
    assert as_id("۱۲") is None


@SCRIPTS
def test_sign_in_with_an_employee_id_in_other_digits(client, world, table):
    login_id = world.d1_op.login_id
    r = client.post("/auth/login", data={"login_id": login_id.translate(table), "password": "Password-123"})
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    assert client.get("/cases/").status_code == 200


def test_recipient_search_finds_a_persian_employee_id(client, auth, world):
    org = build_org(world)
    auth.login(org.d1_op.login_id)
    typed = org.hr_user.login_id.translate(FA)
    assert [u.id for u in interactions.search_colleagues(typed, exclude=org.d1_op)] == [org.hr_user.id]
    r = client.get("/interactions/recipients", query_string={"recipient_q": typed},
                   headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Homa Rahimi" in r.get_data(as_text=True)


@SCRIPTS
def test_queue_search_by_reference_and_mobile(world, table):
    case = make_case("complaint", world.d1)
    found = db.session.scalars(queues.apply_search(select(Case), case.reference.translate(table))).all()
    assert case in found
    assert case in db.session.scalars(queues.apply_search(select(Case), "98765".translate(table))).all()


def test_case_list_search_page(client, auth, world):
    case = make_case("complaint", world.d1)
    auth.login(world.d1_op.login_id)
    r = client.get("/cases/", query_string={"q": case.reference.translate(FA)})
    assert r.status_code == 200 and case.reference in r.get_data(as_text=True)


@SCRIPTS
def test_admin_forms_store_ascii_digits(client, auth, world, table):
    auth.login(world.admin.login_id)
    r = client.post("/admin/users/new", data={
        "login_id": "20000001".translate(table), "name": "Typed Digits", "mobile": "9876501234".translate(table),
        "office_code": "D1", "roles": ["operator"]})
    assert r.status_code in (200, 302)
    user = db.session.scalar(select(User).where(User.name == "Typed Digits"))
    assert user is not None, r.get_data(as_text=True)[:2000]
    assert user.login_id == "20000001" and user.mobile == "9876501234"
    assert admin_users.search(world.admin, "2000".translate(table)) is not None
    found = db.session.scalars(admin_users.search(world.admin, "200000".translate(table))).all()
    assert user in found


def test_admin_pincode_form_and_import(client, auth, world):
    auth.login(world.admin.login_id)
    client.post("/admin/pincodes/new", data={"pincode": "۵۶۰۰۹۹", "office_name": "Electronic City PO",
                                             "division_code": "D1"})
    assert db.session.scalar(select(PincodeEntry).where(PincodeEntry.pincode == "560099")) is not None
    report = admin_catalog.import_pincodes(
        world.admin, "pincode,office_name,district,state,division_code\n"
                     "५६००९८,Hosur Road PO,Bengaluru,Karnataka,D1\n", dry_run=False, now=NOW)
    assert not report.errors
    assert db.session.scalar(select(PincodeEntry).where(PincodeEntry.pincode == "560098")) is not None
    assert db.session.scalar(select(PincodeEntry).where(PincodeEntry.pincode.like("%५%"))) is None


def test_admin_holiday_year_in_persian_digits(client, auth, world):
    auth.login(world.admin.login_id)
    assert client.get("/admin/holidays", query_string={"year": "۲۰۲۷"}).status_code == 200
    assert "2027" in client.get("/admin/holidays?year=२०२७").get_data(as_text=True)


def test_api_limit_and_reference_in_persian_digits(client, world):
    from tests.api_support import bearer, new_key

    key = new_key("R1")
    assert client.get("/api/v1/cases?limit=۲", headers=bearer(key)).status_code == 200
    assert client.get("/api/v1/cases?after=۲", headers=bearer(key)).status_code == 400  # a cursor, not typed
    case = make_case("complaint", world.d1)
    r = client.get(f"/api/v1/cases/{case.reference.translate(FA)}", headers=bearer(key))
    assert r.status_code == 200 and r.get_json()["reference"] == case.reference
