from tests.factories import make_case


def test_landing_page(client):
    r = client.get("/")
    assert r.status_code == 200
    assert b"Staff sign-in" in r.data


def test_login_and_home(client, auth, world):
    r = auth.login(world.d1_op.login_id)
    assert r.status_code == 302
    r = client.get("/")
    assert r.status_code == 200
    assert world.d1.name.encode() in r.data


def test_case_page(client, auth, world):
    case = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    r = client.get(f"/cases/{case.reference}")
    assert r.status_code == 200, r.data
    assert case.reference.encode() in r.data


def test_gunicorn_workers_do_not_set_up_migrations(monkeypatch, tmp_path):
    """`flask db` (Flask-Migrate, Alembic) is set up for the command line and tests, not in
    a gunicorn worker (it never migrates; ~10 MB saved), unless MIGRATIONS says so."""
    import sys
    import types

    from app import create_app
    from app.config import TestConfig

    base = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    base["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'x.sqlite'}"
    monkeypatch.delitem(sys.modules, "gunicorn", raising=False)
    cli = create_app(dict(base))
    assert "migrate" in cli.extensions and "db" in cli.cli.commands
    monkeypatch.setitem(sys.modules, "gunicorn", types.ModuleType("gunicorn"))
    worker = create_app(dict(base))
    assert "migrate" not in worker.extensions and "db" not in worker.cli.commands
    assert "migrate" in create_app({**base, "MIGRATIONS": True}).extensions
