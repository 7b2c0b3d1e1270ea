"""An office's new-case notices (issue 28 item 4): one message to its role address, a
digest per interval, or one message per active staff member (OFFICE_NOTICE_MODE)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Notification, OfficeNotice, OrgUnit
from app.services.engine import notify
from tests.conftest import NOW
from tests.factories import make_case


def _office_messages(template="office_received"):
    return db.session.scalars(select(Notification).where(Notification.template == template)
                              .order_by(Notification.id)).all()


def _d1_staff(world):
    return sorted(u.email for u in (world.d1_op, world.d1_op2, world.d1_sup))


def test_each_writes_to_every_active_staff_member(app, world):
    app.config["OFFICE_NOTICE_MODE"] = "each"
    world.d1.email = "division1@example.in"  # not used in this mode
    db.session.commit()
    make_case("service_request", world.d1)
    rows = _office_messages()
    assert sorted(r.recipient for r in rows) == _d1_staff(world)
    assert {r.priority for r in rows} == {notify.PRIORITY_OFFICE}


def test_role_address_is_one_message_in_the_default_language(app, world):
    assert app.config["OFFICE_NOTICE_MODE"] == "role_address"  # the default
    world.d1_op.locale = "hi"
    world.d1.email = "division1@example.in"
    db.session.commit()
    case = make_case("service_request", world.d1)
    rows = _office_messages()
    assert [(r.recipient, r.locale, r.priority) for r in rows] == [
        ("division1@example.in", "en", notify.PRIORITY_OFFICE)]
    assert case.reference in rows[0].subject and case.reference in rows[0].body


def test_role_address_falls_back_to_the_staff_while_the_office_has_none(app, world):
    make_case("service_request", world.d1)
    assert sorted(r.recipient for r in _office_messages()) == _d1_staff(world)


def test_a_digest_per_office_per_interval_in_each_readers_language(app, world):
    app.config.update(OFFICE_NOTICE_MODE="digest", OFFICE_DIGEST_MINUTES=60)
    world.d1_op.locale = "hi"
    db.session.commit()
    first = make_case("service_request", world.d1, subject="Parcel not delivered")
    second = make_case("service_request", world.d1, now=NOW + timedelta(minutes=20), subject="Wrong address")
    assert _office_messages() == []  # held, not sent one by one
    held = db.session.scalars(select(OfficeNotice)).all()
    assert sorted(n.case_id for n in held) == sorted([first.id, second.id])
    assert notify.send_digests(NOW + timedelta(minutes=59)) == 0  # the oldest is not an hour old yet
    assert notify.send_digests(NOW + timedelta(minutes=60)) == 1
    digests = _office_messages("office_digest")
    assert sorted(d.recipient for d in digests) == _d1_staff(world)
    assert {d.priority for d in digests} == {notify.PRIORITY_OFFICE}
    for d in digests:
        assert first.reference in d.body and second.reference in d.body
        assert "Parcel not delivered" in d.body and "Wrong address" in d.body
        assert d.body.index(first.reference) < d.body.index(second.reference)
    hindi = next(d for d in digests if d.recipient == world.d1_op.email)
    assert hindi.locale == "hi" and "नए मामले" in hindi.subject and "कार्यालय की कतार" in hindi.body
    english = next(d for d in digests if d.recipient == world.d1_sup.email)
    assert english.subject == f"New cases for {world.d1.name}: 2"
    assert db.session.scalars(select(OfficeNotice)).all() == []
    assert notify.send_digests(NOW + timedelta(hours=3)) == 0  # nothing held: nothing sent


def test_a_digest_goes_to_the_role_address_when_there_is_one(app, world):
    app.config.update(OFFICE_NOTICE_MODE="digest", OFFICE_DIGEST_MINUTES=15)
    world.d1.email = "division1@example.in"
    db.session.commit()
    make_case("service_request", world.d1)
    make_case("service_request", world.d2)  # another office: its own digest
    assert notify.send_digests(NOW + timedelta(minutes=15)) == 2
    digests = _office_messages("office_digest")
    assert [d.recipient for d in digests if d.recipient == "division1@example.in"] == ["division1@example.in"]
    assert world.d2_op.email in {d.recipient for d in digests}
    # the scheduler's outbox job builds them, and delivers them with the rest
    make_case("service_request", world.d1, now=NOW + timedelta(minutes=20))
    result = notify.scheduled(NOW + timedelta(minutes=40))
    assert result["digests"] == 1 and result["sent"] >= 1


def test_the_admin_sets_an_offices_role_address(client, auth, world):
    auth.login(world.admin.login_id)
    page = client.get(f"/admin/offices/{world.d1.id}")
    assert b'name="email"' in page.data
    r = client.post(f"/admin/offices/{world.d1.id}/email", data={"email": " division1@example.in "})
    assert r.status_code == 303
    assert db.session.get(OrgUnit, world.d1.id).email == "division1@example.in"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "admin.office.email")) is not None
    client.post(f"/admin/offices/{world.d1.id}/email", data={"email": "not an address"})
    assert db.session.get(OrgUnit, world.d1.id).email == "division1@example.in"  # refused
    client.post(f"/admin/offices/{world.d1.id}/email", data={"email": ""})
    db.session.expire_all()
    assert db.session.get(OrgUnit, world.d1.id).email is None


@pytest.mark.parametrize("how", ["transfer", "sweep"])
def test_a_transferred_or_escalated_case_is_held_for_the_receiving_offices_digest(app, world, how):
    """Both paths that move a case between offices — a person's transfer and the
    set-based sweep's escalation — hold the notice for the office it reaches."""
    from app.models import Case
    from app.services.engine import cases, timers

    app.config["OFFICE_NOTICE_MODE"] = "digest"
    case = make_case("complaint", world.ho1)
    if how == "transfer":
        cases.act(case, "transfer", actor=world.ho1_op, now=NOW, text="Belongs to D2", target_office=world.d2)
        office = world.d2
    else:
        cases.act(case, "escalate", actor=world.ho1_sup, now=NOW, text="Up.")  # level 1: supervisors
        timers._begin_batch()
        case = db.session.get(Case, case.id)
        assert cases.act_many([(case, case.version)], "sla_escalate", now=NOW + timedelta(days=30)) == 1
        db.session.commit()
        office = world.d1
    held = db.session.scalars(select(OfficeNotice).where(OfficeNotice.case_id == case.id)).all()
    assert office.id in {n.office_id for n in held}
    assert not db.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.template == "office_received",
        Notification.recipient.in_([u.email for u in (world.d2_op, world.d1_op, world.d1_op2)]))).all()


def test_a_requesters_answer_goes_to_the_offices_shared_address(app, world):
    from app.services.engine import cases

    world.d1.email = "division1@example.in"
    db.session.commit()
    case = make_case("complaint", world.d1)
    cases.act(case, "request_info", actor=world.d1_op, now=NOW, text="Which parcel?")
    cases.act(case, "provide_info", as_="requester", now=NOW + timedelta(hours=1), text="EK123456789IN")
    answered = db.session.scalars(select(Notification).where(Notification.template == "requester_answered")).all()
    assert [n.recipient for n in answered] == ["division1@example.in"]
