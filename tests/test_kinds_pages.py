"""A kind registered by a test alone walks the real pages: raised on the registry's raise
page (`/cases/new/<kind>` with the form its entry names), worked and closed on the one case
page through the one `act` endpoint — no other module knows it (issue 24, item 1)."""

from __future__ import annotations

import re

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.domain import kinds
from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, CaseEvent, OrgUnit

DRILL = "drill"
STAND_DOWN = wf.Transition("stand_down", frozenset({DRILL}), frozenset(wf.WORKING), wf.CLOSED,
                           frozenset({wf.HANDLER}), ("close", "notify_requester"), needs_text=True,
                           resolution="resolved")


class DrillForm(FlaskForm):
    """The throwaway kind's own form: what to drill, and where it goes (the team)."""

    subject = StringField("What is drilled", validators=[DataRequired(message="Say what is drilled."),
                                                         Length(max=200)])
    description = TextAreaField("Instructions", validators=[Length(max=2000)])
    submission_key = HiddenField()

    def target_office(self, user):
        return db.session.scalar(select(OrgUnit).where(OrgUnit.code == "TEAM"))


@pytest.fixture
def drill_kind():
    kind = kinds.register(kinds.CaseKind(
        code=DRILL, prefix="DR", name="Fire drill", plural="Fire drills",
        workflow=wf.INTERACTION, rows=(STAND_DOWN,), relations=frozenset({wf.REQUESTER, wf.HANDLER}),
        raise_endpoint="cases.new", form=f"{__name__}:DrillForm",
        action_labels={"stand_down": "Stand down"},
    ))
    try:
        yield kind
    finally:
        kinds.unregister(DRILL)


def _version(reference: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Case.version).where(Case.reference == reference))


def test_a_registered_kind_is_raised_worked_and_closed_through_the_pages(client, auth, world, drill_kind):
    auth.login(world.d1_op.login_id)
    page = client.get("/cases/new/drill")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Fire drill</h1>" in html and 'name="subject"' in html and 'name="submission_key"' in html

    # a missing subject: the error beside the field, the instructions kept
    r = client.post("/cases/new/drill", data={"subject": "", "description": "Use stairs B"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Say what is drilled." in html and "Use stairs B" in html
    assert db.session.scalar(select(Case).where(Case.kind == DRILL)) is None

    r = client.post("/cases/new/drill", data={"subject": "Evacuate floor 2", "description": "Use stairs B",
                                              "submission_key": "k-drill-1"})
    assert r.status_code == 303
    reference = re.search(r"/cases/(DR-[\w-]+)$", r.headers["Location"]).group(1)
    case = db.session.scalar(select(Case).where(Case.reference == reference))
    assert case.kind == DRILL and case.current_office_id == world.team.id and case.raised_by_id == world.d1_op.id
    # a resubmit with the same key is the same case
    again = client.post("/cases/new/drill", data={"subject": "Evacuate floor 2", "submission_key": "k-drill-1"})
    assert again.headers["Location"].endswith(reference)
    flashed = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f'Registered: <bdi dir="ltr" class="ref">{reference}</bdi>' in flashed

    # the team works it on the one case page; its own row's button carries its own words
    auth.logout()
    auth.login(world.team_user.login_id)
    html = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Evacuate floor 2" in html and 'value="start"' in html
    r = client.post(f"/cases/{reference}/act", data={"action": "start", "version": _version(reference)})
    assert r.status_code == 303
    html = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert 'value="stand_down"' in html and "Stand down" in html
    r = client.post(f"/cases/{reference}/act", data={"action": "stand_down", "text": "All clear",
                                                     "version": _version(reference)})
    assert r.status_code == 303
    db.session.expire_all()
    case = db.session.scalar(select(Case).where(Case.reference == reference))
    assert case.status == wf.CLOSED and case.resolution == "resolved"
    html = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Done: Stand down." in html and "All clear" in html


def test_only_a_kind_without_a_door_of_its_own_is_raised_there(client, auth, world, drill_kind):
    auth.login(world.d1_op.login_id)
    assert client.get("/cases/new/complaint").status_code == 404  # its own registration page
    assert client.get("/cases/new/nope").status_code == 404


def test_the_raise_page_needs_a_sign_in(client, world, drill_kind):
    r = client.get("/cases/new/drill")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]


def test_the_raise_page_takes_any_text_without_a_crash_or_a_half_written_case(app, world, drill_kind):
    """The fuzzing of every other form (tests/test_fuzz_forms.py), on this page: whatever is
    typed, no 500, nothing unescaped, and either one whole case or none."""
    from hypothesis import given
    from hypothesis import strategies as st

    from tests.test_fuzz_forms import FUZZ, TEXT, _check_nothing_half_written, _check_response, _max, _sign_in

    @FUZZ
    @given(overrides=st.fixed_dictionaries({}, optional={f: TEXT for f in ("subject", "description",
                                                                             "submission_key")}),
           htmx=st.booleans())
    def run(overrides, htmx):
        db.session.rollback()
        client = _sign_in(app, world, "d1_op")
        data = {"subject": "Evacuate", "description": "Stairs B", **overrides}
        case_before, event_before = _max(Case.id), _max(CaseEvent.id)
        r = client.post("/cases/new/drill", data=data, headers={"HX-Request": "true"} if htmx else {})
        _check_response(r)
        _check_nothing_half_written(r.status_code, case_before, event_before, None)

    run()


def division_staff_only(user) -> bool:
    """The throwaway kind's `may_raise`: only a Division's staff raise drills."""
    return user.office.kind == "division"


def test_a_kind_says_who_may_raise_it_and_others_are_refused_with_nothing_written(client, auth, world):
    """`CaseKind.may_raise`, checked by `access.may_raise` on the raise page's GET and POST:
    a Division operator raises; a Sub Office operator gets 403 and no case is written."""
    kinds.register(kinds.CaseKind(
        code=DRILL, prefix="DR", name="Fire drill", plural="Fire drills",
        workflow=wf.INTERACTION, rows=(STAND_DOWN,), relations=frozenset({wf.REQUESTER, wf.HANDLER}),
        raise_endpoint="cases.new", form=f"{__name__}:DrillForm", may_raise=f"{__name__}:division_staff_only",
        action_labels={"stand_down": "Stand down"}))
    try:
        auth.login(world.so1_user.login_id)
        assert client.get("/cases/new/drill").status_code == 403
        r = client.post("/cases/new/drill", data={"subject": "Evacuate floor 2", "submission_key": "k-drill-x"})
        assert r.status_code == 403
        assert db.session.scalar(select(func.count()).select_from(Case).where(Case.kind == DRILL)) == 0
        auth.logout()
        auth.login(world.d1_op.login_id)
        assert client.get("/cases/new/drill").status_code == 200
        r = client.post("/cases/new/drill", data={"subject": "Evacuate floor 2", "submission_key": "k-drill-y"})
        assert r.status_code in (302, 303)
        assert db.session.scalar(select(func.count()).select_from(Case).where(Case.kind == DRILL)) == 1
    finally:
        kinds.unregister(DRILL)
