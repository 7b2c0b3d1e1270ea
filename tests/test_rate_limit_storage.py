"""Where Flask-Limiter keeps its counters: Redis when REDIS_URL is set, this process's
memory otherwise (`app._rate_limit_storage`, resolved in `create_app`).

The Redis test needs a server at TEST_REDIS_URL (default redis://127.0.0.1:6379/15, a
database of its own) and is skipped, with the reason, when none answers. It deletes only
the keys it created there.

`limiter` is one object shared by every app of the process: `create_app` re-points its
storage. The `other_app` fixture puts the test-suite's app (and its memory storage) back
afterwards.
"""

from __future__ import annotations

import os

import pytest

from app import create_app
from app.config import TestConfig
from app.extensions import db, limiter
from tests.citizen_support import add_services, form_data

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IP = "203.0.113.9"  # TEST-NET-3: no real client


@pytest.fixture
def other_app(app):
    """Build further apps on the test database (TestConfig without its fixed memory://
    storage); restore the shared limiter to the suite's app afterwards."""
    made = []

    def build(**config):
        base = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
        base.pop("RATELIMIT_STORAGE_URI")
        base.update(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                    SQLALCHEMY_ENGINE_OPTIONS=app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                    UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"], CITIZEN_SUBMIT_LIMIT_IP="2 per hour")
        base.update(config)
        new = create_app(base)
        made.append(new)
        return new

    yield build
    for new in made:
        with new.app_context():
            db.engine.dispose()
    limiter.init_app(app)  # memory storage of the suite's app again (hooks are already there)
    limiter.enabled = False


@pytest.fixture
def redis_db():
    redis = pytest.importorskip("redis", reason="the redis client package is not installed")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc.__class__.__name__}); set TEST_REDIS_URL to run this test")
    before = set(client.keys("*"))
    yield client
    created = set(client.keys("*")) - before
    if created:
        client.delete(*created)
    client.close()


def _post(client, services, n, mobile):
    # confirm_new: the requester has seen their open requests (issue 27) and sends anyway
    return client.post("/request", data=form_data(services[0], submission_key=f"redis-{n}-" + "x" * 20,
                                                  mobile=mobile, confirm_new="1"), environ_base={"REMOTE_ADDR": IP})


def test_without_redis_url_the_counters_live_in_memory(other_app, monkeypatch):
    from limits.storage import MemoryStorage

    monkeypatch.delenv("REDIS_URL", raising=False)
    new = other_app()
    assert new.config["RATELIMIT_STORAGE_URI"] == "memory://" and new.config["REDIS_URL"] is None
    assert isinstance(limiter.storage, MemoryStorage)


def test_redis_url_is_read_when_the_app_is_created(other_app, monkeypatch):
    """From the environment at create_app (not when app.config was imported) ..."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/9")  # nothing is sent: storage connects lazily
    assert other_app().config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1/9"
    # ... and an explicit setting (instance/config.py, a test) wins over the environment
    assert other_app(REDIS_URL="redis://10.0.0.1:6379/3").config["RATELIMIT_STORAGE_URI"] == \
        "redis://10.0.0.1:6379/3"
    assert other_app(RATELIMIT_STORAGE_URI="memory://").config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_limits_are_enforced_through_redis(other_app, redis_db, world, monkeypatch):
    """Past the public form's limit the answer is 429; the counter is a Redis key; a new
    app (another worker or process) sees the same counter; without the key the form
    works again."""
    from limits.storage import RedisStorage

    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    services = add_services(world)
    web = other_app()
    assert web.config["RATELIMIT_STORAGE_URI"] == REDIS_URL and isinstance(limiter.storage, RedisStorage)
    client = web.test_client()
    assert [_post(client, services, n, f"98765432{n:02d}").status_code for n in range(2)] == [303, 303]
    assert _post(client, services, 2, "9876543202").status_code == 429

    keys = [k.decode() for k in redis_db.keys(f"*{IP}*")]
    assert keys, "no rate-limit counter for the address in Redis"
    assert max(int(redis_db.get(k)) for k in keys) >= 2

    # a second worker: a new app, a new connection, the same counters
    second = other_app().test_client()
    assert _post(second, services, 3, "9876543203").status_code == 429

    redis_db.delete(*keys)
    assert _post(second, services, 4, "9876543204").status_code == 303


def test_with_redis_unreachable_limits_are_counted_in_memory_not_refused(other_app, world, monkeypatch):
    """Redis down (a closed port): the limited pages still answer — the doorstep form raises,
    and its limit still holds, counted in this worker's memory — instead of 500."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/9")
    services = add_services(world)
    web = other_app()
    assert web.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
    client = web.test_client()
    assert [_post(client, services, n, f"98765431{n:02d}").status_code for n in range(2)] == [303, 303]
    assert _post(client, services, 2, "9876543102").status_code == 429

