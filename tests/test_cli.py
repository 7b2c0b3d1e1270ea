"""`flask` commands and the scheduler's single-process guarantee."""

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.jobs import SchedulerLock, build_scheduler, run_once
from app.models import Case, OrgUnit, User
from app.services.engine import cases
from tests.conftest import NOW
from tests.factories import make_case


def test_demo_data_loads_everything_once(runner):
    result = runner.invoke(args=["demo-data", "--cases", "25"])
    assert result.exit_code == 0, result.output
    logins = runner.invoke(args=["demo-logins"])
    assert "Demo sign-ins" in logins.output and "Seva@2026" in logins.output
    assert "Sub Office" in logins.output and "Circle" in logins.output
    kinds = set(db.session.scalars(select(OrgUnit.kind).distinct()))
    assert {"cept", "circle", "region", "division", "head_office", "sub_office", "department",
            "team", "external"} <= kinds
    assert db.session.scalar(select(func.count(OrgUnit.id)).where(OrgUnit.kind == "circle")) == 2
    assert db.session.scalar(select(func.count(OrgUnit.id)).where(OrgUnit.kind == "region")) == 4
    assert db.session.scalar(select(func.count(OrgUnit.id)).where(OrgUnit.kind == "division")) == 8
    # --cases counts the demo's cases; the repeat complaints it files about closed ones
    # (related_case) come on top
    repeats = db.session.scalar(select(func.count(Case.id)).where(Case.related_case_id.is_not(None)))
    total = db.session.scalar(select(func.count(Case.id)))
    assert total - repeats == 25
    assert len(set(db.session.scalars(select(Case.kind)))) == 5
    again = runner.invoke(args=["demo-data", "--if-empty"])
    assert "already has data" in again.output
    assert db.session.scalar(select(func.count(Case.id))) == total


def test_demo_logins_land_on_a_home_page(runner, app):
    runner.invoke(args=["demo-data", "--cases", "5"])
    from app.services.administration.demo import DEMO_PASSWORD, demo_logins

    for login_id, _what in demo_logins():
        client = app.test_client()
        r = client.post("/auth/login", data={"login_id": login_id, "password": DEMO_PASSWORD})
        assert r.status_code == 302, login_id
        user = db.session.scalar(select(User).where(User.login_id == login_id))
        page = client.get("/").get_data(as_text=True)
        from markupsafe import escape

        assert str(escape(user.office.name)) in page


def test_create_user_validates_and_creates(runner, world):
    bad = runner.invoke(args=["create-user", "--login-id", "12", "--name", "X", "--office", "D1",
                              "--password", "Secret-123"])
    assert bad.exit_code != 0 and "8-digit" in bad.output
    ok = runner.invoke(args=["create-user", "--login-id", "12345678", "--name", "New Person",
                             "--office", "D1", "--role", "operator", "--password", "Secret-123"])
    assert ok.exit_code == 0, ok.output
    user = db.session.scalar(select(User).where(User.login_id == "12345678"))
    assert user.office_id == world.d1.id and user.roles == {"operator"}


def test_run_jobs_once(runner, world):
    result = runner.invoke(args=["run-jobs"])
    assert result.exit_code == 0 and "timers" in result.output


def test_run_once_closes_due_confirmations(app, world):
    case = make_case("complaint", world.ho1)
    cases.act(case, "propose_resolution", actor=world.ho1_op, now=NOW, text="Resolved")
    result = run_once(app, NOW + timedelta(hours=49))
    assert result["timers"]["auto_closed"] == 1
    db.session.refresh(case)
    assert case.status == "closed"


def test_only_one_scheduler_holds_the_lock(app):
    first, second = SchedulerLock(app), SchedulerLock(app)
    assert first.acquire() is True
    try:
        assert second.acquire() is False
    finally:
        second.release()
        first.release()
    third = SchedulerLock(app)
    assert third.acquire() is True
    third.release()


def test_scheduler_registers_the_sweep_and_the_outbox_as_guarded_jobs(app, monkeypatch):
    """SCHEDULER_OUTBOX_SECONDS is read: the outbox is delivered on its own interval,
    not only with the timer sweep (issue 22, item 7)."""
    monkeypatch.setitem(app.config, "SCHEDULER_SWEEP_SECONDS", 60)
    monkeypatch.setitem(app.config, "SCHEDULER_OUTBOX_SECONDS", 7)
    sched = build_scheduler(app)
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"sweep", "outbox", "reports", "uploads", "retention", "partitions"}
    assert all(j.max_instances == 1 and j.coalesce is True for j in jobs.values())
    assert jobs["sweep"].trigger.interval == timedelta(seconds=60)
    assert jobs["outbox"].trigger.interval == timedelta(seconds=7)
    assert jobs["reports"].trigger.interval == timedelta(seconds=300)
    assert jobs["retention"].trigger.interval == timedelta(seconds=3600)
    assert jobs["partitions"].trigger.interval == timedelta(seconds=600)


def test_scheduler_jobs_run_the_sweep_and_the_delivery(app, monkeypatch):
    from app.services.engine import notify, timers

    calls = []
    monkeypatch.setattr(timers, "sweep", lambda now: calls.append("sweep") or {"closed": 0})
    monkeypatch.setattr(notify, "deliver_due", lambda now: calls.append("outbox") or {"sent": 0})
    jobs = {j.id: j for j in build_scheduler(app).get_jobs()}
    jobs["outbox"].func()
    assert calls == ["outbox"]
    jobs["sweep"].func()
    assert calls == ["outbox", "sweep"]


def test_scheduler_reports_job_takes_the_snapshot_and_sends_the_weekly_summaries(app, monkeypatch):
    from app.services.read_models import summary

    calls = []
    monkeypatch.setattr(summary, "snapshot", lambda now: calls.append("snapshot") or 0)
    monkeypatch.setattr(summary, "send_weekly", lambda now: calls.append("weekly") or 0)
    {j.id: j for j in build_scheduler(app).get_jobs()}["reports"].func()
    assert calls == ["snapshot", "weekly"]
