"""Backup/restore round trip and the retention command."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Case, Notification
from app.services.engine import cases
from tests.conftest import NOW
from tests.factories import make_case


@pytest.mark.skipif("postgresql" in (__import__("os").environ.get("TEST_DATABASE_URL") or ""),
                    reason="SQLite backup; PostgreSQL uses pg_dump (documented)")
def test_backup_and_restore_round_trip(runner, world, tmp_path):
    keep = make_case("service_request", world.d1).reference
    result = runner.invoke(args=["backup", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    backup_file = next(tmp_path.glob("portal-*.sqlite"))
    make_case("service_request", world.d1, subject="after the backup")
    assert db.session.scalar(select(func.count(Case.id))) == 2
    result = runner.invoke(args=["restore", str(backup_file), "--yes"])
    assert result.exit_code == 0, result.output
    refs = list(db.session.scalars(select(Case.reference)))
    assert refs == [keep]


def test_anonymise_keeps_statistics(runner, world):
    old = make_case("service_request", world.d1)
    cases.act(old, "complete", actor=world.d1_op, now=NOW - timedelta(days=400))
    recent = make_case("service_request", world.d1)
    cases.act(recent, "complete", actor=world.d1_op, now=NOW)
    open_case = make_case("service_request", world.d1)
    result = runner.invoke(args=["anonymise", "--older-than-days", "365"])
    assert "Anonymised 1 cases" in result.output
    db.session.expire_all()
    old = db.session.get(Case, old.id)
    assert old.requester_name is None and old.requester_mobile is None and old.requester_email is None
    assert old.kind == "service_request" and old.status == "closed" and old.closed_at is not None
    assert db.session.get(Case, recent.id).requester_mobile == "9876543210"
    assert db.session.get(Case, open_case.id).requester_name == "Ravi Kumar"
    bodies = db.session.scalars(select(Notification.recipient).where(Notification.case_id == old.id)).all()
    assert bodies and set(bodies) == {"[removed]"}
    assert "Anonymised 0 cases" in runner.invoke(args=["anonymise", "--older-than-days", "365"]).output


def test_backup_refuses_postgres_politely(runner, app):
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://x@localhost/y"
    result = runner.invoke(args=["backup"])
    assert result.exit_code != 0 and "pg_dump" in result.output
