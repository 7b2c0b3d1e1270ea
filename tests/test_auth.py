"""Sign-in, lockout, safe redirects, session invalidation, CSRF."""

from datetime import timedelta

import pytest

from app.extensions import db
from app.services import auth as auth_service
from tests.conftest import NOW
from tests.factories import PASSWORD


def test_login_with_employee_id_lands_on_home(client, auth, world):
    r = auth.login(world.d1_op.login_id)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert world.d1.name in page and "Division" in page


def test_login_with_facility_id_is_case_insensitive(client, auth, world):
    r = auth.login(world.so1_user.login_id.lower())
    assert r.status_code == 302


@pytest.mark.parametrize("login_id,password", [("20000001", "wrong"), ("99999999", PASSWORD), ("", "")])
def test_bad_credentials_get_one_generic_message(client, world, login_id, password):
    r = client.post("/auth/login", data={"login_id": login_id, "password": password})
    assert r.status_code in (401, 422)
    if login_id:
        assert b"the ID or password is wrong" in r.data


def test_lockout_after_repeated_failures(world, app):
    user = world.d1_op
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth_service.authenticate(user.login_id, "nope", NOW) is None
    assert auth_service.authenticate(user.login_id, PASSWORD, NOW + timedelta(minutes=1)) is None
    later = NOW + timedelta(minutes=app.config["LOGIN_LOCKOUT_MINUTES"] + 1)
    assert auth_service.authenticate(user.login_id, PASSWORD, later) == user


def test_inactive_user_cannot_sign_in_and_is_signed_out(client, auth, world):
    auth.login(world.d1_op.login_id)
    assert client.get("/cases/").status_code == 200
    world.d1_op.active = False
    db.session.commit()
    assert client.get("/cases/").status_code == 302  # back to sign-in
    assert auth.login(world.d1_op.login_id).status_code == 401


@pytest.mark.parametrize("target,expected", [
    ("/cases/", "/cases/"),
    ("//evil.example/x", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_redirect_only_to_local_paths(client, world, target, expected):
    r = client.post(f"/auth/login?next={target}", data={"login_id": world.d1_op.login_id, "password": PASSWORD})
    assert r.headers["Location"] == expected


def test_session_cookie_flags(client, auth, world):
    r = auth.login(world.d1_op.login_id)
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_password_change_ends_other_sessions(app, world):
    a, b = app.test_client(), app.test_client()
    for c in (a, b):
        c.post("/auth/login", data={"login_id": world.d1_op.login_id, "password": PASSWORD})
    r = a.post("/auth/password", data={"current": PASSWORD, "new": "New-Password-42", "confirm": "New-Password-42"})
    assert r.status_code == 302
    assert a.get("/cases/").status_code == 200  # this session continues
    assert b.get("/cases/").status_code == 302  # the other one is gone


def test_password_change_validation_keeps_user_on_page(client, auth, world):
    auth.login(world.d1_op.login_id)
    r = client.post("/auth/password", data={"current": "wrong", "new": "abcdefghijkl", "confirm": "x"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "The two passwords differ." in page and "Use letters together with digits or symbols." in page


def test_logout_needs_post_and_ends_session(client, auth, world):
    auth.login(world.d1_op.login_id)
    assert client.get("/auth/logout").status_code == 405
    auth.logout()
    assert client.get("/cases/").status_code == 302


def test_csrf_required_on_forms_and_accepted_from_htmx_header(app, world):
    app.config["WTF_CSRF_ENABLED"] = True
    c = app.test_client()
    r = c.post("/auth/login", data={"login_id": world.d1_op.login_id, "password": PASSWORD})
    assert r.status_code == 400 and b"Form expired" in r.data
    page = c.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    r = c.post("/auth/login", data={"login_id": world.d1_op.login_id, "password": PASSWORD},
               headers={"X-CSRFToken": token})
    assert r.status_code == 302


def test_must_change_password_is_sent_to_the_form(client, world):
    world.d1_op.must_change_password = True
    db.session.commit()
    r = client.post("/auth/login", data={"login_id": world.d1_op.login_id, "password": PASSWORD})
    assert r.headers["Location"] == "/auth/password"


def test_failed_and_successful_sign_ins_are_audited(client, auth, world):
    from sqlalchemy import select

    from app.models import AuditLog

    client.post("/auth/login", data={"login_id": world.d1_op.login_id, "password": "bad"})
    auth.login(world.d1_op.login_id)
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["login_failed", "login"]


def test_copied_session_cookie_is_dead_after_logout(app, world):
    a = app.test_client()
    a.post("/auth/login", data={"login_id": world.d1_op.login_id, "password": PASSWORD})
    stolen = a.get_cookie("session").value
    a.post("/auth/logout")
    b = app.test_client()
    b.set_cookie("session", stolen)
    assert b.get("/cases/").status_code == 302


def test_login_is_rate_limited_per_ip(app, world, rate_limits):
    c = app.test_client()
    codes = [c.post("/auth/login", data={"login_id": "00000000", "password": "x"}).status_code
             for _ in range(22)]
    assert 429 in codes
    r = c.post("/auth/login", data={"login_id": "00000000", "password": "x"})
    assert r.status_code == 429 and b"Too many attempts" in r.data


def test_sign_in_upgrades_a_hash_made_with_other_parameters(app, client, auth, world):
    """A right password stored with older hashing parameters is re-hashed with the
    configured ones at sign-in; the user stays signed in elsewhere (same session token)."""
    from werkzeug.security import check_password_hash, generate_password_hash

    user = world.d1_op
    user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:2000")
    token = user.session_token
    db.session.commit()
    auth.login(user.login_id)
    db.session.refresh(user)
    assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
    assert check_password_hash(user.password_hash, PASSWORD)
    assert user.session_token == token
