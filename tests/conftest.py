"""Fixtures in the style of the Flask tutorial: app, client, runner, plus a database
built once per session by the real migrations and emptied after every test."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.config import TestConfig
from app.extensions import db

NOW = datetime(2026, 11, 23, 5, 30)  # a Monday, 11:00 in India


def _database_url(tmpdir: str) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmpdir}/test.sqlite"


@pytest.fixture(scope="session")
def _session_app():
    tmp = tempfile.mkdtemp(prefix="sevadesk-test-")
    url = _database_url(tmp)
    overrides = {"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": f"{tmp}/uploads"}
    if url.startswith("postgresql") and not os.environ.get("DATABASE_POOLER"):
        # Durability is irrelevant for a throw-away test database; commits get 10x faster.
        # (Not through PgBouncer: it refuses the `options` start-up parameter.)
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True, "connect_args": {"options": "-c synchronous_commit=off"}}
    app = create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                      **overrides})
    def _fresh_request_state():
        # Tests keep one app context open (to use db.session directly), so `g` would
        # otherwise carry Flask-Login's cached user (and Flask-Babel's language, and
        # Flask-WTF's signed CSRF token) from one request to the next. First of the hooks,
        # as a web worker's `g` is new before any of them runs.
        from flask import g

        g.pop("_login_user", None)
        g.pop("_flask_babel", None)
        g.pop("csrf_token", None)
        db.session.expire_all()

    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_state)

    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    yield app


def _empty_tables():
    # DELETE beats TRUNCATE on tables this small (PostgreSQL's TRUNCATE costs ~100 ms).
    for t in reversed(db.metadata.sorted_tables):
        db.session.execute(text(f'DELETE FROM "{t.name}"'))
    db.session.commit()


@pytest.fixture
def app(_session_app):
    from app.extensions import limiter

    app = _session_app
    limiter.enabled = False  # tests that check limits use the `rate_limits` fixture
    app.extensions["outbox_sent"] = []
    saved = dict(app.config)
    with app.app_context():
        yield app
        db.session.rollback()
        _empty_tables()
        db.session.remove()
    app.config.clear()
    app.config.update(saved)


@pytest.fixture
def rate_limits(app):
    """Rate limits on, with empty counters, for this test only."""
    from app.extensions import limiter

    limiter.reset()
    limiter.enabled = True
    yield limiter
    limiter.enabled = False
    limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(app):
    """A small hierarchy with users of every level (see tests/factories.py)."""
    from tests.factories import make_world

    return make_world()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, login_id: str, password: str = "Password-123"):
        return self._client.post("/auth/login", data={"login_id": login_id, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)
