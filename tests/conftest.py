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


# ---- an S3-compatible object store (issue 28): moto's server mode, a real HTTP server ----

S3_KEYS = {"UPLOADS_S3_ACCESS_KEY_ID": "testing", "UPLOADS_S3_SECRET_ACCESS_KEY": "testing",
           "UPLOADS_S3_REGION": "us-east-1", "UPLOADS_S3_ADDRESSING_STYLE": "path",
           "UPLOADS_S3_TIMEOUT": 5, "UPLOADS_S3_MAX_ATTEMPTS": 1}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """`moto_server` (moto[server], requirements-dev.txt) on a free local port for the whole
    session: its endpoint URL. Skipped, saying why, only when it cannot start."""
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    # .ci/run sets REQUIRE_S3_TESTS=1: there a server that cannot start is a failure
    give_up = pytest.fail if os.environ.get("REQUIRE_S3_TESTS") == "1" else pytest.skip
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        give_up(f"no {exe}: install requirements-dev.txt (moto[server]) for the object-store tests")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="moto-server-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310 - our own local server
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                tail = Path(log.name).read_text(errors="replace")[-600:]
                give_up(f"moto_server did not start on {url}: {tail or 'no output'}")
            time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    os.unlink(log.name)


class S3Store:
    """The test's bucket on the moto server, and a boto3 client to look into it."""

    def __init__(self, app, url: str):
        import secrets

        import boto3

        self.app = app
        self.url = url
        self.bucket = f"sevadesk-{secrets.token_hex(6)}"
        self.prefix = "uploads/"
        self.client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
        self.client.create_bucket(Bucket=self.bucket)
        app.config.update(S3_KEYS, UPLOADS_S3_BUCKET=self.bucket, UPLOADS_S3_ENDPOINT_URL=url,
                          UPLOADS_S3_PREFIX=self.prefix)

    def keys(self) -> list[str]:
        got = self.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return sorted(o["Key"] for o in got)

    def body(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture
def s3(app, s3_server):
    """Uploads go to a fresh bucket of the local S3-compatible server for this test (the
    configuration is restored by the `app` fixture)."""
    return S3Store(app, s3_server)
