"""Column SELECTs on the session's connection (services/plain_rows.py) see the session's
pending changes, as Session.execute's autoflush would show them."""

from sqlalchemy import select

from app.extensions import db
from app.models import Case
from app.services.read_models import plain_rows
from tests.factories import make_case


def test_pending_changes_are_flushed_before_reading(world):
    sr = make_case("service_request", world.d1)
    sr.subject = "Changed, not yet flushed"
    assert db.session.dirty
    row = plain_rows.first_row(select(Case.subject).where(Case.id == sr.id))
    assert row.subject == "Changed, not yet flushed"
    rows = plain_rows.all_rows(select(Case.id, Case.subject).where(Case.current_office_id == world.d1.id))
    assert [(r.id, r.subject) for r in rows] == [(sr.id, "Changed, not yet flushed")]
    db.session.rollback()


def test_no_autoflush_is_respected(world):
    sr = make_case("service_request", world.d1)
    with db.session.no_autoflush:
        sr.subject = "Held back"
        row = plain_rows.first_row(select(Case.subject).where(Case.id == sr.id))
        assert row.subject != "Held back"
    db.session.rollback()


def test_nothing_found_is_none(world):
    assert plain_rows.first_row(select(Case.id).where(Case.id == -1)) is None
    assert plain_rows.all_rows(select(Case.id).where(Case.id == -1)) == []
