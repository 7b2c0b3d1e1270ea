"""`flask` commands and the scheduler's single-process guarantee."""

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.jobs import SchedulerLock, build_scheduler, run_once
from app.models import Case, OrgUnit, User
from app.services import cases
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
    from app.services.demo import DEMO_PASSWORD, demo_logins

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


def test_scheduler_registers_one_guarded_job(app):
    sched = build_scheduler(app)
    jobs = sched.get_jobs()
    assert [j.id for j in jobs] == ["sweep"]
    assert jobs[0].max_instances == 1 and jobs[0].coalesce is True
