"""Retention (issue 28 item 6): delivered notifications, used or expired one-time codes,
stale sign-in throttle rows and old audit rows go, in bounded batches; undelivered messages,
live codes, locks, cases and their timelines stay."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import build_scheduler
from app.models import AuditLog, CaseEvent, LoginThrottle, Notification, OtpCode, WeeklySummary
from app.services.infrastructure import retention
from tests.conftest import NOW
from tests.factories import make_case

OLD = NOW - timedelta(days=800)


def _note(status, sent_at=None, created_at=OLD, **kw):
    n = Notification(channel="email", recipient="a@example.in", template="case_created", status=status,
                     sent_at=sent_at, created_at=created_at, next_attempt_at=created_at, **kw)
    db.session.add(n)
    return n


def _code(created_at, used_at=None, minutes=10):
    c = OtpCode(mobile="9876543210", code_hash="x" * 64, created_at=created_at,
                expires_at=created_at + timedelta(minutes=minutes), used_at=used_at)
    db.session.add(c)
    return c


@pytest.fixture
def rows(world):
    case = make_case("complaint", world.d1)
    r = {
        "sent_old": _note("sent", sent_at=NOW - timedelta(days=91), case_id=case.id),
        "sent_new": _note("sent", sent_at=NOW - timedelta(days=89)),
        "pending_old": _note("pending"),
        "failed_old": _note("failed"),
        "sending_old": _note("sending"),
        "code_used_old": _code(NOW - timedelta(days=8), used_at=NOW - timedelta(days=8)),
        "code_expired_old": _code(NOW - timedelta(days=9)),
        "code_used_new": _code(NOW - timedelta(days=1), used_at=NOW - timedelta(days=1)),
        "code_live": _code(NOW - timedelta(minutes=2)),
        "throttle_idle": LoginThrottle(login_id="20000001", ip="10.0.0.1", failures=2,
                                       updated_at=NOW - timedelta(hours=1)),
        "throttle_locked": LoginThrottle(login_id="20000001", ip="10.0.0.2", failures=5,
                                         locked_until=NOW + timedelta(minutes=5), updated_at=NOW - timedelta(hours=1)),
        "throttle_recent": LoginThrottle(login_id="20000001", ip="10.0.0.3", failures=1,
                                         updated_at=NOW - timedelta(minutes=5)),
        "audit_old": AuditLog(action="login_failed", at=NOW - timedelta(days=731)),
        "audit_new": AuditLog(action="login_failed", at=NOW - timedelta(days=729)),
    }
    db.session.add_all(r.values())
    db.session.flush()
    db.session.add(WeeklySummary(user_id=world.d1_op.id, week=date(2024, 1, 1), notification_id=r["sent_old"].id))
    db.session.commit()
    r["case"] = case
    return {k: (type(v), v.id) if k != "case" else v for k, v in r.items()}


def _exists(ref) -> bool:
    table, pk = ref
    return db.session.get(table, pk) is not None


def test_purge_removes_only_what_is_past_its_period(app, rows):
    events = db.session.scalar(select(func.count(CaseEvent.id)))
    assert retention.pending(NOW) == {"notifications": 1, "codes": 2, "login_throttle": 1, "audit": 1}
    assert retention.purge(NOW) == {"notifications": 1, "codes": 2, "login_throttle": 1, "audit": 1}
    db.session.expire_all()
    gone = {"sent_old", "code_used_old", "code_expired_old", "throttle_idle", "audit_old"}
    for name, ref in rows.items():
        if name != "case":
            assert _exists(ref) is (name not in gone), name
    # the weekly summary's record stays (it makes the summary go once), without its message
    summary = db.session.scalar(select(WeeklySummary))
    assert summary is not None and summary.notification_id is None
    # the case and its whole timeline stay
    assert db.session.get(type(rows["case"]), rows["case"].id) is not None
    assert db.session.scalar(select(func.count(CaseEvent.id))) == events > 0
    assert retention.purge(NOW) == dict.fromkeys(retention.KINDS, 0)  # nothing more


def test_zero_days_keeps_that_kind_forever(app, rows):
    app.config.update(RETENTION_NOTIFICATIONS_DAYS=0, RETENTION_CODES_DAYS=0, RETENTION_AUDIT_DAYS=0)
    assert retention.purge(NOW + timedelta(days=5000)) == {
        "notifications": 0, "codes": 0, "login_throttle": 3, "audit": 0}  # locks ended: idle rows go
    assert db.session.scalar(select(func.count(AuditLog.id))) == 2


def test_batches_are_bounded_and_the_job_resumes(app, world):
    app.config.update(RETENTION_BATCH_SIZE=2, RETENTION_MAX_BATCHES=2)
    db.session.add_all([AuditLog(action="x", at=OLD) for _ in range(7)])
    db.session.commit()
    assert retention.scheduled(NOW)["audit"] == 4  # two batches of two, then the next run
    assert retention.scheduled(NOW)["audit"] == 3
    assert db.session.scalar(select(func.count(AuditLog.id))) == 0


def test_the_scheduler_runs_retention_through_the_logging_wrapper(app, rows, monkeypatch):
    from app import jobs

    logged = []
    monkeypatch.setattr(jobs.log, "info", lambda fmt, *args: logged.append(fmt % args))
    job = {j.id: j for j in build_scheduler(app).get_jobs()}["retention"]
    job.func()  # at the real time: the rows dated years before NOW are old enough
    assert any(line.startswith("retention: {") for line in logged), logged
    assert not _exists(rows["audit_old"])


def test_cli_dry_run_then_purge(runner, app, rows):
    result = runner.invoke(args=["retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would remove: " in result.output
    assert _exists(rows["sent_old"])
    result = runner.invoke(args=["retention"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Removed: ") and "audit" in result.output
    db.session.expire_all()
    assert not _exists(rows["sent_old"]) and _exists(rows["pending_old"])
