"""Headers on every page; production cookies."""

import pytest

from app import create_app
from app.config import ProductionConfig


@pytest.mark.parametrize("path", ["/", "/auth/login", "/no/such/page"])
def test_security_headers_everywhere(client, path):
    r = client.get(path)
    csp = r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in r.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in r.headers  # only in production (HTTPS)


def test_no_inline_script_or_style_in_pages(client, auth, world):
    auth.login(world.d1_op.login_id)
    for path in ["/", "/cases/", "/auth/password"]:
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and "<style" not in page and " style=" not in page
        assert " onclick=" not in page and "hx-on" not in page


def test_production_config_hsts_and_secure_cookies(tmp_path):
    app = create_app({**{k: getattr(ProductionConfig, k) for k in dir(ProductionConfig) if k.isupper()},
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.sqlite", "SECRET_KEY": "x" * 32})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    r = app.test_client().get("/healthz")
    assert "max-age=31536000" in r.headers["Strict-Transport-Security"]


def test_secret_key_is_generated_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    from flask import Flask  # noqa: F401

    from app import _instance_secret

    class Fake:
        instance_path = str(tmp_path)

    first = _instance_secret(Fake)
    assert len(first) == 64 and _instance_secret(Fake) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
