"""The secret key (issue 28 item 1): production refuses to start without one shared key;
development and tests still generate or bring their own; old keys of a rotation
(SECRET_KEY_FALLBACKS) keep sessions, signed links and one-time codes verifying while
everything new is signed with the current key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from itsdangerous import URLSafeTimedSerializer

import app as app_module
from app import MissingSecretKey, create_app
from app.config import Config, ProductionConfig
from app.services.front_doors import citizen
from app.services.infrastructure import tokens
from tests.conftest import NOW
from tests.factories import make_case

ROOT = Path(__file__).resolve().parent.parent
OLD, NEW = "o" * 64, "n" * 64


def _settings(cls, tmp_path, **extra) -> dict:
    return {**{k: getattr(cls, k) for k in dir(cls) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/k.sqlite", **extra}


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    with pytest.raises(MissingSecretKey) as refused:
        create_app(_settings(ProductionConfig, tmp_path, SECRET_KEY=None))
    message = str(refused.value)
    assert "SECRET_KEY is not set" in message and "PORTAL_ENV=production" in message
    assert "instance/sevadesk.env" in message and "token_hex" in message  # how to set it


def test_production_with_a_secret_key_starts(tmp_path):
    app = create_app(_settings(ProductionConfig, tmp_path, SECRET_KEY=NEW,
                               SECRET_KEY_FALLBACKS=f" {OLD} ,{NEW},"))
    assert app.secret_key == NEW
    assert app.config["SECRET_KEY_FALLBACKS"] == [OLD]  # a string is split; the current key left out


def test_development_without_a_secret_key_generates_one(tmp_path, monkeypatch):
    monkeypatch.setattr(app_module, "_instance_secret", lambda app: "generated-on-this-host")
    app = create_app(_settings(Config, tmp_path, SECRET_KEY=None))
    assert app.secret_key == "generated-on-this-host"
    assert app.config["SECRET_KEY_FALLBACKS"] == []


def test_the_wsgi_entry_point_in_production_says_why_it_stops(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FALLBACKS")}
    env.update(PORTAL_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path}/w.sqlite")
    run = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "MissingSecretKey: SECRET_KEY is not set" in run.stderr


def test_the_env_variable_lists_old_keys(monkeypatch):
    from app import config

    monkeypatch.setenv("SECRET_KEY_FALLBACKS", f"{OLD}, second-old ,")
    assert config._env_list("SECRET_KEY_FALLBACKS") == [OLD, "second-old"]


def _rotate(app, *, fallbacks=(OLD,)) -> None:
    app.config["SECRET_KEY"] = NEW
    app.secret_key = NEW
    app.config["SECRET_KEY_FALLBACKS"] = list(fallbacks)


def test_a_link_signed_with_the_old_key_verifies_after_rotation(app, world):
    case = make_case("complaint", world.d1)
    payload = {"ref": case.reference, "id": case.id}
    app.config["SECRET_KEY"] = OLD
    sent_before = tokens.make_case_token(case, "respond")
    track_before = tokens.serializer("track").dumps("9876543210")

    _rotate(app)
    assert tokens.load_case_token(sent_before, "respond") == payload
    assert tokens.serializer("track").loads(track_before) == "9876543210"
    # new links are signed with the current key only
    new = tokens.make_case_token(case, "respond")
    assert URLSafeTimedSerializer(NEW, salt="case-respond").loads(new) == payload
    with pytest.raises(Exception):  # noqa: B017,PT011 - itsdangerous's BadSignature
        URLSafeTimedSerializer(OLD, salt="case-respond").loads(new)

    _rotate(app, fallbacks=())  # the old key retired: its links stop working
    assert tokens.load_case_token(sent_before, "respond") is None
    assert tokens.load_case_token(new, "respond") == payload


def test_a_session_signed_with_the_old_key_survives_rotation(app, client, auth, world):
    app.config["SECRET_KEY"] = app.secret_key = OLD
    auth.login(world.d1_op.login_id)
    assert client.get("/cases/").status_code == 200

    _rotate(app)
    assert client.get("/cases/").status_code == 200  # still signed in (Flask's fallbacks)

    # An unchanged session cookie is not signed again: retiring the old key signs it out.
    _rotate(app, fallbacks=())
    assert client.get("/cases/").status_code == 302


def test_a_one_time_code_sent_before_rotation_still_works(app, world):
    make_case("service_request", world.d1)  # the requester's mobile: 9876543210
    app.config["SECRET_KEY"] = OLD
    code = citizen.send_otp("9876543210", now=NOW)
    assert code is not None
    _rotate(app)
    assert citizen.check_otp("9876543210", code, now=NOW) == citizen.OTP_OK
