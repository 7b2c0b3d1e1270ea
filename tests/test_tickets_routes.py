"""Office-ticket pages: Add Ticket, My tickets, Pending tickets, the badge, bulk actions,
and the shared case page as each level and the raising office see it."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Attachment, Case, CaseEvent, Category
from app.services.engine import cases
from app.services.front_doors import tickets
from tests.conftest import NOW
from tests.factories import PASSWORD

HX = {"HX-Request": "true"}
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100 + b"\xff\xd9"


@pytest.fixture
def cats(world):
    rows = {}
    for i, (code, hi, fa) in enumerate([("login", "लॉगिन", "ورود"), ("sync", "सिंक", "همگام‌سازی"),
                                        ("transactions", "लेन-देन", "تراکنش‌ها"),
                                        ("device", "उपकरण", "دستگاه"), ("other", "अन्य", "سایر")]):
        rows[code] = Category(kind="office_ticket", code=code, name_en=code.title(), name_hi=hi,
                              name_fa=fa, sort_order=i)
        db.session.add(rows[code])
    db.session.commit()
    return rows


def login(client, user):
    client.post("/auth/logout")
    r = client.post("/auth/login", data={"login_id": user.login_id, "password": PASSWORD})
    assert r.status_code == 302, r.data
    return client


def new_ticket(user, cats, subject="DARPAN app does not sync"):
    return tickets.raise_ticket(user, subject=subject, description="Sync fails.", category=cats["sync"],
                                now=NOW)


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# ---- Add Ticket --------------------------------------------------------------------

def test_add_ticket_page_full_and_partial(client, world, cats):
    login(client, world.so1_user)
    r = client.get("/tickets/new")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<html" in html and "Add Ticket" in html
    for system in ("CBS", "CSI", "PLI/RPLI", "IPPB"):
        assert system in html  # the page says what is out of scope
    assert 'name="submission_key"' in html and "Sync" in html
    r = client.get("/tickets/new", headers=HX)
    part = r.get_data(as_text=True)
    assert "<html" not in part and 'id="ticket-form"' in part
    assert "HX-Request" in r.headers["Vary"]


def test_add_ticket_creates_and_shows_the_complaint_id(client, world, cats):
    login(client, world.so1_user)
    r = client.post("/tickets/new", data={
        "subject": "Handheld does not sync", "category": str(cats["sync"].id),
        "description": "Since morning the sync stops at 40%.", "submission_key": "k1",
        "attachment": (io.BytesIO(JPEG), "screen.jpg")}, content_type="multipart/form-data")
    assert r.status_code == 303
    case = db.session.scalar(select(Case))
    assert r.headers["Location"].endswith(f"/tickets/{case.reference}/created")
    assert case.kind == wf.OFFICE_TICKET and case.current_office_id == world.d1.id
    assert case.raising_office_id == world.so1.id and case.category_id == cats["sync"].id
    assert count(Attachment) == 1
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Complaint ID" in page and case.reference in page
    # the same form submitted twice makes one ticket
    client.post("/tickets/new", data={
        "subject": "Handheld does not sync", "category": str(cats["sync"].id),
        "description": "Since morning the sync stops at 40%.", "submission_key": "k1"})
    assert count(Case) == 1
    # and it is in My tickets
    mine = client.get("/tickets/mine", follow_redirects=True).get_data(as_text=True)
    assert case.reference in mine and "Handheld does not sync" in mine


def test_add_ticket_via_htmx_redirects(client, world, cats):
    login(client, world.so1_user)
    r = client.post("/tickets/new", headers=HX, data={
        "subject": "Printer not pairing", "category": str(cats["device"].id), "description": "Bluetooth."})
    assert r.status_code == 204
    assert "/created" in r.headers["HX-Redirect"]


@pytest.mark.parametrize("data, field, message", [
    ({"subject": "", "category": "sync", "description": "x"}, "subject", "Please enter a subject."),
    ({"subject": "abc", "category": "sync", "description": "x"}, "subject", "between 5 and 200"),
    ({"subject": "Printer broken", "category": "", "description": "x"}, "category", "Please choose a category."),
    ({"subject": "Printer broken", "category": "999", "description": "x"}, "category", "Please choose a category."),
    ({"subject": "Printer broken", "category": "sync", "description": ""}, "description",
     "Please describe the problem."),
])
def test_add_ticket_errors_keep_what_was_typed(client, world, cats, data, field, message):
    login(client, world.so1_user)
    if data["category"] == "sync":
        data = {**data, "category": str(cats["sync"].id)}
    r = client.post("/tickets/new", data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert message in html
    assert f'id="err-{field}"' in html
    if data["subject"]:
        assert f'value="{data["subject"]}"' in html
    assert count(Case) == 0


def test_add_ticket_error_is_translated(client, world, cats):
    from flask_babel import refresh  # the test's app context outlives requests: drop its cached locale

    login(client, world.so1_user)
    refresh()
    r = client.post("/tickets/new", data={"subject": "", "category": "", "description": ""},
                    headers={"Accept-Language": "hi"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Please enter a subject." not in html and "कृपया विषय लिखें।" in html
    refresh()
    r = client.get("/tickets/new", headers={"Accept-Language": "fa"})
    html = r.get_data(as_text=True)
    assert 'dir="rtl"' in html and "ارسال تیکت" in html


def test_bad_attachment_is_refused_with_message(client, world, cats):
    login(client, world.so1_user)
    r = client.post("/tickets/new", data={
        "subject": "Handheld does not sync", "category": str(cats["sync"].id), "description": "x",
        "attachment": (io.BytesIO(b"MZ\x90\x00evil"), "run.exe")}, content_type="multipart/form-data")
    assert r.status_code == 422
    assert "Only JPEG images and PDF documents are accepted." in r.get_data(as_text=True)
    assert count(Case) == 0


def test_out_of_scope_inline_hint(client, world, cats):
    login(client, world.so1_user)
    r = client.get("/tickets/scope", query_string={"subject": "IPPB AePS withdrawal fails"}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="scope-notice"' in html
    assert "IPPB" in html and "IPPB helpdesk" in html and "confirm_scope" in html
    r = client.get("/tickets/scope", query_string={"subject": "DARPAN login fails"}, headers=HX)
    assert "helpdesk" not in r.get_data(as_text=True)


def test_out_of_scope_on_submit_asks_for_confirmation(client, world, cats):
    login(client, world.so1_user)
    data = {"subject": "RPLI premium not updating", "category": str(cats["transactions"].id),
            "description": "Premium collected in the app does not show in RPLI."}
    r = client.post("/tickets/new", data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "PLI/RPLI helpdesk" in html and "RPLI premium not updating" in html
    assert count(Case) == 0
    r = client.post("/tickets/new", data={**data, "confirm_scope": "y"})
    assert r.status_code == 303 and count(Case) == 1


def test_only_sub_and_head_offices_raise(client, world, cats):
    login(client, world.d1_op)
    assert client.get("/tickets/new").status_code == 403
    assert client.post("/tickets/new", data={"subject": "Something wrong"}).status_code == 403
    assert client.get("/cases/?view=tickets-mine").status_code == 404  # not one of its views
    assert count(Case) == 0
    login(client, world.ho1_op)
    assert client.get("/tickets/new").status_code == 200
    client.post("/auth/logout")
    assert client.get("/tickets/new").status_code == 302  # to sign-in


def test_nav_links_by_level(client, world, cats):
    html = login(client, world.so1_user).get("/").get_data(as_text=True)
    assert "/tickets/new" in html and "view=tickets-mine" in html and "view=tickets-pending" not in html
    html = login(client, world.d1_op).get("/").get_data(as_text=True)
    assert "view=tickets-pending" in html and "/cases/counts?view=tickets-pending" in html
    assert "/tickets/new" not in html


# ---- the ticket page for each party ------------------------------------------------

def test_raising_office_sees_public_replies_never_internal_notes(client, world, cats):
    case = new_ticket(world.so1_user, cats)
    cases.act(case, "reply", actor=world.d1_op, now=NOW, text="Please clear the cache")
    cases.act(case, "note", actor=world.d1_op, now=NOW, text="SECRET-NOTE-D1")
    cases.act(case, "escalate", actor=world.d1_op, now=NOW, text="Needs the Region")
    cases.act(case, "note", actor=world.r1_op, now=NOW, text="SECRET-NOTE-R1")
    for user in (world.so1_user, world.ho1_op, world.ho1_sup):
        html = login(client, user).get(f"/cases/{case.reference}").get_data(as_text=True)
        assert "Please clear the cache" in html
        assert "SECRET-NOTE" not in html
        if user is world.so1_user:
            assert "Confirm solved" in html and "Answer back" in html
    html = login(client, world.r1_op).get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "SECRET-NOTE-D1" in html and "SECRET-NOTE-R1" in html
    assert "Escalate to Circle" in html


def test_escalate_labels_per_level(client, world, cats):
    case = new_ticket(world.so1_user, cats)
    html = login(client, world.d1_op).get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "Assign to Region" in html
    assert 'value="close"' not in html  # a Division does not close
    cases.act(case, "escalate", actor=world.d1_op, now=NOW, text="up")
    cases.act(case, "escalate", actor=world.r1_op, now=NOW, text="up")
    html = login(client, world.c1_op).get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "Assign to CEPT" in html and 'value="close"' in html
    cases.act(case, "escalate", actor=world.c1_op, now=NOW, text="up")
    html = login(client, world.cept_user).get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'value="escalate"' not in html and 'value="close"' in html


def test_full_path_through_the_pages(client, world, cats):
    login(client, world.so1_user)
    client.post("/tickets/new", data={"subject": "Sync stops", "category": str(cats["sync"].id),
                                      "description": "Stops at 40%."})
    case = db.session.scalar(select(Case))
    ref = case.reference
    for user, reply in ((world.d1_op, "Division reply"), (world.r1_op, "Region reply"),
                        (world.c1_op, "Circle reply"), (world.cept_user, "CEPT reply")):
        login(client, user)
        pending = client.get("/tickets/pending", follow_redirects=True).get_data(as_text=True)
        assert ref in pending and "View and Reply" in pending
        db.session.refresh(case)
        r = client.post(f"/cases/{ref}/act", data={"action": "reply", "version": case.version, "text": reply})
        assert r.status_code == 303
        db.session.refresh(case)
        if user is world.cept_user:
            r = client.post(f"/cases/{ref}/act", data={"action": "close", "version": case.version,
                                                       "text": "Fixed in release 4.2"})
        else:
            r = client.post(f"/cases/{ref}/act", data={"action": "escalate", "version": case.version,
                                                       "text": "Needs the next level"})
        assert r.status_code == 303
        # the ticket left (or closed): not pending here any more
        assert ref not in client.get("/tickets/pending", follow_redirects=True).get_data(as_text=True)
    db.session.refresh(case)
    assert case.status == wf.CLOSED and case.current_office_id == world.cept.id
    html = login(client, world.so1_user).get(f"/cases/{ref}").get_data(as_text=True)
    for reply in ("Division reply", "Region reply", "Circle reply", "CEPT reply", "Fixed in release 4.2"):
        assert reply in html
    mine = client.get("/tickets/mine", query_string={"status": "closed"}, follow_redirects=True).get_data(as_text=True)
    assert ref in mine


def test_forbidden_moves_through_the_pages(client, world, cats):
    case = new_ticket(world.so1_user, cats)
    login(client, world.d1_op)
    r = client.post(f"/cases/{case.reference}/act", data={"action": "close", "version": case.version,
                                                          "text": "closing"})
    assert r.status_code == 409  # not possible at this level now: a conflict with its state
    assert "not taken at the level" in r.get_data(as_text=True)
    cases.act(case, "escalate", actor=world.d1_op, now=NOW, text="up")
    db.session.refresh(case)
    before = (case.status, case.current_office_id, case.version)
    # the Division that assigned it away cannot close it
    r = client.post(f"/cases/{case.reference}/act", data={"action": "close", "version": case.version,
                                                          "text": "closing anyway"})
    assert r.status_code == 403
    assert "You are not allowed to take this action on this case." in r.get_data(as_text=True)
    # another Region: not even found
    login(client, world.r2_op)
    assert client.get(f"/cases/{case.reference}").status_code == 404
    assert client.post(f"/cases/{case.reference}/act", data={"action": "close", "version": case.version,
                                                             "text": "x"}).status_code == 404
    # another Sub Office: not found either
    login(client, world.so3_user)
    assert client.get(f"/cases/{case.reference}").status_code == 404
    assert client.get(f"/tickets/{case.reference}/created").status_code == 404
    assert case.reference not in client.get("/cases/?view=tickets-mine").get_data(as_text=True)
    db.session.refresh(case)
    assert (case.status, case.current_office_id, case.version) == before
    assert db.session.scalar(select(func.count()).select_from(CaseEvent)
                             .where(CaseEvent.case_id == case.id, CaseEvent.type == "close")) == 0


# ---- queues: views of the inbox ---------------------------------------------------

PENDING = "/cases/?view=tickets-pending"


def test_pending_queue_full_page_and_partial_search(client, world, cats):
    a = new_ticket(world.so1_user, cats, subject="Sync stops at 40%")
    b = new_ticket(world.so1_user, cats, subject="Printer not pairing")
    login(client, world.d1_op)
    r = client.get(PENDING)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" in html and "Pending tickets" in html
    assert a.reference in html and b.reference in html and 'name="selected"' in html
    assert "View and Reply" in html and "Complaint ID" in html  # the seed's words
    r = client.get("/cases/", query_string={"view": "tickets-pending", "q": "printer"}, headers=HX)
    part = r.get_data(as_text=True)
    assert "<html" not in part and 'id="case-rows"' in part
    assert b.reference in part and a.reference not in part
    r = client.get("/cases/", query_string={"view": "tickets-pending", "category": str(cats["device"].id)},
                   headers=HX)
    assert "No cases match." in r.get_data(as_text=True)


def test_pending_queue_paginates(client, world, cats):
    made = [new_ticket(world.so1_user, cats, subject=f"Problem number {i}") for i in range(12)]
    login(client, world.d1_op)
    html = client.get("/cases/", query_string={"view": "tickets-pending", "size": 10}).get_data(as_text=True)
    newest = made[::-1]
    assert all(c.reference in html for c in newest[:10]) and newest[10].reference not in html
    assert f"after={newest[9].id}" in html
    part = client.get("/cases/", query_string={"view": "tickets-pending", "size": 10, "after": newest[9].id},
                      headers=HX).get_data(as_text=True)
    assert newest[10].reference in part and newest[11].reference in part and newest[0].reference not in part
    assert "First page" in part and "Older cases" not in part


def test_region_level_view_is_read_only_and_scoped(client, world, cats):
    a = new_ticket(world.so1_user, cats)
    c = new_ticket(world.so3_user, cats)
    login(client, world.r1_op)
    html = client.get(PENDING).get_data(as_text=True)
    assert a.reference not in html  # not reached the Region yet
    html = client.get("/cases/", query_string={"view": "tickets-pending", "level": "division"}).get_data(as_text=True)
    assert a.reference in html and c.reference not in html


def test_pending_requires_a_handling_level(client, world, cats):
    login(client, world.so1_user)
    assert client.get(PENDING).status_code == 404
    assert client.get("/cases/counts?view=tickets-pending").status_code == 404
    assert client.post("/cases/bulk", data={"view": "tickets-pending", "action": "escalate"}).status_code == 404


def test_badge_counts_waiting_tickets(client, world, cats):
    login(client, world.d1_op)
    assert client.get("/cases/counts?view=tickets-pending", headers=HX).get_data(as_text=True) == ""
    new_ticket(world.so1_user, cats)
    new_ticket(world.so1_user, cats)
    r = client.get("/cases/counts?view=tickets-pending", headers=HX)
    assert r.get_data(as_text=True) == "2" and r.headers["Cache-Control"] == "no-store"
    login(client, world.r1_op)
    assert client.get("/cases/counts?view=tickets-pending").get_data(as_text=True) == ""


def test_my_tickets_filters(client, world, cats):
    a = new_ticket(world.so1_user, cats, subject="Sync stops")
    b = new_ticket(world.so1_user, cats, subject="Login fails")
    cases.act(b, "escalate", actor=world.d1_op, now=NOW, text="up")
    login(client, world.so1_user)
    html = client.get("/cases/", query_string={"view": "tickets-mine", "level": "region"},
                      headers=HX).get_data(as_text=True)
    assert b.reference in html and a.reference not in html
    assert 'name="selected"' not in html


# ---- bulk --------------------------------------------------------------------------

def test_bulk_assign_to_region_without_js(client, world, cats):
    a = new_ticket(world.so1_user, cats)
    b = new_ticket(world.so1_user, cats)
    other = new_ticket(world.so3_user, cats)
    login(client, world.d1_op)
    html = client.get(PENDING).get_data(as_text=True)
    assert "Assign to Region" in html
    r = client.post("/cases/bulk", data={"view": "tickets-pending", "action": "escalate", "text": "Needs the Region",
                                         "selected": [f"{a.reference}@{a.version}", b.reference,
                                                      other.reference]})
    assert r.status_code == 303 and r.headers["Location"].endswith("/cases/?view=tickets-pending")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "2 of 3 cases done" in page
    assert f"{other.reference}</bdi> refused" in page and "not yours to see" in page  # the ref isolated
    for x in (a, b):
        db.session.refresh(x)
        assert x.current_office_id == world.r1.id
    db.session.refresh(other)
    assert other.current_office_id == world.d3.id


def test_bulk_close_via_htmx_reports_each(client, world, cats):
    a = new_ticket(world.so1_user, cats)
    b = new_ticket(world.so1_user, cats)
    for x in (a, b):
        cases.act(x, "escalate", actor=world.d1_op, now=NOW, text="up")
    cases.act(b, "reply", actor=world.r1_op, now=NOW, text="Fixed.")
    cases.act(b, "accept", actor=world.so1_user, now=NOW)  # closed meanwhile
    login(client, world.r1_op)
    r = client.post("/cases/bulk", headers=HX, data={"view": "tickets-pending", "action": "close", "text": "Fixed",
                                                     "selected": [a.reference, b.reference]})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<html" not in html and 'id="case-rows"' in html
    assert "1 of 2 cases done" in html and b.reference in html
    assert r.headers["HX-Trigger"] == "refresh-badges"  # the counters refresh at once
    db.session.refresh(a)
    assert a.status == wf.CLOSED and a.resolution == "resolved"


def test_bulk_division_cannot_close(client, world, cats):
    a = new_ticket(world.so1_user, cats)
    login(client, world.d1_op)
    r = client.post("/cases/bulk", headers=HX, data={"view": "tickets-pending", "action": "close", "text": "x",
                                                     "selected": [a.reference]})
    assert r.status_code == 422
    assert "This action is not available at your level." in r.get_data(as_text=True)
    db.session.refresh(a)
    assert a.status == wf.OPEN


@pytest.mark.parametrize("data, message", [
    ({"view": "tickets-pending", "action": "escalate", "text": "up"}, "Select at least one case."),
    ({"view": "tickets-pending", "action": "escalate", "text": "", "selected": ["X"]}, "Please give a reason."),
])
def test_bulk_input_errors(client, world, cats, data, message):
    a = new_ticket(world.so1_user, cats)
    if data.get("selected"):
        data = {**data, "selected": [a.reference]}
    login(client, world.d1_op)
    r = client.post("/cases/bulk", headers=HX, data=data)
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    r = client.post("/cases/bulk", data=data)
    assert r.status_code == 303
    assert message in client.get(r.headers["Location"]).get_data(as_text=True)
    db.session.refresh(a)
    assert a.current_office_id == world.d1.id


def test_forms_need_the_csrf_token(app, client, world, cats):
    login(client, world.so1_user)
    app.config["WTF_CSRF_ENABLED"] = True
    html = client.get("/tickets/new").get_data(as_text=True)
    assert 'name="csrf_token"' in html
    data = {"subject": "Handheld does not sync", "category": str(cats["sync"].id), "description": "x"}
    assert client.post("/tickets/new", data=data).status_code == 400
    assert count(Case) == 0
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert client.post("/tickets/new", data={**data, "csrf_token": token}).status_code == 303
    case = db.session.scalar(select(Case))
    app.config["WTF_CSRF_ENABLED"] = False
    login(client, world.d1_op)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/cases/bulk", data={"view": "tickets-pending", "action": "escalate", "text": "up",
                                            "selected": [case.reference]}).status_code == 400
    db.session.refresh(case)
    assert case.current_office_id == world.d1.id


def test_ticket_attachment_is_served_to_the_handling_side_only(client, world, cats):
    login(client, world.so1_user)
    client.post("/tickets/new", data={
        "subject": "Handheld screen error", "category": str(cats["device"].id), "description": "See screenshot.",
        "attachment": (io.BytesIO(JPEG), "../../screen shot.jpg")}, content_type="multipart/form-data")
    case = db.session.scalar(select(Case))
    att = db.session.scalar(select(Attachment))
    assert att.original_name == "screen shot.jpg" and att.event.type == "created"
    url = f"/cases/{case.reference}/attachments/{att.id}"
    assert client.get(url).data == JPEG
    login(client, world.d1_op)
    assert "screen shot.jpg" in client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert client.get(url).data == JPEG
    login(client, world.so3_user)
    assert client.get(url).status_code == 404


# ---- "Confirm solved" only once answered (issue 22, item 13) ------------------------

def test_confirm_solved_is_not_offered_nor_taken_before_an_answer(client, world, cats):
    case = new_ticket(world.so1_user, cats)
    login(client, world.so1_user)
    html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "Answer back" in html and "Confirm solved" not in html and 'value="accept"' not in html
    # a forged POST is refused by the workflow, and nothing changes
    before = (case.status, case.version, case.closed_at)
    r = client.post(f"/cases/{case.reference}/act", data={"action": "accept", "version": case.version})
    assert r.status_code == 409
    assert "This is possible only once the case has been answered." in r.get_data(as_text=True)
    db.session.refresh(case)
    assert (case.status, case.version, case.closed_at) == before
    # taken up and escalated, still unanswered: still not
    cases.act(case, "start", actor=world.d1_op, now=NOW)
    cases.act(case, "escalate", actor=world.d1_op, now=NOW, text="Needs the Region")
    db.session.refresh(case)
    assert "Confirm solved" not in client.get(f"/cases/{case.reference}").get_data(as_text=True)
    r = client.post(f"/cases/{case.reference}/act", data={"action": "accept", "version": case.version})
    assert r.status_code == 409 and case.status != wf.CLOSED
    # once the Region answers, the raising office may confirm it solved
    cases.act(case, "reply", actor=world.r1_op, now=NOW, text="Reinstall the app.")
    db.session.refresh(case)
    assert "Confirm solved" in client.get(f"/cases/{case.reference}").get_data(as_text=True)
    r = client.post(f"/cases/{case.reference}/act", data={"action": "accept", "version": case.version})
    assert r.status_code == 303
    db.session.refresh(case)
    assert case.status == wf.CLOSED and case.resolution == "confirmed"
