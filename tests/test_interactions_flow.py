"""Staff interactions (seed 004): routing to a department or a colleague, the subject
list per department, assign-to, the resolved / not resolved loop and the one survey."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import workflow as wf
from app.domain.errors import AlreadyDone, BadTarget, MissingInput, NotAllowed
from app.extensions import db
from app.models import Category, Feedback, Notification
from app.services.engine import access, case_actions
from app.services.front_doors import interactions
from tests.conftest import NOW
from tests.factories import make_office, make_user

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100 + b"\xff\xd9"


def build_org(w):
    """The world plus a second department with its own subjects (shared with the route tests)."""
    w.hr = make_office("DHR", "department", w.cept, name="Human Resources")
    w.hr_user = make_user(w.hr, ["operator"], name="Homa Rahimi")
    w.it_subjects = []
    for i, (code, en, fa) in enumerate([("it_account", "Account problem", "مشکل حساب کاربری"),
                                         ("it_network", "Network", "اتصال شبکه")]):
        c = Category(kind="interaction", level="subject", code=code, name_en=en, name_fa=fa,
                     name_hi=en, department_id=w.dept.id, sort_order=i)
        db.session.add(c)
        w.it_subjects.append(c)
    w.hr_leave = Category(kind="interaction", level="subject", code="hr_leave", name_en="Leave",
                          name_fa="مرخصی", name_hi="छुट्टी", department_id=w.hr.id)
    db.session.add(w.hr_leave)
    db.session.commit()
    return w


@pytest.fixture
def org(world):
    return build_org(world)


def _dept_case(w, when=NOW):
    return interactions.raise_to_department(w.d1_op, w.dept, w.it_subjects[0], "My account is locked.",
                                            when)


def _colleague_case(w, when=NOW):
    return interactions.raise_to_colleague(w.d1_op, w.dept_user, "question", "P2",
                                           "Where is the leave form?\nThanks", when)


# ---- services ----------------------------------------------------------------------

def test_subjects_are_per_department(org):
    assert [s.code for s in interactions.subjects(org.dept.id)] == ["it_account", "it_network"]
    assert [s.code for s in interactions.subjects(org.hr.id)] == ["hr_leave"]
    assert interactions.subjects(None) == []
    assert {d.code for d in interactions.departments()} == {"DEPT", "DHR"}


def test_department_request_goes_to_the_department_queue(org):
    case = _dept_case(org)
    assert case.kind == wf.INTERACTION and case.status == wf.OPEN
    assert case.current_office_id == org.dept.id and case.assignee_id is None
    assert case.data["addressed_to"] == "department"
    assert case.category_id == org.it_subjects[0].id
    # every member of the department handles it; nobody else does
    assert wf.HANDLER in access.relations(org.dept_user, case)
    assert wf.HANDLER in access.relations(org.dept_user2, case)
    assert wf.HANDLER not in access.relations(org.hr_user, case)
    assert access.relations(org.d1_op, case) == {wf.REQUESTER}
    inbox = db.session.scalars(access.handler_queue(org.dept_user2, wf.INTERACTION, include_closed=False)).all()
    assert case in inbox
    assert case not in db.session.scalars(access.handler_queue(org.hr_user, wf.INTERACTION, include_closed=False)).all()


def test_subject_of_another_department_is_refused(org):
    with pytest.raises(BadTarget):
        interactions.raise_to_department(org.d1_op, org.dept, org.hr_leave, "x", NOW)
    with pytest.raises(BadTarget):
        interactions.raise_to_department(org.d1_op, org.d1, org.it_subjects[0], "x", NOW)


def test_colleague_request_is_only_for_that_colleague(org):
    case = _colleague_case(org)
    assert case.current_office_id == org.dept.id and case.assignee_id == org.dept_user.id
    assert case.data == {"addressed_to": "colleague", "request_type": "question"}
    assert case.priority == "P2" and case.subject == "Where is the leave form?"
    assert wf.HANDLER in access.relations(org.dept_user, case)
    assert wf.HANDLER not in access.relations(org.dept_user2, case)
    assert case in db.session.scalars(access.handler_queue(org.dept_user, wf.INTERACTION, include_closed=False)).all()
    assert case not in db.session.scalars(access.handler_queue(org.dept_user2, wf.INTERACTION, include_closed=False)).all()
    with pytest.raises(NotAllowed):
        interactions.act(case, "propose_resolution", org.dept_user2, NOW, text="not mine")


def test_cannot_address_oneself(org):
    with pytest.raises(BadTarget):
        interactions.raise_to_colleague(org.d1_op, org.d1_op, "question", "P3", "x", NOW)


def test_colleague_search(org):
    found = interactions.search_colleagues("Homa", exclude=org.d1_op)
    assert found == [org.hr_user]
    assert interactions.search_colleagues(org.hr_user.login_id[:6], exclude=org.d1_op)
    assert interactions.search_colleagues("H") == []  # two characters at least
    assert org.d1_op not in interactions.search_colleagues(org.d1_op.name, exclude=org.d1_op)


def test_assign_within_the_department(org):
    case = _dept_case(org)
    interactions.act(case, "assign", org.dept_user, NOW, text="You know this system.",
                     target_user=org.dept_user2)
    assert case.assignee_id == org.dept_user2.id and case.status == wf.IN_PROGRESS
    ev = case.events[-1]
    assert ev.type == "assign" and ev.to_user_id == org.dept_user2.id and not ev.public
    # not to someone outside the office holding the case
    with pytest.raises(BadTarget):
        interactions.act(case, "assign", org.dept_user2, NOW, text="x", target_user=org.hr_user)


def test_colleague_can_assign_to_an_office_mate_who_then_handles_it(org):
    case = _colleague_case(org)
    interactions.act(case, "assign", org.dept_user, NOW, text="Please take this.",
                     target_user=org.dept_user2)
    assert wf.HANDLER in access.relations(org.dept_user2, case)
    assert wf.HANDLER not in access.relations(org.dept_user, case)


def test_resolved_closes_and_one_survey_only(org, app):
    case = _dept_case(org)
    before = db.session.scalar(select(db.func.count(Notification.id)))
    interactions.act(case, "propose_resolution", org.dept_user, NOW + timedelta(hours=1),
                     text="Unlocked; please sign in again.")
    assert case.status == wf.AWAITING_CONFIRMATION and case.first_response_at is not None
    notes = db.session.scalars(select(Notification).order_by(Notification.id)).all()[before:]
    assert any(n.recipient == org.d1_op.email for n in notes)  # the requester hears of the reply
    assert any(n.channel == "sms" and n.recipient == org.d1_op.mobile for n in notes)
    assert any(f"/cases/{case.reference}" in n.body for n in notes)  # links to the one case page
    with pytest.raises(NotAllowed):  # only the requester says it is resolved
        interactions.act(case, "accept", org.dept_user, NOW)
    interactions.act(case, "accept", org.d1_op, NOW + timedelta(hours=2))
    assert case.status == wf.CLOSED and case.resolution == "accepted"
    assert [t.action for t in case_actions.available(org.d1_op, case)] == ["rate"]
    with pytest.raises(MissingInput):
        interactions.act(case, "rate", org.d1_op, NOW, rating="9")
    interactions.act(case, "rate", org.d1_op, NOW + timedelta(hours=3), rating="5", comment="Quick!")
    fb = db.session.scalar(select(Feedback).where(Feedback.case_id == case.id))
    assert (fb.rating, fb.comment) == (5, "Quick!")
    assert case_actions.available(org.d1_op, case) == []
    with pytest.raises(AlreadyDone):
        interactions.act(case, "rate", org.d1_op, NOW, rating="1")
    assert db.session.scalar(select(db.func.count(Feedback.id))) == 1


def test_not_resolved_goes_back_to_the_handler(org):
    case = _colleague_case(org)
    interactions.act(case, "propose_resolution", org.dept_user, NOW, text="See the intranet.")
    with pytest.raises(MissingInput):  # a further description is required
        interactions.act(case, "reject", org.d1_op, NOW, text="  ")
    interactions.act(case, "reject", org.d1_op, NOW + timedelta(hours=1),
                     text="The intranet page is empty.")
    assert case.status == wf.IN_PROGRESS and case.assignee_id == org.dept_user.id
    assert case.events[-1].type == "reject" and case.events[-1].public
    # the handler answers again, and this time it is resolved
    interactions.act(case, "propose_resolution", org.dept_user, NOW + timedelta(hours=2),
                     text="Form attached.")
    interactions.act(case, "accept", org.d1_op, NOW + timedelta(hours=3))
    assert case.status == wf.CLOSED


def test_my_interactions_lists_only_my_requests(org):
    mine = _dept_case(org)
    other = interactions.raise_to_department(org.d2_op, org.dept, org.it_subjects[1], "x", NOW)
    rows = db.session.scalars(access.raised_by_user(org.d1_op, wf.INTERACTION)).all()
    assert mine in rows and other not in rows


def test_only_interactions_are_found(org):
    case = _dept_case(org)
    assert access.get_case_for(org.d1_op, case.reference, wf.INTERACTION) is case
    assert access.get_case_for(org.hr_user, case.reference, wf.INTERACTION) is None  # other department: hidden
