"""Sign-in, lockout, safe redirects, session invalidation, CSRF."""

from datetime import timedelta

import pytest

from app.extensions import db
from app.services.infrastructure import auth as auth_service
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


# ---- throttling per (account, network) and equal work (issue 22, item 5) ----------

def _post_login(client, login_id, password, ip):
    return client.post("/auth/login", data={"login_id": login_id, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


@pytest.fixture
def hash_checks(monkeypatch):
    """Counts password hash checks, wherever the sign-in makes them."""
    import werkzeug.security

    import app.models.org
    import app.services.infrastructure.auth

    calls = []
    real = werkzeug.security.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    for module in (werkzeug.security, app.models.org, app.services.infrastructure.auth):
        monkeypatch.setattr(module, "check_password_hash", counting, raising=False)
    return calls


def test_every_outcome_costs_one_hash_check(app, world, hash_checks):
    """A locked pair, a locked account, an unknown id, an inactive account, a wrong and
    a right password: each attempt checks one password hash, so none answers faster."""
    user, ip = world.d1_op, "10.0.0.1"

    def checks(login_id, password, ip=ip, now=NOW):
        hash_checks.clear()
        auth_service.authenticate(login_id, password, now, ip=ip)
        return len(hash_checks)

    assert checks(user.login_id, "wrong") == 1
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        auth_service.authenticate(user.login_id, "wrong", NOW, ip=ip)
    assert auth_service.lockout(user.login_id, ip, NOW) is not None
    assert checks(user.login_id, PASSWORD) == 1  # locked pair, right password: refused
    assert checks(user.login_id, "wrong") == 1  # locked pair, wrong password
    assert checks("99999999", "wrong") == 1  # unknown id
    world.d1_op2.active = False
    db.session.commit()
    assert checks(world.d1_op2.login_id, PASSWORD) == 1  # inactive
    world.d1_sup.locked_until = NOW + timedelta(minutes=5)
    db.session.commit()
    assert checks(world.d1_sup.login_id, PASSWORD, ip="10.0.0.9") == 1  # locked account
    assert checks(world.d2_op.login_id, PASSWORD) == 1  # right


def test_a_locked_pair_checks_the_same_hash_as_a_wrong_password(app, world, hash_checks):
    user, ip = world.d1_op, "10.0.0.1"
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth_service.authenticate(user.login_id, "wrong", NOW, ip=ip)
    wrong = list(hash_checks)
    hash_checks.clear()
    assert auth_service.authenticate(user.login_id, PASSWORD, NOW, ip=ip) is None
    assert hash_checks == [wrong[-1]] == [user.password_hash]


def test_failures_from_one_network_do_not_lock_the_employee_out_elsewhere(app, world):
    user = world.d1_op
    attacker, office = app.test_client(), app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"] * 3):
        _post_login(attacker, user.login_id, "guess", "203.0.113.7")
    r = _post_login(attacker, user.login_id, PASSWORD, "203.0.113.7")
    assert r.status_code == 429  # the right password from the attacker's network: refused
    r = _post_login(office, user.login_id, PASSWORD, "198.51.100.20")
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_the_locked_sign_in_page_says_how_long_and_whom_to_ask(app, client, world):
    user, ip = world.d1_op, "203.0.113.7"
    codes = [_post_login(client, user.login_id, "guess", ip).status_code
             for _ in range(app.config["LOGIN_MAX_FAILURES"])]
    assert codes[:-1] == [401] * (len(codes) - 1) and codes[-1] == 429  # told at the lock
    r = _post_login(client, user.login_id, PASSWORD, ip)
    page = r.get_data(as_text=True)
    assert r.status_code == 429
    assert ("Too many attempts. Try again in 15 minutes, or ask your office&#39;s administrator "
            "to unlock your account.") in page
    assert r.headers["Retry-After"] == "900"
    assert 'value="' + user.login_id + '"' in page  # the id typed stays in the form


def test_the_lock_message_in_hindi_and_persian(app, client, world):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _post_login(client, world.d1_op.login_id, "guess", "203.0.113.7")
    client.set_cookie("lang", "hi")
    for lang, text in (("hi", "बहुत अधिक प्रयास"), ("fa", "بیش از حد مجاز است")):
        client.post("/language", data={"lang": lang})
        r = _post_login(client, world.d1_op.login_id, "guess", "203.0.113.7")
        assert r.status_code == 429 and text in r.get_data(as_text=True), lang


def test_an_unknown_id_locks_like_a_real_one(app, client, world):
    """The lock message reveals nothing: an id nobody holds locks the same way."""
    answers = []
    for login_id in ("29999999", world.d1_op.login_id):
        codes = [_post_login(client, login_id, "guess", "203.0.113.7").status_code
                 for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1)]
        answers.append(codes)
    assert answers[0] == answers[1]


def test_the_lock_ends_after_the_lockout_period(app, world):
    user, ip = world.d1_op, "203.0.113.7"
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth_service.authenticate(user.login_id, "wrong", NOW, ip=ip)
    minutes = app.config["LOGIN_LOCKOUT_MINUTES"]
    assert auth_service.lockout(user.login_id, ip, NOW + timedelta(minutes=minutes - 1))
    later = NOW + timedelta(minutes=minutes, seconds=1)
    assert auth_service.lockout(user.login_id, ip, later) is None
    assert auth_service.authenticate(user.login_id, PASSWORD, later, ip=ip) == user


def test_failures_far_apart_do_not_add_up_and_stale_rows_go(app, world):
    from sqlalchemy import func, select

    from app.models import LoginThrottle

    user, ip, gap = world.d1_op, "203.0.113.7", timedelta(minutes=app.config["LOGIN_LOCKOUT_MINUTES"] + 1)
    for i in range(app.config["LOGIN_MAX_FAILURES"] * 2):
        auth_service.authenticate(user.login_id, "wrong", NOW + i * gap, ip=ip)
        auth_service.authenticate(f"2999999{i}", "wrong", NOW + i * gap, ip=ip)
    assert auth_service.lockout(user.login_id, ip, NOW + 10 * gap) is None
    assert db.session.scalar(select(func.count(LoginThrottle.id))) == 2  # only the last round's


def test_a_success_clears_the_networks_count(app, world):
    user, ip = world.d1_op, "203.0.113.7"
    for _round in range(3):
        for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
            auth_service.authenticate(user.login_id, "wrong", NOW, ip=ip)
        assert auth_service.authenticate(user.login_id, PASSWORD, NOW, ip=ip) == user


@pytest.mark.parametrize("a,b,same", [
    ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", True),  # one /64: one subscriber
    ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
    ("203.0.113.7", "203.0.113.8", False),
    ("::ffff:203.0.113.7", "203.0.113.7", True),
])
def test_networks_are_ipv4_addresses_and_ipv6_slash_64s(a, b, same):
    assert (auth_service.network_key(a) == auth_service.network_key(b)) is same


def test_many_networks_lock_the_account_itself(app, world):
    """A guessing attack spread over many networks still ends in a lock of the account
    (LOGIN_ACCOUNT_MAX_FAILURES), for everyone, until it expires or an admin unlocks."""
    app.config["LOGIN_ACCOUNT_MAX_FAILURES"] = 6
    user = world.d1_op
    for i in range(6):
        auth_service.authenticate(user.login_id, "wrong", NOW, ip=f"203.0.113.{i}")
    assert auth_service.authenticate(user.login_id, PASSWORD, NOW, ip="198.51.100.20") is None
    assert auth_service.lockout(user.login_id, "198.51.100.20", NOW) == user.locked_until


def test_an_administrator_sees_and_lifts_the_lock(app, client, auth, world):
    user, ip = world.d1_op, "203.0.113.7"
    victim = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _post_login(victim, user.login_id, "guess", ip)
    auth.login(world.admin.login_id)
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Sign-in is locked from 1 network after too many failed attempts" in page
    assert f"/admin/users/{user.id}/unlock" in page
    r = client.post(f"/admin/users/{user.id}/unlock")
    assert r.status_code in (302, 303)
    assert "Sign-in is unlocked" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert _post_login(victim, user.login_id, PASSWORD, ip).status_code == 302
