"""Audit log viewer (read-only, filters, CSV export, scope) and the outbox view with
its retry button."""

import csv
import io
from datetime import datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Notification
from app.services.administration import admin_users as users
from app.services.engine import cases
from app.services.infrastructure import audit
from tests.conftest import NOW
from tests.factories import make_case, make_user


@pytest.fixture
def circle_admin(world):
    return make_user(world.c1, ["admin"])


def test_sign_ins_and_failures_are_listed(client, auth, world):
    auth.login(world.d1_op.login_id, "wrong-password")
    auth.login(world.admin.login_id)
    r = client.get("/admin/audit?group=signin", headers={"HX-Request": "true"})
    assert b"login_failed" in r.data and b"<code>login</code>" in r.data
    r = client.get(f"/admin/audit?actor={world.d1_op.login_id}", headers={"HX-Request": "true"})
    assert b"login_failed" in r.data and b"<code>login</code>" not in r.data


def test_denials_and_admin_changes_filters(client, auth, world):
    auth.login(world.d1_op.login_id)
    client.get("/admin/users")  # denied
    auth.logout()
    auth.login(world.admin.login_id)
    client.post(f"/admin/offices/{world.d2.id}/rename", data={"name": "Renamed"})
    r = client.get("/admin/audit?group=denied", headers={"HX-Request": "true"})
    assert b"denied" in r.data and b"admin.office.rename" not in r.data
    r = client.get("/admin/audit?group=admin", headers={"HX-Request": "true"})
    assert b"admin.office.rename" in r.data and b"denied" not in r.data
    r = client.get("/admin/audit?q=Renamed", headers={"HX-Request": "true"})
    assert b"admin.office.rename" in r.data


def test_date_filter(client, auth, world):
    audit.record("admin.test", actor=world.admin, target="old", now=datetime(2025, 1, 5, 10), commit=True)
    audit.record("admin.test", actor=world.admin, target="new", now=datetime(2026, 3, 5, 10), commit=True)
    auth.login(world.admin.login_id)
    r = client.get("/admin/audit?start=2026-01-01&end=2026-12-31&q=admin.test", headers={"HX-Request": "true"})
    assert b"new" in r.data and b">old<" not in r.data
    r = client.get("/admin/audit?start=bad-date&q=admin.test", headers={"HX-Request": "true"})
    assert r.status_code == 200


def test_status_changes_tab(client, auth, world):
    case = make_case("complaint", world.d1)
    cases.act(case, "start", actor=world.d1_op, now=NOW)
    auth.login(world.admin.login_id)
    r = client.get("/admin/audit?tab=status", headers={"HX-Request": "true"})
    assert case.reference.encode() in r.data and b"In progress" in r.data
    r = client.get("/admin/audit.csv?tab=status")
    rows = list(csv.reader(io.StringIO(r.data.decode())))
    assert rows[0][1] == "reference" and rows[1][1] == case.reference and rows[1][4] == "in_progress"


def test_csv_export(client, auth, world):
    audit.record("admin.test", actor=world.admin, target="x", detail="=HYPERLINK(\"evil\")", commit=True)
    auth.login(world.admin.login_id)
    r = client.get("/admin/audit.csv?q=admin.test")
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode())))
    assert rows[0] == ["at_utc", "action", "actor", "target", "detail", "ip"]
    assert rows[1][1] == "admin.test" and rows[1][4].startswith("'=")
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "admin.audit.export")) is not None


def test_circle_admin_sees_only_their_people(client, auth, world, circle_admin):
    audit.record("admin.test", actor=world.r3_op, target="other-circle", commit=True)
    audit.record("admin.test", actor=world.d1_op, target="own-circle", commit=True)
    auth.login(circle_admin.login_id)
    r = client.get("/admin/audit?q=admin.test", headers={"HX-Request": "true"})
    assert b"own-circle" in r.data and b"other-circle" not in r.data
    r = client.get("/admin/audit.csv?q=admin.test")
    assert b"own-circle" in r.data and b"other-circle" not in r.data


def test_audit_log_cannot_be_edited_from_the_app(app, client, auth, world):
    rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    assert rules and all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)
    auth.login(world.admin.login_id)
    assert client.post("/admin/audit").status_code == 405
    assert client.delete("/admin/audit").status_code == 405


# ---- outbox ---------------------------------------------------------------------

def _notes():
    failed = Notification(channel="sms", recipient="9876543210", template="otp", status="failed",
                          attempts=8, last_error="DeliveryError: gateway down", created_at=NOW)
    sent = Notification(channel="email", recipient="a@example.in", template="case_created", status="sent",
                        attempts=1, created_at=NOW)
    db.session.add_all([failed, sent])
    db.session.commit()
    return failed, sent


def test_outbox_lists_and_filters(client, auth, world):
    _notes()
    auth.login(world.admin.login_id)
    r = client.get("/admin/outbox")
    assert b"gateway down" in r.data and b"a@example.in" in r.data
    r = client.get("/admin/outbox?status=failed", headers={"HX-Request": "true"})
    assert b"gateway down" in r.data and b"a@example.in" not in r.data and b"<html" not in r.data
    r = client.get("/admin/outbox?q=example", headers={"HX-Request": "true"})
    assert b"a@example.in" in r.data and b"9876543210" not in r.data


def test_outbox_retry(client, auth, world, app):
    failed, _sent = _notes()
    auth.login(world.admin.login_id)
    r = client.post(f"/admin/outbox/{failed.id}/retry")
    assert r.status_code == 303
    db.session.refresh(failed)
    assert failed.status == "pending"
    from app.services.engine import notify

    notify.deliver_due(datetime.utcnow())
    db.session.refresh(failed)
    assert failed.status == "sent" and failed.last_error is None
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "admin.outbox.retry")) is not None


def test_outbox_national_only(client, auth, world, circle_admin):
    failed, _sent = _notes()
    auth.login(circle_admin.login_id)
    assert client.get("/admin/outbox").status_code == 403
    assert client.post(f"/admin/outbox/{failed.id}/retry").status_code == 403
    db.session.refresh(failed)
    assert failed.status == "failed"


def test_admin_user_changes_are_audited(app, world):
    with app.test_request_context():
        user, _pw = users.create(world.admin, login_id="10002222", name="Audited", office=world.d1,
                                 roles=["operator"], now=NOW)
        users.reset_password(world.admin, user, NOW)
        users.set_active(world.admin, user, False, NOW)
    got = [a.action for a in db.session.scalars(select(AuditLog).where(AuditLog.target == "user:10002222")
                                                .order_by(AuditLog.id))]
    assert got == ["admin.user.create", "admin.user.reset_password", "admin.user.deactivate"]
