"""Admin pages: who may open them, full page vs htmx partial, search and pagination."""

import pytest

from app.extensions import db
from app.models import AuditLog, OrgUnit
from tests.factories import make_office, make_user

LIST_PAGES = ["/admin/", "/admin/offices", "/admin/users", "/admin/pincodes", "/admin/audit",
              "/admin/audit?tab=status", "/admin/offices/new", "/admin/users/new",
              "/admin/offices/import", "/admin/users/import", "/admin/pincodes/import",
              "/admin/pincodes/new"]
NATIONAL_PAGES = ["/admin/categories", "/admin/categories/new", "/admin/sla", "/admin/holidays",
                  "/admin/externals", "/admin/templates", "/admin/templates/case_created/email/hi",
                  "/admin/outbox"]


@pytest.fixture
def circle_admin(world):
    return make_user(world.c1, ["admin"])


# Loops rather than parametrize: one hierarchy per test keeps the suite fast.

def test_national_admin_opens_every_page(client, auth, world):
    auth.login(world.admin.login_id)
    for path in LIST_PAGES + NATIONAL_PAGES:
        r = client.get(path)
        assert r.status_code == 200 and b"<html" in r.data, path


def test_non_admins_are_refused(client, auth, world):
    auth.login(world.c1_sup.login_id)  # supervisor + monitor, no admin role
    for path in LIST_PAGES + NATIONAL_PAGES:
        assert client.get(path).status_code == 403, path
    denied = db.session.query(AuditLog).filter_by(action="denied").count()
    assert denied == len(LIST_PAGES + NATIONAL_PAGES)


def test_anonymous_is_sent_to_sign_in(client):
    for path in LIST_PAGES + NATIONAL_PAGES:
        r = client.get(path)
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"], path


def test_circle_admin_pages(client, auth, circle_admin):
    auth.login(circle_admin.login_id)
    for path in NATIONAL_PAGES:
        assert client.get(path).status_code == 403, path
    for path in LIST_PAGES:
        assert client.get(path).status_code == 200, path


def test_nav_link_only_for_admins(client, auth, world):
    auth.login(world.admin.login_id)
    assert b'href="/admin/"' in client.get("/").data
    auth.logout()
    auth.login(world.d1_op.login_id)
    assert b'href="/admin/"' not in client.get("/").data


@pytest.mark.parametrize("path,marker", [("/admin/offices", b"R1"), ("/admin/users", b"Login ID"),
                                         ("/admin/pincodes", b"560001"), ("/admin/audit", b"login")])
def test_htmx_returns_only_the_list(client, auth, world, path, marker):
    auth.login(world.admin.login_id)
    full = client.get(path)
    part = client.get(path, headers={"HX-Request": "true"})
    assert part.status_code == 200
    assert b"<html" in full.data and b"<html" not in part.data
    assert b'id="admin-rows"' in part.data and marker in part.data
    assert "HX-Request" in part.headers["Vary"]


def test_office_search_is_scoped_and_filtered(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    r = client.get("/admin/offices", headers={"HX-Request": "true"})
    assert b"D1" in r.data and b"R3" not in r.data and b"D4" not in r.data
    r = client.get("/admin/offices?q=D", headers={"HX-Request": "true"})
    assert b"R1" not in r.data and b"D3" in r.data
    r = client.get("/admin/offices?kind=region", headers={"HX-Request": "true"})
    assert b"R1" in r.data and b"D1<" not in r.data


def test_user_search_is_scoped(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    r = client.get("/admin/users", headers={"HX-Request": "true"})
    assert world.d1_op.login_id.encode() in r.data
    assert world.r3_op.login_id.encode() not in r.data
    assert world.admin.login_id.encode() not in r.data
    r = client.get(f"/admin/users?q={world.d1_op.login_id}", headers={"HX-Request": "true"})
    assert world.d1_op.login_id.encode() in r.data and world.d2_op.login_id.encode() not in r.data


def test_offices_are_paginated(client, auth, world):
    for i in range(30):
        make_office(f"X{i:02d}", "sub_office", world.d2)
    auth.login(world.admin.login_id)
    r = client.get("/admin/offices?kind=sub_office")
    assert b"Page 1 of 2" in r.data
    r = client.get("/admin/offices?kind=sub_office&page=2", headers={"HX-Request": "true"})
    assert b"Page 2 of 2" in r.data
    assert db.session.query(OrgUnit).filter_by(kind="sub_office").count() == 32


def test_admin_pages_in_hindi(client, auth, world):
    world.admin.locale = "hi"
    db.session.commit()
    auth.login(world.admin.login_id)
    r = client.get("/admin/offices")
    assert b'lang="hi"' in r.data
    assert "कार्यालय".encode() in r.data and "प्रशासन".encode() in r.data


def test_admin_pages_in_persian(client, auth, world):
    world.admin.locale = "fa"
    db.session.commit()
    auth.login(world.admin.login_id)
    r = client.get("/admin/users")
    assert b'dir="rtl"' in r.data and "کارمندان".encode() in r.data


def test_detail_pages_open(client, auth, world):
    from app.models import PincodeEntry

    auth.login(world.admin.login_id)
    pin = db.session.query(PincodeEntry).first()
    for path, marker in [(f"/admin/offices/{world.d1.id}", b"Move"),
                         (f"/admin/users/{world.d1_op.id}", b"Reset password"),
                         (f"/admin/categories/{world.cat.id}", "مرسولات".encode()),
                         (f"/admin/pincodes/{pin.id}", b"560001")]:
        r = client.get(path)
        assert r.status_code == 200 and marker in r.data, path


def test_own_office_cannot_be_moved_from_its_page(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.get(f"/admin/offices/{world.cept.id}")
    assert r.status_code == 200 and b"/move" not in r.data


def test_nav_follows_a_change_of_roles(client, auth, world):
    """The links each kind of user sees are remembered per (roles, active, office kind):
    taking a role away takes its link away at the next page."""
    auth.login(world.admin.login_id)
    assert b'href="/admin/"' in client.get("/").data
    world.admin.set_roles([r for r in world.admin.roles if r != "admin"] or ["operator"])
    db.session.commit()
    assert b'href="/admin/"' not in client.get("/").data
