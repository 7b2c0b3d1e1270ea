"""Office tree administration: create, rename, move (paths of the whole subtree),
deactivate, delete refused with cases, CSV import; scope of circle administrators."""

from datetime import datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, OrgUnit
from app.services.administration import admin_offices as offices
from app.services.administration.admin_common import AdminError, OutOfScope
from tests.conftest import NOW
from tests.factories import make_case, make_office, make_user


@pytest.fixture(autouse=True)
def _request(app):
    """Messages are lazy strings: render them as a request would."""
    with app.test_request_context():
        yield


@pytest.fixture
def circle_admin(world):
    return make_user(world.c1, ["admin"])


def audit_actions():
    return [a.action for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_create_office_under_scope(world, circle_admin):
    unit = offices.create(circle_admin, code="d9", name="New Division", kind="division",
                          parent=world.r1, now=NOW)
    assert unit.code == "D9" and unit.path == f"{world.r1.path}{unit.id}/" and unit.depth == 3
    assert "admin.office.create" in audit_actions()


@pytest.mark.parametrize("code,kind,parent,message", [
    ("D9", "division", "r3", "not in your jurisdiction"),
    ("D1", "division", "r1", "already exists"),
    ("bad code!", "division", "r1", "2 to 32"),
    ("Z9", "circle", "r1", "cannot be placed under"),
    ("Z9", "region", "ext", "not in your jurisdiction"),
    ("Z9", "spaceship", "r1", "valid kind"),
    ("Z9", "external", "r1", "directly under the top office"),
])
def test_create_refusals(world, circle_admin, code, kind, parent, message):
    with pytest.raises(AdminError) as exc:
        offices.create(circle_admin, code=code, name="X", kind=kind, parent=getattr(world, parent), now=NOW)
    assert message in str(exc.value.message)
    assert db.session.scalar(select(OrgUnit).where(OrgUnit.code == "Z9")) is None


def test_nothing_under_an_external_authority(world):
    with pytest.raises(AdminError, match="cannot have offices under it"):
        offices.create(world.admin, code="Z9", name="X", kind="team", parent=world.ext, now=NOW)


def test_move_recomputes_the_whole_subtree(world):
    leaf = make_office("PO11111111113", "sub_office", world.so1.parent)  # under ho1
    offices.move(world.admin, world.d1, world.r2, NOW)
    for unit in (world.d1, world.ho1, world.so1, leaf):
        db.session.refresh(unit)
    assert world.d1.path == f"{world.r2.path}{world.d1.id}/" and world.d1.depth == 3
    assert world.ho1.path == f"{world.d1.path}{world.ho1.id}/" and world.ho1.depth == 4
    assert world.so1.path == f"{world.ho1.path}{world.so1.id}/" and world.so1.depth == 5
    assert leaf.path.startswith(world.d1.path)
    assert world.so1.is_within(world.r2) and not world.so1.is_within(world.r1)
    assert "admin.office.move" in audit_actions()


def test_move_refusals(world, circle_admin):
    with pytest.raises(AdminError, match="under itself"):
        offices.move(world.admin, world.r1, world.d1, NOW)
    with pytest.raises(AdminError):
        offices.move(circle_admin, world.d1, world.r3, NOW)  # target outside the circle
    with pytest.raises(OutOfScope):
        offices.move(circle_admin, world.d4, world.r1, NOW)  # office outside the circle
    with pytest.raises(AdminError):
        offices.move(circle_admin, world.c1, world.cept, NOW)  # own root
    db.session.refresh(world.d1)
    assert world.d1.parent_id == world.r1.id


def test_deactivate_refused_with_open_cases_and_active_children(world):
    make_case("service_request", world.d2)
    with pytest.raises(AdminError, match="open cases"):
        offices.set_active(world.admin, world.d2, False, NOW)
    with pytest.raises(AdminError, match="under it first"):
        offices.set_active(world.admin, world.r2, False, NOW)
    offices.set_active(world.admin, world.so3, False, NOW)
    offices.set_active(world.admin, world.d3, False, NOW)
    assert not world.d3.active and not world.so3.active
    with pytest.raises(AdminError, match="parent office first"):
        offices.set_active(world.admin, world.so3, True, NOW)


def test_delete_never_with_cases(client, auth, world):
    case = make_case("service_request", world.d2)
    d2_users = db.session.scalars(select(OrgUnit).where(OrgUnit.id == world.d2.id)).all()
    assert d2_users
    auth.login(world.admin.login_id)
    r = client.post(f"/admin/offices/{world.d2.id}/delete", follow_redirects=True)
    assert b"has cases and cannot be deleted" in r.data
    assert db.session.get(OrgUnit, world.d2.id) is not None
    assert case.current_office_id == world.d2.id


def test_delete_an_unused_office(client, auth, world):
    unit = make_office("TMP1", "sub_office", world.d2)
    auth.login(world.admin.login_id)
    r = client.post(f"/admin/offices/{unit.id}/delete")
    assert r.status_code == 303
    assert db.session.get(OrgUnit, unit.id) is None
    assert "admin.office.delete" in audit_actions()


def test_create_rename_move_through_the_pages(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    r = client.post("/admin/offices/new", data={"code": "D7", "name": "Hubballi Division", "kind": "division",
                                                "parent_code": "R1"})
    assert r.status_code == 303
    unit = offices.by_code("D7")
    r = client.post(f"/admin/offices/{unit.id}/rename", data={"name": "Hubli Division"})
    assert r.status_code == 303 and unit.name == "Hubli Division"
    r = client.post(f"/admin/offices/{unit.id}/move", data={"parent_code": "R2"})
    assert r.status_code == 303
    db.session.refresh(unit)
    assert unit.parent_id == world.r2.id
    r = client.get(f"/admin/offices/{unit.id}")
    assert b"Hubli Division" in r.data


def test_create_page_keeps_input_and_shows_error(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    r = client.post("/admin/offices/new", data={"code": "D8", "name": "Far Away", "kind": "division",
                                                "parent_code": "R3"})
    assert r.status_code == 422
    assert b'value="Far Away"' in r.data
    assert b'id="err-parent_code" aria-live="polite">The parent office is not in your jurisdiction.' in r.data
    r = client.post("/admin/offices/new", data={"code": "", "name": "", "kind": "division", "parent_code": "R1"})
    assert r.status_code == 422 and b"This field is required" in r.data


@pytest.mark.parametrize("action,data", [("rename", {"name": "Hacked"}), ("move", {"parent_code": "R3"}),
                                         ("deactivate", {}), ("delete", {})])
def test_circle_admin_cannot_touch_another_circle(client, auth, world, circle_admin, action, data):
    auth.login(circle_admin.login_id)
    assert client.get(f"/admin/offices/{world.d4.id}").status_code == 404
    r = client.post(f"/admin/offices/{world.d4.id}/{action}", data=data)
    assert r.status_code == 404
    db.session.refresh(world.d4)
    assert world.d4.name == "D4" and world.d4.active and world.d4.parent_id == world.r3.id
    assert not [a for a in audit_actions() if a.startswith("admin.")]


def test_non_admin_cannot_post(client, auth, world):
    auth.login(world.r1_op.login_id)
    r = client.post(f"/admin/offices/{world.d1.id}/rename", data={"name": "Hacked"})
    assert r.status_code == 403
    assert world.d1.name == "D1"


def test_htmx_refusal_redirects_with_message(client, auth, world):
    make_case("service_request", world.d2)
    auth.login(world.admin.login_id)
    r = client.post(f"/admin/offices/{world.d2.id}/deactivate", headers={"HX-Request": "true"})
    assert r.status_code == 204 and r.headers["HX-Redirect"].endswith(f"/admin/offices/{world.d2.id}")
    assert b"open cases" in client.get(f"/admin/offices/{world.d2.id}").data


# ---- CSV import -----------------------------------------------------------------

GOOD = "code,name,kind,parent_code\nD8,Dharwad Division,division,R1\nPO88888888881,Dharwad HO,head_office,D8\n"


def test_import_dry_run_writes_nothing(world, circle_admin):
    report = offices.import_csv(circle_admin, GOOD, dry_run=True, now=NOW)
    assert report.ok and report.created == 2 and not report.applied
    assert offices.by_code("D8") is None


def test_import_applies_in_one_transaction(world, circle_admin):
    report = offices.import_csv(circle_admin, GOOD.encode(), dry_run=False, now=NOW)
    assert report.applied
    ho = offices.by_code("PO88888888881")
    assert ho.parent.code == "D8" and ho.path.startswith(world.r1.path) and ho.depth == 4


def test_import_with_one_bad_row_imports_nothing(world, circle_admin):
    data = GOOD + "D9,Elsewhere,division,R3\nD1,Dup,division,R1\n"
    report = offices.import_csv(circle_admin, data, dry_run=False, now=NOW)
    assert not report.ok and not report.applied
    assert [n for n, _m in report.errors] == [4, 5]
    assert offices.by_code("D8") is None and offices.by_code("PO88888888881") is None


def test_import_page_reports_rows(client, auth, world, circle_admin):
    import io

    auth.login(circle_admin.login_id)
    data = "code,name,kind,parent_code\nD9,Elsewhere,division,R3\n"
    r = client.post("/admin/offices/import", data={"file": (io.BytesIO(data.encode()), "o.csv"), "dry_run": ""},
                    content_type="multipart/form-data")
    assert r.status_code == 422
    assert b"Nothing was imported" in r.data and b"not in your jurisdiction" in r.data
    r = client.post("/admin/offices/import", data={"file": (io.BytesIO(GOOD.encode()), "o.csv"), "dry_run": "y"},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and b"Dry run" in r.data and offices.by_code("D8") is None
    r = client.post("/admin/offices/import", data={"file": (io.BytesIO(GOOD.encode()), "o.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and offices.by_code("D8") is not None


def test_import_missing_columns(world):
    report = offices.import_csv(world.admin, "code,name\nX,Y\n", dry_run=True, now=datetime(2026, 1, 1))
    assert report.errors and "Missing columns" in report.errors[0][1]


def test_import_carries_the_hindi_and_persian_names(world, circle_admin):
    data = "code,name,name_hi,name_fa,kind,parent_code\nD8,New Division,नया मंडल,ناحیه جدید,division,R1\n"
    report = offices.import_csv(circle_admin, data, dry_run=False, now=NOW)
    assert report.applied
    unit = offices.by_code("D8")
    assert (unit.label("en"), unit.label("hi"), unit.label("fa")) == ("New Division", "नया मंडल", "ناحیه جدید")


def test_the_import_page_shows_the_columns_with_the_three_names(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    page = client.get("/admin/offices/import").get_data(as_text=True)
    assert "code,name,name_hi,name_fa,kind,parent_code" in page
