"""Employee administration: create with a temporary password, forced change at next
sign-in (guard on every page), deactivate ends sessions at once, reset password, roles,
office, CSV import; circle administrators stay inside their circle."""

import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, User
from app.services.administration import admin_users as users
from app.services.administration.admin_common import AdminError, OutOfScope
from tests.conftest import NOW
from tests.factories import PASSWORD, make_user


@pytest.fixture
def rq(app):
    """Messages are lazy strings: render them inside a request, as the pages do."""
    with app.test_request_context():
        yield


@pytest.fixture
def circle_admin(world):
    return make_user(world.c1, ["admin"])


def by_login(login_id):
    return db.session.scalar(select(User).where(User.login_id == login_id))


def actions():
    return [a.action for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_create_user_gets_temporary_password(world, circle_admin):
    user, password = users.create(circle_admin, login_id="10001234", name="Anita Rao", office=world.d1,
                                  roles=["operator", "supervisor"], now=NOW)
    assert user.must_change_password and user.check_password(password)
    assert user.roles == {"operator", "supervisor"}
    assert re.search(r"\d", password) and re.search(r"[A-Za-z]", password)
    assert "admin.user.create" in actions()


@pytest.mark.parametrize("login_id,office,roles,message", [
    ("1234", "d1", ["operator"], "8-digit Employee ID"),
    ("XX", "d1", ["operator"], "8-digit Employee ID"),
    ("PO11111111112", "d1", ["operator"], "already taken"),
    ("10001234", "d4", ["operator"], "not in your jurisdiction"),
    ("10001234", "d1", [], "at least one role"),
    ("10001234", "d1", ["emperor"], "Unknown role"),
])
def test_create_refusals(rq, world, circle_admin, login_id, office, roles, message):
    with pytest.raises(AdminError) as exc:
        users.create(circle_admin, login_id=login_id, name="X", office=getattr(world, office), roles=roles,
                     now=NOW)
    assert message in str(exc.value.message)
    assert by_login("10001234") is None


def test_facility_id_accepted(world):
    user, _pw = users.create(world.admin, login_id="po12345678901", name="Some SO", office=world.so1,
                             roles=["operator"], now=NOW)
    assert user.login_id == "PO12345678901"


def test_new_user_must_change_password_before_anything_else(client, auth, world):
    user, password = users.create(world.admin, login_id="10001235", name="New Person", office=world.d1,
                                  roles=["operator"], now=NOW)
    r = auth.login("10001235", password)
    assert r.headers["Location"].endswith("/auth/password")
    for path in ("/", "/admin/", "/admin/users"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["Location"].endswith("/auth/password"), path
    r = client.get("/", headers={"HX-Request": "true"})
    assert r.status_code == 204 and r.headers["HX-Redirect"].endswith("/auth/password")
    assert client.get("/auth/password").status_code == 200
    # htmx polling from the password page itself gets nothing (no reload loop)
    r = client.get("/", headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/auth/password"})
    assert r.status_code == 204 and "HX-Redirect" not in r.headers
    r = client.post("/auth/password", data={"current": password, "new": "Fresh-pass-2026",
                                            "confirm": "Fresh-pass-2026"})
    assert r.status_code == 302
    assert not by_login("10001235").must_change_password
    # auth.change_password calls login_user(current_user) with the proxy itself; the tests
    # share one app context (and `g`) across requests, so drop the cached proxy here.
    from flask import g

    g.pop("_login_user", None)
    assert client.get("/").status_code == 200


def _switch():
    """The tests share one app context across clients: forget the cached user (`g`)."""
    from flask import g

    g.pop("_login_user", None)


def test_deactivate_ends_sessions_immediately(client, auth, world, app):
    other = app.test_client()
    other.post("/auth/login", data={"login_id": world.d1_op.login_id, "password": PASSWORD})
    assert other.get("/admin/").status_code == 403  # signed in (an operator)
    _switch()
    auth.login(world.admin.login_id)
    r = client.post(f"/admin/users/{world.d1_op.id}/deactivate")
    assert r.status_code == 303
    db.session.refresh(world.d1_op)
    assert not world.d1_op.active
    _switch()
    r = other.get("/admin/")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]
    assert "admin.user.deactivate" in actions()
    _switch()
    fresh = app.test_client()
    r = fresh.post("/auth/login", data={"login_id": world.d1_op.login_id, "password": PASSWORD})
    assert r.status_code == 401


def test_reset_password_forces_change(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post(f"/admin/users/{world.d2_op.id}/reset-password")
    assert r.status_code == 200
    password = re.search(rb'<code class="tile-n"><bdi dir="ltr">([^<]+)</bdi>', r.data).group(1).decode()
    db.session.refresh(world.d2_op)
    assert world.d2_op.must_change_password and world.d2_op.check_password(password)
    assert not world.d2_op.check_password(PASSWORD)
    assert "admin.user.reset_password" in actions()


def test_edit_roles_and_office(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    r = client.post(f"/admin/users/{world.d1_op.id}", data={
        "name": "Renamed Op", "email": "op@example.in", "mobile": "9876543210", "office_code": "D2",
        "roles": ["operator", "supervisor"]})
    assert r.status_code == 303
    db.session.refresh(world.d1_op)
    assert world.d1_op.office_id == world.d2.id and world.d1_op.roles == {"operator", "supervisor"}
    assert world.d1_op.name == "Renamed Op"


def test_edit_form_errors_are_shown_and_kept(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    r = client.post(f"/admin/users/{world.d1_op.id}", data={
        "name": "Kept Name", "email": "not-an-email", "mobile": "12", "office_code": "D1", "roles": ["operator"]})
    assert r.status_code == 422
    assert b"Enter a valid e-mail address." in r.data and b"10-digit mobile" in r.data
    assert b'value="Kept Name"' in r.data
    r = client.post(f"/admin/users/{world.d1_op.id}", data={
        "name": "Kept Name", "office_code": "D4", "roles": ["operator"]})
    assert r.status_code == 422
    assert b'id="err-office_code" aria-live="polite">The office is not in your jurisdiction.' in r.data
    db.session.refresh(world.d1_op)
    assert world.d1_op.office_id == world.d1.id


@pytest.mark.parametrize("how", ["get", "edit", "deactivate", "activate", "reset-password"])
def test_circle_admin_cannot_touch_another_circles_user(client, auth, world, circle_admin, how):
    auth.login(circle_admin.login_id)
    target = world.r3_op
    before = (target.name, target.active, target.password_hash, target.office_id)
    if how == "get":
        r = client.get(f"/admin/users/{target.id}")
    elif how == "edit":
        r = client.post(f"/admin/users/{target.id}", data={"name": "X", "office_code": "D1", "roles": ["admin"]})
    else:
        r = client.post(f"/admin/users/{target.id}/{how}")
    assert r.status_code == 404
    db.session.refresh(target)
    assert (target.name, target.active, target.password_hash, target.office_id) == before
    assert not [a for a in actions() if a.startswith("admin.")]


def test_circle_admin_cannot_touch_national_admin(world, circle_admin):
    with pytest.raises(OutOfScope):
        users.reset_password(circle_admin, world.admin, NOW)


def test_admin_cannot_lock_themselves_out(rq, world):
    with pytest.raises(AdminError):
        users.set_active(world.admin, world.admin, False, NOW)
    with pytest.raises(AdminError):
        users.update(world.admin, world.admin, name="A", office=world.cept, roles=["operator"], email=None,
                     mobile=None, now=NOW)
    assert world.admin.active and world.admin.has_role("admin")


def test_create_page_shows_password_once(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post("/admin/users/new", data={"login_id": "10004321", "name": "Via Page", "office_code": "D3",
                                              "roles": ["operator"]})
    assert r.status_code == 200 and b"Temporary password" in r.data
    assert by_login("10004321").office_id == world.d3.id


# ---- CSV import -----------------------------------------------------------------

CSV = ("login_id,name,office_code,roles,email,mobile\n"
       "10007001,Anil Kumar,D1,operator;supervisor,anil@example.in,9876500001\n"
       "PO11111111119,Some SO,PO11111111111,operator,,\n")


def test_import_users_dry_run_then_apply(world, circle_admin):
    report, made = users.import_csv(circle_admin, CSV, dry_run=True, now=NOW)
    assert report.ok and report.created == 2 and not made and by_login("10007001") is None
    report, made = users.import_csv(circle_admin, CSV, dry_run=False, now=NOW)
    assert report.applied and len(made) == 2
    u = by_login("10007001")
    assert u.roles == {"operator", "supervisor"} and u.must_change_password and u.check_password(made[0][1])


def test_import_users_one_error_nothing_written(rq, world, circle_admin):
    bad = CSV + "10007002,Far,D4,operator,,\n10007001,Twice,D1,operator,,\n,NoId,D1,operator,,\n"
    report, made = users.import_csv(circle_admin, bad, dry_run=False, now=NOW)
    assert [n for n, _m in report.errors] == [4, 5, 6] and not made
    assert by_login("10007001") is None


def test_import_users_page(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post("/admin/users/import", data={"file": (io.BytesIO(CSV.encode()), "u.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and b"Temporary passwords" in r.data
    assert by_login("PO11111111119") is not None
    r = client.post("/admin/users/import", data={}, content_type="multipart/form-data")
    assert r.status_code == 422 and b"Choose a CSV file." in r.data


def test_password_pages_are_not_cached(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post(f"/admin/users/{world.d2_op.id}/reset-password")
    assert r.headers["Cache-Control"] == "no-store"


def test_out_of_scope_attempt_is_audited_as_denial(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    assert client.post(f"/admin/users/{world.r3_op.id}/deactivate").status_code == 404
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "denied"))
    assert row.actor_id == circle_admin.id and "user_deactivate" in row.target


def test_admin_posts_need_csrf_token(app, client, auth, world):
    auth.login(world.admin.login_id)
    app.config["WTF_CSRF_ENABLED"] = True
    r = client.post(f"/admin/users/{world.d2_op.id}/deactivate")
    assert r.status_code == 400
    db.session.refresh(world.d2_op)
    assert world.d2_op.active


# ---- the office picker and the roles fieldset (issue 22, item 16) -----------------

def _radios(page):
    """The office picker's radio buttons: [(office id, checked)]."""
    return [(int(m.group(1)), bool(m.group(2)))
            for m in re.finditer(r'<input type="radio" id="office-\d+" name="office_id" value="(\d+)"( checked)?>', page)]


NEW = {"login_id": "10007777", "name": "Meera Iyer", "email": "meera@example.in", "roles": ["operator"]}


def test_the_new_employee_form_lists_offices_to_choose_from(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    page = client.get("/admin/users/new").get_data(as_text=True)
    ids = [i for i, _checked in _radios(page)]
    assert world.c1.id in ids and world.d1.id in ids and world.so3.id in ids
    assert world.d4.id not in ids and world.cept.id not in ids  # outside the circle
    assert not any(checked for _i, checked in _radios(page))  # nothing chosen for the admin
    assert 'name="office_code"' in page and 'value="CEPT"' not in page
    assert '<button type="submit" name="find_office" value="1" formnovalidate>Find office</button>' in page
    assert 'hx-get="/admin/offices/choices"' in page  # the live search, for browsers with JS


def test_roles_are_a_fieldset_of_checkboxes_with_a_legend(client, auth, world):
    auth.login(world.admin.login_id)
    page = client.get("/admin/users/new").get_data(as_text=True)
    fieldset = page[page.index('<fieldset class="field choice-group" id="field-roles"'):]
    fieldset = fieldset[:fieldset.index("</fieldset>")]
    assert "<legend>Roles" in fieldset
    assert fieldset.count('type="checkbox"') == 5 and "<li>" not in fieldset and "<ul" not in fieldset
    assert 'required type="checkbox"' not in fieldset  # one of them, not each, is needed
    assert '<label class="check" for="roles-0"><input id="roles-0" name="roles" type="checkbox" value="operator">' in fieldset


def test_find_office_searches_by_code_or_name_and_keeps_what_was_typed(client, auth, world):
    """Without JavaScript: the picker's button posts the form back with the matches;
    nothing is created and nothing typed is lost."""
    auth.login(world.admin.login_id)
    before = db.session.scalar(select(db.func.count(User.id)))
    r = client.post("/admin/users/new", data={**NEW, "office_code": "po1111", "find_office": "1"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert [i for i, _c in _radios(page)] == [world.ho1.id, world.so1.id]
    assert 'value="10007777"' in page and 'value="Meera Iyer"' in page and 'value="po1111"' in page
    assert '<input checked id="roles-0" name="roles" type="checkbox" value="operator">' in page
    assert "2 offices match." in page
    assert db.session.scalar(select(db.func.count(User.id))) == before
    r = client.post("/admin/users/new", data={**NEW, "office_code": "support", "find_office": "1"})
    assert [i for i, _c in _radios(r.get_data(as_text=True))] == [world.dept.id]  # "IT Support"


def test_live_search_answers_the_choices_and_keeps_the_choice(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    r = client.get("/admin/offices/choices", query_string={"office_code": "PO3", "office_id": world.d1.id},
                   headers={"HX-Request": "true"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and page.lstrip().startswith('<div id="office-choices"')
    assert _radios(page) == [(world.d1.id, True), (world.so3.id, False)]  # the choice stays first
    r = client.get("/admin/offices/choices", query_string={"office_code": "D", "office_id": world.d4.id})
    ids = [i for i, _c in _radios(r.get_data(as_text=True))]
    assert world.d4.id not in ids and world.d1.id in ids  # never another circle's office


def test_posting_a_chosen_office_creates_the_employee_there(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post("/admin/users/new", data={**NEW, "office_code": "", "office_id": str(world.d3.id)})
    assert r.status_code == 200 and "Temporary password" in r.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.login_id == "10007777"))
    assert user.office_id == world.d3.id


def test_the_search_text_that_found_the_choice_does_not_override_it(client, auth, world):
    auth.login(world.admin.login_id)
    r = client.post("/admin/users/new", data={**NEW, "office_code": "po1111", "office_id": str(world.so1.id)})
    assert r.status_code == 200
    assert db.session.scalar(select(User.office_id).where(User.login_id == "10007777")) == world.so1.id


@pytest.mark.parametrize("office_code,office_id,message", [
    ("", "", "Search for the office and choose it."),
    ("", "999999", "Search for the office and choose it."),
    ("no such office", "", "Choose the office from the list."),
    ("PO1111", "", "Choose the office from the list."),  # two match: which one?
])
def test_a_bad_office_is_refused_beside_the_field_keeping_the_rest(client, auth, world, office_code,
                                                                   office_id, message):
    auth.login(world.admin.login_id)
    r = client.post("/admin/users/new", data={**NEW, "office_code": office_code, "office_id": office_id})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert f'<p class="field-error" id="err-office_code" aria-live="polite">{message}</p>' in page
    assert 'aria-invalid="true"' in page[page.index('id="field-office_code"'):page.index('id="err-office_code"')]
    assert 'value="10007777"' in page and 'value="Meera Iyer"' in page and 'value="meera@example.in"' in page
    assert f'value="{office_code}"' in page
    assert db.session.scalar(select(User.id).where(User.login_id == "10007777")) is None


def test_the_office_error_is_translated(client, auth, world):
    auth.login(world.admin.login_id)
    client.post("/language", data={"lang": "hi"})
    page = client.post("/admin/users/new", data={**NEW, "office_code": "no such office"}).get_data(as_text=True)
    assert "सूची में से कार्यालय चुनें।" in page and "इस खोज से कोई कार्यालय नहीं मिला।" in page


def test_an_office_outside_the_circle_is_refused_and_not_shown(client, auth, world, circle_admin):
    auth.login(circle_admin.login_id)
    r = client.post("/admin/users/new", data={**NEW, "office_id": str(world.d4.id)})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "The office is not in your jurisdiction." in page
    assert world.d4.id not in [i for i, _c in _radios(page)]


def test_many_matches_show_the_first_and_say_how_many(client, auth, world):
    from tests.factories import make_office

    for i in range(25):
        make_office(f"PO55555555{i:03d}", "sub_office", world.ho1, name=f"Village {i}", commit=False)
    db.session.commit()
    auth.login(world.admin.login_id)
    page = client.post("/admin/users/new", data={**NEW, "office_code": "village", "find_office": "1"}
                       ).get_data(as_text=True)
    assert len(_radios(page)) == 20
    assert "25 offices match; the first 20 are shown. Type more of the name or code." in page


def test_the_edit_form_shows_the_employee_s_office_chosen(client, auth, world):
    auth.login(world.admin.login_id)
    page = client.get(f"/admin/users/{world.so1_user.id}").get_data(as_text=True)
    assert (world.so1.id, True) in _radios(page)
    assert '<fieldset class="field choice-group" id="field-roles"' in page
    r = client.post(f"/admin/users/{world.so1_user.id}", data={
        "name": world.so1_user.name, "office_id": str(world.so1.id), "office_code": "", "roles": ["operator"]})
    assert r.status_code == 303


def test_find_office_by_its_hindi_or_persian_name(client, auth, world):
    """An administrator types the office's name in their own language (and digits)."""
    world.so1.name_fa, world.so1.name_hi = "دفتر آزمایشی", "परीक्षण कार्यालय"
    db.session.commit()
    auth.login(world.admin.login_id)
    for typed in ("آزمایشی", "परीक्षण"):
        r = client.post("/admin/users/new", data={**NEW, "office_code": typed, "find_office": "1"})
        assert [i for i, _c in _radios(r.get_data(as_text=True))] == [world.so1.id]
