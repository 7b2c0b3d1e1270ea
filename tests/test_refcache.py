"""Reference data cached across requests (`app.services.read_models.refcache`): an administrator's
change is seen by the next raise of every worker, without a restart; a transaction never
caches what it has not committed; raising keeps its retry semantics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from app import create_app
from app.config import TestConfig
from app.extensions import db, limiter
from app.models import Case, Category, Notification, OtpCode, PincodeEntry, RefGeneration
from app.services.administration import admin_catalog, admin_templates, admin_users
from app.services.engine import cases, sla
from app.services.front_doors import citizen
from app.services.read_models import refcache
from tests.citizen_support import add_services, form_data
from tests.conftest import NOW
from tests.factories import make_case, make_user
from tests.test_query_counts import count_queries

_keys = iter(range(10**6))


def _raise(client, service, **over) -> Case:
    """A doorstep request through the public form, with a fresh submission key and mobile
    (the same request again would be shown the open one)."""
    n = next(_keys)
    data = form_data(service, submission_key=f"refcache-key-{n:08d}",
                     **{"mobile": f"98765{n % 100_000:05d}", "confirm_new": "1", **over})
    r = client.post("/request", data=data)
    assert r.status_code == 303, r.get_data(as_text=True)[:400]
    return db.session.scalar(select(Case).where(Case.submission_key == data["submission_key"]))


def _token():
    return db.session.scalar(select(RefGeneration.token).where(RefGeneration.id == 1))


def _outbox(case) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.case_id == case.id)
                                   .order_by(Notification.id)))


@pytest.fixture
def services(world):
    return add_services(world)


@pytest.fixture
def worker_b(app):
    """A second app on the same database: another gunicorn worker, with its own cache."""
    base = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    base.update(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                SQLALCHEMY_ENGINE_OPTIONS=app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"])
    other = create_app(base)
    limiter.enabled = False
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    limiter.init_app(app)  # the limiter is shared: back to the suite's app
    limiter.enabled = False


def test_admin_changes_are_seen_by_the_next_raise_without_restart(client, world, services):
    first = _raise(client, services[0])  # fills the cache: services, pincode, SLA, wording, staff
    assert first.resolution_due == sla.due_times("service_request", "P3", first.created_at)[1]

    # The SLA matrix: the next raise is due a day after its start (1 business day).
    admin_catalog.save_sla(world.admin, {("service_request", "P3"): (1, 1)}, NOW)
    # A holiday on the next business day pushes that day back.
    second = _raise(client, services[0])
    due_one_day = second.resolution_due
    assert due_one_day < first.resolution_due
    local_day = (due_one_day + timedelta(hours=5, minutes=30)).date()  # India's date of the due time
    admin_catalog.add_holiday(world.admin, local_day, "Test holiday", NOW)
    third = _raise(client, services[0])
    assert third.resolution_due > due_one_day

    # The wording of a message.
    admin_templates.save(world.admin, name="case_created", channel="sms", locale="en", subject="",
                         body="Registered %(ref)s, thank you.", now=NOW)
    fourth = _raise(client, services[0])
    sms = [n for n in _outbox(fourth) if n.channel == "sms" and n.template == "case_created"]
    assert [n.body for n in sms] == [f"Registered {fourth.reference}, thank you."]

    # The Division's staff: a deactivated operator no longer hears of new requests; a new
    # one does.
    staff = {n.recipient for n in _outbox(fourth) if n.template == "office_received"}
    assert world.d1_op.email in staff
    admin_users.set_active(world.admin, world.d1_op, False, NOW)
    newcomer = make_user(world.d1, ["operator"])
    fifth = _raise(client, services[0])
    staff = {n.recipient for n in _outbox(fifth) if n.template == "office_received"}
    assert world.d1_op.email not in staff and newcomer.email in staff

    # The service list: a service switched off is no longer offered, nor accepted.
    svc = services[1]
    admin_catalog.save_category(world.admin, svc, kind=svc.kind, level=svc.level, code=svc.code,
                                parent_id=None, department_id=None, route_to_id=None,
                                name_en=svc.name_en, name_hi=svc.name_hi, name_fa=svc.name_fa,
                                active=False, sort_order=svc.sort_order, now=NOW)
    assert svc.name_en not in client.get("/request").get_data(as_text=True)
    assert client.post("/request", data=form_data(svc, submission_key="refcache-off-" + "x" * 12)
                       ).status_code == 422

    # The pincode directory: a pincode moved to another Division.
    entry = db.session.scalar(select(PincodeEntry).where(PincodeEntry.pincode == "560001"))
    admin_catalog.save_pincode(world.admin, entry, pincode="560001", office_name=entry.office_name,
                               district="", state="", division_code=world.d2.code, now=NOW)
    assert _raise(client, services[0]).current_office_id == world.d2.id


def test_two_workers_see_each_others_changes(client, app, world, services, worker_b):
    client_b = worker_b.test_client()
    # Both workers raise once: both caches are filled.
    _raise(client, services[0])
    before_b = _raise(client_b, services[0])
    # An administrator changes the matrix and the wording through worker A ...
    admin_catalog.save_sla(world.admin, {("service_request", "P3"): (0, 0)}, NOW)
    admin_templates.save(world.admin, name="case_created", channel="sms", locale="en", subject="",
                         body="Seen by B: %(ref)s", now=NOW)
    # ... and worker B's next raise uses them.
    case_b = _raise(client_b, services[0])
    assert case_b.resolution_due < before_b.resolution_due
    assert case_b.resolution_due == sla.due_times("service_request", "P3", case_b.created_at)[1]
    assert f"Seen by B: {case_b.reference}" in [n.body for n in _outbox(case_b)]
    # The same the other way round: a service switched off through worker B, seen by A.
    assert services[2].name_en in client.get("/request").get_data(as_text=True)
    off_id, off_name = services[2].id, services[2].name_en
    with worker_b.app_context():
        db.session.get(Category, off_id).active = False
        db.session.commit()
        db.session.remove()
    assert off_name not in client.get("/request").get_data(as_text=True)


def test_a_sign_in_does_not_drop_the_cache(client, auth, world, services):
    _raise(client, services[0])
    before = _token()
    assert auth.login(world.d1_op.login_id).status_code in (302, 303)
    assert _token() == before
    # An e-mail address changed does (the office's contacts are cached).
    world.d1_op.email = "changed@example.test"
    db.session.commit()
    assert _token() != before


def test_a_transaction_sees_its_own_changes_and_caches_none_of_them(app, world, services):
    names = [s.name_en for s in citizen.service_types()]
    assert len(names) == 3
    services[0].name_en = "Renamed, not committed"
    # Pending: the lookup flushes it and reads the database, as a query always did.
    assert citizen.service_types()[0].name_en == "Renamed, not committed"
    db.session.rollback()
    assert [s.name_en for s in citizen.service_types()] == names
    # Flushed in the transaction: the same, and gone after a rollback.
    services[1].active = False
    db.session.flush()
    assert len(citizen.service_types()) == 2
    db.session.rollback()
    assert [s.name_en for s in citizen.service_types()] == names


def test_without_the_generation_row_nothing_is_cached_and_a_change_brings_it_back(app, world, services):
    db.session.execute(delete(RefGeneration))
    db.session.commit()
    assert len(citizen.service_types()) == 3
    services[0].active = False
    db.session.commit()
    assert _token() is not None
    assert len(citizen.service_types()) == 2


def test_cached_offices_are_attached_without_a_query(app, world, services):
    from app.services.engine import routing

    refcache.clear()
    d3_id, d3_name = world.d3.id, world.d3.name
    entry = citizen.lookup_pincode("570001")
    db.session.commit()
    db.session.remove()  # a new session: the Division is not in it
    with count_queries() as c:
        division = routing.division_for_pincode(entry.pincode)
        assert division.id == d3_id and division.name == d3_name
        assert division in db.session and not db.session.dirty and not db.session.new
    assert c["n"] == 1  # the generation's token; no office read


def test_a_retried_collision_keeps_the_callers_earlier_writes(app, world, monkeypatch):
    taken = make_case("service_request", world.d1).reference
    refs = iter([taken])
    real = cases.new_reference
    monkeypatch.setattr(cases, "new_reference", lambda kind, now: next(refs, None) or real(kind, now))
    db.session.add(OtpCode(mobile="9876543210", code_hash="x" * 64, created_at=NOW,
                           expires_at=NOW + timedelta(minutes=5)))
    db.session.flush()  # the caller's own write, earlier in the transaction
    case = make_case("service_request", world.d1, now=NOW + timedelta(minutes=1))
    assert case.reference != taken
    db.session.expire_all()
    assert db.session.scalar(select(OtpCode.id)) is not None
    assert db.session.get(Case, case.id).reference == case.reference


def test_a_retried_collision_without_earlier_writes(app, world, monkeypatch):
    taken = make_case("service_request", world.d1).reference
    refs = iter([taken])
    real = cases.new_reference
    monkeypatch.setattr(cases, "new_reference", lambda kind, now: next(refs, None) or real(kind, now))
    case = make_case("service_request", world.d1, now=NOW + timedelta(minutes=1))
    assert case.reference != taken and db.session.get(Case, case.id) is case


def test_a_double_submission_returns_the_case_already_raised(client, world, services):
    data = form_data(services[0], submission_key="refcache-double-" + "y" * 10)
    assert client.post("/request", data=data).status_code == 303
    assert client.post("/request", data=data).status_code == 303
    assert len(db.session.scalars(select(Case).where(Case.submission_key == data["submission_key"])).all()) == 1
