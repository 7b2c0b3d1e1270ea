"""Seva Desk: a multilingual grievance and service-request portal."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from flask import Flask

from app.config import Config


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address and scheme from
    their X-Forwarded-* headers (Werkzeug's ProxyFix, that many hops and no more)."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _instance_secret(app: Flask) -> str:
    """SECRET_KEY from the environment, else from `instance/secret_key` (generated once)."""
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    os.chmod(path, 0o600)
    return key


class MissingSecretKey(RuntimeError):
    """The production configuration was started without SECRET_KEY."""


REFUSED_WITHOUT_KEY = (
    "SECRET_KEY is not set, and the production configuration (PORTAL_ENV=production) does not "
    "make one up: a key generated on each host would make every other host reject its "
    "sessions and signed links. Set the same SECRET_KEY for every web worker, the scheduler "
    "and every `flask` command, e.g. in instance/sevadesk.env:\n"
    "  echo \"SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')\" >> instance/sevadesk.env\n"
    "(a host that ran before with a generated key has it in instance/secret_key: use that value "
    "to keep the links already sent working). docs/security.md#the-secret-key-and-its-rotation"
)


def _secret_key(app: Flask) -> None:
    """SECRET_KEY as configured; outside production, generated into instance/ when unset.
    SECRET_KEY_FALLBACKS (old keys, still accepted) becomes a list without the current key."""
    if not app.config.get("SECRET_KEY"):
        if app.config.get("REQUIRE_SECRET_KEY"):
            raise MissingSecretKey(REFUSED_WITHOUT_KEY)
        app.config["SECRET_KEY"] = _instance_secret(app)
    fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, str):
        fallbacks = [part.strip() for part in fallbacks.split(",")]
    app.config["SECRET_KEY_FALLBACKS"] = [k for k in fallbacks if k and k != app.config["SECRET_KEY"]]


def create_app(config: type | dict | None = None) -> Flask:
    """Application factory: configuration, extensions, blueprints, CLI and error pages."""
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_object(Config)
    app.config.from_pyfile("config.py", silent=True)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'portal.sqlite'}"
        )
    _secret_key(app)
    _rate_limit_storage(app)
    _trust_proxies(app)
    from app.inputs import IdConverter, query_args

    app.jinja_env.globals["query_args"] = query_args
    app.url_map.converters["id"] = IdConverter  # `<id:x>`: every id in a URL path

    from app import connections, i18n, sql_limits  # noqa: F401 - sql_limits: a compile rule
    from app.extensions import babel, csrf, db, htmx, limiter, login_manager

    connections.configure(app)
    db.init_app(app)
    connections.init_app(app)
    if app.config.get("MIGRATIONS", "gunicorn" not in sys.modules):
        # Alembic (`flask db`) is for the command line, tests and `make run`; a gunicorn
        # web worker never migrates and saves its ~10 MB.
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(Path(app.root_path).parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    i18n.init_app(app)
    from app import fragments, nav, read_only, security
    from app.sessions import BrowserSessionInterface

    app.session_interface = BrowserSessionInterface()

    nav.init_app(app)
    fragments.init_app(app)
    security.init_app(app)
    read_only.init_app(app)  # before the blueprints' hooks, which may read the user

    from app import models  # noqa: F401 - register the mappers
    from app.services.read_models import (
        refcache,  # noqa: F401 - drops cached reference data when it changes
        tallies,  # noqa: F401 - keeps the dashboard counters in step
    )

    _configure_login(app)
    from app.services.infrastructure import uploads

    uploads.init_app(app)  # files kept for a refused form are deleted as its request ends

    from app.blueprints import register_blueprints

    register_blueprints(app)

    from app.blueprints.errors import register_error_handlers

    register_error_handlers(app)

    from app.cli import register_cli

    register_cli(app)
    _sqlite_pragmas(app)
    return app


def _rate_limit_storage(app: Flask) -> None:
    """Flask-Limiter's counters: in Redis when REDIS_URL is set (shared by every worker
    and process), else in this process's memory. Read here, not when `app.config` is
    imported, so the environment at start-up counts."""
    app.config["REDIS_URL"] = app.config.get("REDIS_URL") or os.environ.get("REDIS_URL") or None
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"


def _configure_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    from app.extensions import db, login_manager
    from app.inputs import as_id
    from app.models import User

    login_manager.login_message = _l("Please sign in to see this page.")
    # One statement for the user, their roles and office: every page needs all three. Built
    # once: constructing it (and its cache key) cost more than PostgreSQL took to run it.
    user_by_id = (select(User).where(User.id == bindparam("uid"))
                  .options(joinedload(User.role_rows), joinedload(User.office)))

    @login_manager.user_loader
    def load_user(user_id: str):
        uid, _, token = (user_id or "").partition(":")
        if as_id(uid) is None:
            return None
        user = db.session.execute(user_by_id, {"uid": as_id(uid)}).unique().scalar_one_or_none()
        if user is None or not user.active or user.session_token != token:
            return None
        return user


def _sqlite_pragmas(app: Flask) -> None:
    """WAL and a busy timeout make SQLite behave under a few concurrent writers."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no cover - driver callback
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            if app.config.get("TESTING"):
                cur.execute("PRAGMA synchronous=OFF")
            if ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"] and \
                    app.config["SQLALCHEMY_DATABASE_URI"] != "sqlite://":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()
