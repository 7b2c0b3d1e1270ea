"""Staff interaction pages: new request (department / colleague, with and without
htmx), cartable, My interactions; on the one case page (`/cases/<ref>`, actions posted to
`/cases/<ref>/act`): answer / assign / resolved / not resolved / survey."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Attachment, Case, Feedback
from app.services.front_doors import interactions
from tests.conftest import NOW
from tests.test_interactions_flow import JPEG, build_org

HX = {"HX-Request": "true"}


@pytest.fixture
def org(world):
    return build_org(world)


def _new_dept(client, o, **extra):
    data = {"addressed_to": "department", "department": str(o.dept.id),
            "subject": str(o.it_subjects[0].id), "description": "Printer on floor 2 is jammed."}
    data.update(extra)
    return client.post("/interactions/new", data=data, content_type="multipart/form-data")


def test_new_page_full_and_partial(client, auth, org):
    auth.login(org.d1_op.login_id)
    r = client.get("/interactions/new")
    assert r.status_code == 200 and b"<html" in r.data
    assert b"IT Support" in r.data and b'name="addressed_to"' in r.data
    r = client.get("/interactions/new", headers=HX)
    assert r.status_code == 200 and b"<html" not in r.data and b'id="interaction-form"' in r.data


def test_pages_need_sign_in(client, org):
    for url in ("/interactions/new", "/cases/?view=interactions-mine", "/cases/?view=cartable"):
        r = client.get(url)
        assert r.status_code in (302, 401)


def test_subjects_load_for_the_chosen_department(client, auth, org):
    auth.login(org.d1_op.login_id)
    r = client.get(f"/interactions/subjects?department={org.dept.id}", headers=HX)
    assert r.status_code == 200 and b'id="field-subject"' in r.data
    assert b"Account problem" in r.data and b"Leave" not in r.data
    r = client.get(f"/interactions/subjects?department={org.hr.id}", headers=HX)
    assert b"Leave" in r.data and b"Account problem" not in r.data


def test_no_js_show_subjects_keeps_the_text(client, auth, org):
    auth.login(org.d1_op.login_id)
    r = client.post("/interactions/new", data={"addressed_to": "department", "department": str(org.hr.id),
                                               "description": "Keep me", "refresh": "1"})
    assert r.status_code == 200
    assert b"Leave" in r.data and b"Keep me" in r.data and b"field-error\" id=\"err-description\"" in r.data
    assert db.session.scalar(select(db.func.count(Case.id))) == 0


def test_send_to_department(client, auth, org):
    auth.login(org.d1_op.login_id)
    r = _new_dept(client, org)
    assert r.status_code == 303
    case = db.session.scalar(select(Case))
    assert r.headers["Location"].endswith(f"/cases/{case.reference}")
    assert case.current_office_id == org.dept.id and case.raised_by_id == org.d1_op.id
    r = client.get(r.headers["Location"])
    assert case.reference.encode() in r.data and b"Printer on floor 2" in r.data


def test_send_to_department_htmx_redirects(client, auth, org):
    auth.login(org.d1_op.login_id)
    r = client.post("/interactions/new", headers=HX, data={
        "addressed_to": "department", "department": str(org.dept.id),
        "subject": str(org.it_subjects[1].id), "description": "Network down"})
    assert r.status_code == 204 and "/cases/IN-" in r.headers["HX-Redirect"]


def test_subject_must_belong_to_the_department(client, auth, org):
    auth.login(org.d1_op.login_id)
    r = _new_dept(client, org, subject=str(org.hr_leave.id))
    assert r.status_code == 422
    assert b"Choose a subject of the selected department." in r.data
    assert b"Printer on floor 2 is jammed." in r.data  # nothing typed is lost
    r = client.post("/interactions/new", headers=HX, data={
        "addressed_to": "department", "department": str(org.dept.id),
        "subject": str(org.hr_leave.id), "description": "Printer on floor 2 is jammed."})
    assert r.status_code == 200 and b"<html" not in r.data  # htmx swaps only 2xx answers
    assert b"Choose a subject of the selected department." in r.data
    r = _new_dept(client, org, department="", description="")
    assert r.status_code == 422 and b"Choose a department." in r.data
    assert b"Please fill in this field." in r.data
    assert db.session.scalar(select(db.func.count(Case.id))) == 0


def test_send_to_colleague_by_search(client, auth, org):
    auth.login(org.d1_op.login_id)
    r = client.get("/interactions/recipients?recipient_q=Homa", headers=HX)
    assert r.status_code == 200 and b'id="recipients"' in r.data and b"Homa Rahimi" in r.data
    r = client.post("/interactions/new", data={
        "addressed_to": "colleague", "recipient_q": "Homa", "recipient": str(org.hr_user.id),
        "request_type": "problem", "priority": "P1", "description": "Payslip missing"})
    assert r.status_code == 303
    case = db.session.scalar(select(Case))
    assert case.assignee_id == org.hr_user.id and case.data["addressed_to"] == "colleague"
    assert case.priority == "P1" and case.data["request_type"] == "problem"


def test_colleague_search_without_js(client, auth, org):
    """No JS: typing a name and sending resolves a single match; several ask to choose."""
    auth.login(org.d1_op.login_id)
    r = client.post("/interactions/new", data={
        "addressed_to": "colleague", "recipient_q": "User", "request_type": "question",
        "priority": "P3", "description": "Who?"})
    assert r.status_code == 422 and b"Choose the colleague from the list." in r.data
    assert b'name="recipient"' in r.data
    r = client.post("/interactions/new", data={
        "addressed_to": "colleague", "recipient_q": "zzzz", "request_type": "question",
        "priority": "P3", "description": "Who?"})
    assert r.status_code == 422 and b"No colleague found." in r.data
    r = client.post("/interactions/new", data={
        "addressed_to": "colleague", "recipient_q": "Homa", "request_type": "question",
        "priority": "P3", "description": "Who?"})
    assert r.status_code == 303
    assert db.session.scalar(select(Case)).assignee_id == org.hr_user.id


def test_attachment_is_stored_and_bad_file_refused(client, auth, org):
    auth.login(org.d1_op.login_id)
    r = client.post("/interactions/new", content_type="multipart/form-data", data={
        "addressed_to": "department", "department": str(org.dept.id),
        "subject": str(org.it_subjects[0].id), "description": "see file",
        "attachment": (io.BytesIO(b"MZ-not-a-pdf"), "virus.exe")})
    assert r.status_code == 422 and b"Only JPEG images and PDF documents are accepted." in r.data
    r = client.post("/interactions/new", content_type="multipart/form-data", data={
        "addressed_to": "department", "department": str(org.dept.id),
        "subject": str(org.it_subjects[0].id), "description": "see file",
        "attachment": (io.BytesIO(JPEG), "photo.jpg")})
    assert r.status_code == 303
    assert db.session.scalar(select(Attachment)).original_name == "photo.jpg"


def test_cartable_and_mine_lists(client, auth, org):
    dept_case = interactions.raise_to_department(org.d1_op, org.dept, org.it_subjects[0], "A", NOW)
    coll_case = interactions.raise_to_colleague(org.d1_op, org.dept_user, "question", "P3", "B", NOW)
    auth.login(org.dept_user2.login_id)
    r = client.get("/interactions/cartable", follow_redirects=True)
    assert dept_case.reference.encode() in r.data and coll_case.reference.encode() not in r.data
    assert "کارتابل".encode() not in r.data and b"Cartable" in r.data
    auth.logout()
    auth.login(org.dept_user.login_id)
    r = client.get("/cases/?view=cartable", headers=HX)
    assert b"<html" not in r.data and b'id="case-rows"' in r.data
    assert dept_case.reference.encode() in r.data and coll_case.reference.encode() in r.data
    auth.logout()
    auth.login(org.d1_op.login_id)
    r = client.get("/interactions/mine", follow_redirects=True)
    assert dept_case.reference.encode() in r.data and coll_case.reference.encode() in r.data
    r = client.get("/cases/?view=cartable")
    assert dept_case.reference.encode() not in r.data
    assert client.get("/cases/counts?view=cartable").data == b""
    auth.logout()
    auth.login(org.dept_user.login_id)
    assert client.get("/cases/counts?view=cartable", headers=HX).data == b"2"
    assert b"/cases/counts?view=cartable" in client.get("/").data  # the navigation badge


def test_other_department_gets_404(client, auth, org):
    case = interactions.raise_to_department(org.d1_op, org.dept, org.it_subjects[0], "A", NOW)
    auth.login(org.hr_user.login_id)
    assert client.get(f"/interactions/{case.reference}").status_code == 404
    assert client.get(f"/cases/{case.reference}").status_code == 404
    r = client.post(f"/cases/{case.reference}/act", data={"action": "propose_resolution",
                                                           "text": "hi"})
    assert r.status_code == 404


def _act(client, case, **data):
    data.setdefault("version", str(case.version))
    return client.post(f"/cases/{case.reference}/act", data=data)


def test_full_loop_through_the_pages(client, auth, org):
    case = interactions.raise_to_department(org.d1_op, org.dept, org.it_subjects[0], "Locked", NOW)
    auth.login(org.dept_user.login_id)
    r = client.get(f"/cases/{case.reference}")
    assert b"Answer the request" in r.data and b"<summary>Assign to</summary>" in r.data
    assert b"Cartable" in r.data  # the breadcrumb of the seed's page
    r = _act(client, case, action="propose_resolution", text="")
    assert r.status_code == 422 and b"Please write your text." in r.data
    r = client.post(f"/cases/{case.reference}/act", headers=HX,
                    data={"action": "propose_resolution", "version": str(case.version), "text": ""})
    # htmx swaps 422 (the htmx-config meta of base.html): the panel, error beside the text
    assert r.status_code == 422 and b"<html" not in r.data
    assert b'id="err-text-propose_resolution" aria-live="polite">Please write your text.' in r.data
    r = _act(client, case, action="assign", user="999999", text="Yours")
    assert r.status_code == 422
    assert b'id="err-user-assign" aria-live="polite">Choose a colleague' in r.data
    r = _act(client, case, action="assign", user=str(org.dept_user2.id), text="Yours")
    assert r.status_code == 303
    db.session.refresh(case)
    assert case.assignee_id == org.dept_user2.id
    r = _act(client, case, action="propose_resolution", text="Unlocked.")
    assert r.status_code == 303
    db.session.refresh(case)
    assert case.status == wf.AWAITING_CONFIRMATION
    auth.logout()

    auth.login(org.d1_op.login_id)
    r = client.get(f"/cases/{case.reference}")
    assert b"It is resolved" in r.data and b"It is not resolved" in r.data and b"Unlocked." in r.data
    assert b"<strong>Answer the request</strong>" in r.data  # the timeline says what the button said
    assert b"My interactions" in r.data
    assert b"Yours" not in r.data  # the assignment note is internal
    r = _act(client, case, action="reject", text="")
    assert r.status_code == 422
    r = _act(client, case, action="reject", text="Still locked")
    assert r.status_code == 303
    db.session.refresh(case)
    assert case.status == wf.IN_PROGRESS
    auth.logout()

    auth.login(org.dept_user2.login_id)
    _act(client, case, action="propose_resolution", text="Now really unlocked.")
    auth.logout()
    auth.login(org.d1_op.login_id)
    db.session.refresh(case)
    r = client.post(f"/cases/{case.reference}/act", headers=HX,
                    data={"action": "accept", "version": str(case.version)})
    assert r.status_code == 200 and b'id="case-panel"' in r.data and b"<html" not in r.data
    assert b"Done: It is resolved." in r.data and b"<strong>It is resolved</strong>" in r.data
    assert b"Satisfaction survey" in r.data and b'name="rating"' in r.data
    db.session.refresh(case)
    r = _act(client, case, action="rate", rating="")
    assert r.status_code == 422
    assert b'id="err-rating-rate" aria-live="polite">Choose a rating from 1 to 5.' in r.data
    r = _act(client, case, action="rate", rating="4", comment="Good")
    assert r.status_code == 303
    r = client.get(r.headers["Location"])
    assert b"Done: Satisfaction survey." in r.data and b'name="rating"' not in r.data
    assert b"Good" in r.data  # the survey's answer on the panel
    r = _act(client, case, action="rate", rating="1")
    assert r.status_code == 409 and b"You have already rated this case. Thank you." in r.data
    assert db.session.scalar(select(Feedback)).rating == 4


def test_requester_cannot_take_handler_actions(client, auth, org):
    case = interactions.raise_to_department(org.d1_op, org.dept, org.it_subjects[0], "A", NOW)
    auth.login(org.d1_op.login_id)
    r = _act(client, case, action="propose_resolution", text="I solve it myself")
    assert r.status_code == 403
    assert b"You are not allowed to take this action on this case." in r.data
    db.session.refresh(case)
    assert case.status == wf.OPEN


@pytest.mark.parametrize("url", ["/interactions/new", "/cases/?view=interactions-mine", "/cases/?view=cartable"])
def test_lists_render_in_every_language(client, auth, org, url):
    auth.login(org.d1_op.login_id)
    for lang in ("en", "hi", "fa"):
        client.set_cookie("lang", lang)
        assert client.get(url).status_code == 200


def test_forms_carry_csrf_tokens(app, client, auth, org):
    """With CSRF on (as in production) the pages' own tokens make the posts pass."""
    import re

    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/auth/login").data.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"login_id": org.d1_op.login_id, "password": "Password-123",
                                     "csrf_token": token})
    # the test keeps one app context open, so `g` outlives requests: drop the token
    # cached from before the sign-in (which starts a fresh session)
    from flask import g
    g.pop("csrf_token", None)
    data = {"addressed_to": "department", "department": str(org.dept.id),
            "subject": str(org.it_subjects[0].id), "description": "CSRF check"}
    assert client.post("/interactions/new", data=data).status_code in (400, 422)
    page = client.get("/interactions/new").data.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/interactions/new", data={**data, "csrf_token": token})
    assert r.status_code == 303
    case = db.session.scalar(select(Case))
    page = client.get(f"/cases/{case.reference}").data.decode()
    assert page.count('name="csrf_token"') >= 2  # sign-out and language forms
