"""Reference data: taxonomies, pincode directory (with all-or-nothing CSV import), SLA
matrix, holiday calendar, external authorities."""

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Category, Holiday, OrgUnit, PincodeEntry, SlaRule
from app.services.administration import admin_catalog as catalog
from app.services.administration.admin_common import AdminError
from app.services.engine import sla as sla_service
from tests.conftest import NOW
from tests.factories import make_user


@pytest.fixture
def rq(app):
    with app.test_request_context():
        yield


@pytest.fixture
def circle_admin(world):
    return make_user(world.c1, ["admin"])


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audited(prefix):
    return count(AuditLog, AuditLog.action.like(prefix + "%"))


# ---- taxonomies -----------------------------------------------------------------

def test_category_tree_through_the_page(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post("/admin/categories/new", data={
        "kind": "complaint", "level": "service", "code": "mail.parcel", "parent_id": str(world.cat.id),
        "name_en": "Parcel", "name_hi": "पार्सल", "name_fa": "بسته", "sort_order": "3", "active": "y"})
    assert r.status_code == 303, r.data
    svc = db.session.scalar(select(Category).where(Category.code == "mail.parcel"))
    assert svc.parent_id == world.cat.id and svc.name_fa == "بسته" and svc.sort_order == 3 and svc.active
    r = client.post(f"/admin/categories/{svc.id}", data={
        "kind": "complaint", "level": "service", "code": "mail.parcel", "parent_id": str(world.cat.id),
        "name_en": "Parcels", "sort_order": "1"})  # active unticked
    assert r.status_code == 303
    db.session.refresh(svc)
    assert svc.name_en == "Parcels" and not svc.active
    assert audited("admin.category") == 2
    r = client.get("/admin/categories?kind=complaint&q=parcel", headers={"HX-Request": "true"})
    assert b"Parcels" in r.data and b"<html" not in r.data


@pytest.mark.parametrize("data,message", [
    ({"kind": "complaint", "level": "type", "code": "x"}, "level above"),
    ({"kind": "complaint", "level": "category", "code": "mail"}, "already used"),
    ({"kind": "complaint", "level": "category", "code": "Bad Code"}, "lower-case"),
    ({"kind": "service_request", "level": "type", "code": "x"}, "not used for this kind"),
    ({"kind": "interaction", "level": "subject", "code": "x"}, "department this subject"),
])
def test_category_refusals(client, auth, world, data, message):
    auth.login(world.admin.login_id)
    r = client.post("/admin/categories/new", data={**data, "name_en": "X"})
    assert r.status_code == 422 and message.encode() in r.data
    assert count(Category) == 1


def test_helpdesk_route_to_team_and_subject_department(rq, world):
    cat = catalog.save_category(world.admin, None, kind="helpdesk", level="category", code="technical",
                                parent_id=None, department_id=None, route_to_id=world.team.id,
                                name_en="Technical", name_hi="", name_fa="", active=True, sort_order=0, now=NOW)
    assert cat.route_to_id == world.team.id
    with pytest.raises(AdminError, match="team or department"):
        catalog.save_category(world.admin, None, kind="helpdesk", level="category", code="t2", parent_id=None,
                              department_id=None, route_to_id=world.d1.id, name_en="X", name_hi="", name_fa="",
                              active=True, sort_order=0, now=NOW)
    subj = catalog.save_category(world.admin, None, kind="interaction", level="subject", code="it_pc",
                                 parent_id=None, department_id=world.dept.id, route_to_id=None, name_en="PC",
                                 name_hi="", name_fa="", active=True, sort_order=0, now=NOW)
    assert subj.department_id == world.dept.id


# ---- pincodes -------------------------------------------------------------------

def test_pincode_add_edit_scoped(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    r = client.post("/admin/pincodes/new", data={"pincode": "560002", "office_name": "Richmond PO",
                                                 "division_code": "D1"})
    assert r.status_code == 303
    entry = db.session.scalar(select(PincodeEntry).where(PincodeEntry.pincode == "560002"))
    r = client.post(f"/admin/pincodes/{entry.id}", data={"pincode": "560002", "office_name": "Richmond Town PO",
                                                         "division_code": "D2"})
    assert r.status_code == 303
    db.session.refresh(entry)
    assert entry.office_name == "Richmond Town PO" and entry.division_id == world.d2.id
    r = client.post("/admin/pincodes/new", data={"pincode": "560003", "office_name": "X", "division_code": "D4"})
    assert r.status_code == 422 and b"not in your jurisdiction" in r.data
    r = client.post("/admin/pincodes/new", data={"pincode": "060003", "office_name": "X", "division_code": "D1"})
    assert r.status_code == 422 and b"six digits" in r.data


def test_pincode_of_another_circle_is_invisible(client, auth, world, circle_admin):
    other = PincodeEntry(pincode="600001", office_name="Chennai GPO", division_id=world.d4.id)
    db.session.add(other)
    db.session.commit()
    auth.login(circle_admin.login_id)
    assert client.get(f"/admin/pincodes/{other.id}").status_code == 404
    r = client.post(f"/admin/pincodes/{other.id}", data={"pincode": "600001", "office_name": "Hacked",
                                                         "division_code": "D1"})
    assert r.status_code == 404
    db.session.refresh(other)
    assert other.office_name == "Chennai GPO"
    assert b"600001" not in client.get("/admin/pincodes", headers={"HX-Request": "true"}).data


PINS = ("pincode,office_name,district,state,division_code\n"
        "560010,Rajajinagar PO,Bengaluru,Karnataka,D2\n"
        "560001,Bangalore GPO (new name),Bengaluru,Karnataka,D1\n")


def test_pincode_import_adds_and_updates(rq, world, circle_admin):
    report = catalog.import_pincodes(circle_admin, PINS, dry_run=True, now=NOW)
    assert report.ok and (report.created, report.updated) == (1, 1) and count(PincodeEntry) == 1
    report = catalog.import_pincodes(circle_admin, PINS, dry_run=False, now=NOW)
    assert report.applied and count(PincodeEntry) == 2
    assert db.session.scalar(select(PincodeEntry.office_name).where(PincodeEntry.pincode == "560001")) == \
        "Bangalore GPO (new name)"


def test_pincode_import_no_partial_import(client, auth, world, circle_admin):
    bad = PINS + "56001,Short PO,,,D1\n600001,Chennai,,,D4\n560010,Twice,,,D2\n560011,No division,,,ZZ\n"
    auth.login(circle_admin.login_id)
    r = client.post("/admin/pincodes/import", data={"file": (io.BytesIO(bad.encode()), "p.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 422
    for row in (b"<td>4</td>", b"<td>5</td>", b"<td>6</td>", b"<td>7</td>"):
        assert row in r.data
    assert b"six digits" in r.data and b"appears twice" in r.data and b"Unknown division" in r.data
    assert count(PincodeEntry) == 1
    assert db.session.scalar(select(PincodeEntry.office_name)) == "Bangalore GPO"


def test_pincode_import_rejects_non_utf8(rq, world):
    report = catalog.import_pincodes(world.admin, "pincode\n".encode("utf-16"), dry_run=True, now=NOW)
    assert not report.ok


# ---- SLA matrix -----------------------------------------------------------------

def test_sla_matrix_edit(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.get("/admin/sla")
    assert b'name="complaint-P3-response" value="2"' in r.data
    r = client.post("/admin/sla", data={"complaint-P3-response": "3", "complaint-P3-resolution": "10",
                                        "helpdesk-P1-response": "1", "helpdesk-P1-resolution": "1"})
    assert r.status_code == 303
    rule = db.session.scalar(select(SlaRule).where(SlaRule.kind == "complaint", SlaRule.priority == "P3"))
    assert (rule.response_days, rule.resolution_days) == (3, 10)
    assert count(SlaRule) == 2 and audited("admin.sla") == 1
    resp, res = sla_service.due_times("helpdesk", "P1", NOW)
    assert resp.date() == res.date()


def test_sla_matrix_errors_keep_input(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post("/admin/sla", data={"complaint-P3-response": "9", "complaint-P3-resolution": "4",
                                        "helpdesk-P2-response": "x", "helpdesk-P2-resolution": "2"})
    assert r.status_code == 422
    assert b"cannot be longer than the resolution time" in r.data and b"whole numbers" in r.data
    assert b'name="complaint-P3-response" value="9"' in r.data
    rule = db.session.scalar(select(SlaRule))
    assert (rule.response_days, rule.resolution_days) == (2, 7)


def test_sla_circle_admin_refused(client, auth, circle_admin):
    auth.login(circle_admin.login_id)
    r = client.post("/admin/sla", data={"complaint-P3-response": "0", "complaint-P3-resolution": "0"})
    assert r.status_code == 403
    assert db.session.scalar(select(SlaRule.resolution_days)) == 7


# ---- holidays -------------------------------------------------------------------

def test_holidays_add_remove_and_load(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post("/admin/holidays", data={"day": "2026-11-24", "name": "Local festival"})
    assert r.status_code == 303
    h = db.session.scalar(select(Holiday))
    assert h.day == date(2026, 11, 24)
    r = client.post("/admin/holidays", data={"day": "2026-11-24", "name": "Again"})
    assert r.status_code == 422 and b"already a holiday" in r.data
    r = client.post("/admin/holidays", data={"day": "", "name": "No day"})
    assert r.status_code == 422 and b"Enter a date." in r.data
    r = client.get("/admin/holidays?year=2026", headers={"HX-Request": "true"})
    assert b"Local festival" in r.data and b"<html" not in r.data
    r = client.post(f"/admin/holidays/{h.id}/delete")
    assert r.status_code == 303 and count(Holiday) == 0
    r = client.post("/admin/holidays/load", data={"year": "2027"})
    assert r.status_code == 303
    n = count(Holiday)
    assert n >= 3  # Republic Day, Independence Day, Gandhi Jayanti at least
    assert count(Holiday, Holiday.day == date(2027, 1, 26)) == 1
    client.post("/admin/holidays/load", data={"year": "2027"})
    assert count(Holiday) == n  # idempotent
    assert audited("admin.holiday") == 4


# ---- external authorities -------------------------------------------------------

def test_external_authorities(client, auth, world, circle_admin):
    auth.login(world.admin.login_id)
    r = client.post("/admin/externals", data={"code": "EXT-AIR", "name": "Air Cargo Unit"})
    assert r.status_code == 303
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "EXT-AIR"))
    assert unit.kind == "external" and unit.parent_id == world.cept.id
    r = client.get("/admin/externals?q=air", headers={"HX-Request": "true"})
    assert b"Air Cargo Unit" in r.data and b"Customs" not in r.data
    r = client.post("/admin/externals", data={"code": "EXT", "name": "Duplicate"})
    assert r.status_code == 422 and b"already exists" in r.data
