"""Complaint Processing: queues and counts per jurisdiction, bulk actions, transfer and
return, external authorities, information requests with expiry, supervisor-only
closure, escalation (rejected and overdue) with its trail, and the two clocks."""

from datetime import timedelta

import pytest

from app.domain import workflow as wf
from app.domain.errors import MissingInput, NotAllowed
from app.extensions import db
from app.services.engine import access, cases, timers
from app.services.front_doors import complaints
from tests.complaints_support import complaint, make_taxonomy, queue_counts, queue_refs
from tests.conftest import NOW

H = timedelta(hours=1)


@pytest.fixture
def tax(world):
    return make_taxonomy()


@pytest.fixture
def board(world, tax):
    """One complaint in each queue at the Head Office, one at its Sub Office, one in D3."""
    b = {}
    b["pending"] = complaint(world.ho1, world.ho1_op, category=tax.delay)
    b["external"] = complaint(world.ho1, world.ho1_op, category=tax.loss)
    cases.act(b["external"], "refer_external", now=NOW + H, actor=world.ho1_op, target_office=world.ext,
              text="Article held at Customs.")
    b["confirmation"] = complaint(world.ho1, world.ho1_op, category=tax.delay)
    cases.act(b["confirmation"], "propose_resolution", now=NOW + H, actor=world.ho1_op,
              text="Delivered on the 12th.")
    b["info"] = complaint(world.ho1, world.ho1_op, category=tax.dispute)
    cases.act(b["info"], "request_info", now=NOW + H, actor=world.ho1_op, text="Send the receipt.")
    b["escalated"] = complaint(world.ho1, world.ho1_op, category=tax.delay)
    cases.act(b["escalated"], "propose_resolution", now=NOW + H, actor=world.ho1_op, text="Done.")
    cases.act(b["escalated"], "reject", now=NOW + 2 * H, as_=wf.REQUESTER, text="Not received.")
    b["so1"] = complaint(world.so1, world.so1_user, category=tax.delay)
    b["d3"] = complaint(world.d3, world.d3_op, category=tax.delay)
    return b


def test_queue_counts_operator_sees_own_office(world, board):
    assert queue_counts(world.ho1_op) == {
        "pending": 1, "external": 1, "confirmation": 1, "info": 1, "escalated": 1}
    assert queue_counts(world.so1_user)["pending"] == 1
    assert queue_counts(world.d3_op) == {
        "pending": 1, "external": 0, "confirmation": 0, "info": 0, "escalated": 0}


def test_queue_counts_supervisor_sees_subtree(world, board):
    assert queue_counts(world.ho1_sup)["pending"] == 2  # HO + its Sub Office
    assert queue_counts(world.d1_sup)["pending"] == 2
    assert queue_counts(world.c1_sup)["pending"] == 3  # D3 is under circle C1 too
    assert queue_counts(world.c2_sup) == dict.fromkeys(complaints.QUEUE_KEYS, 0)


@pytest.mark.parametrize("key", complaints.QUEUE_KEYS)
def test_each_queue_lists_its_complaints_in_jurisdiction_only(client, auth, world, board, key):
    auth.login(world.ho1_op.login_id)
    r = client.get(f"/complaints/?queue={key}", follow_redirects=True)
    assert r.status_code == 200
    html = r.data.decode()
    assert board[key].reference in html
    assert board["d3"].reference not in html and board["so1"].reference not in html
    others = [k for k in complaints.QUEUE_KEYS if k != key]
    assert all(board[k].reference not in html for k in others)


def test_queue_partial_for_htmx(client, auth, world, board):
    auth.login(world.ho1_op.login_id)
    r = client.get("/cases/?view=complaints-external", headers={"HX-Request": "true"})
    assert r.status_code == 200 and b"<html" not in r.data and b'id="case-rows"' in r.data
    assert board["external"].reference.encode() in r.data
    assert board["pending"].reference.encode() not in r.data
    full = client.get("/cases/?view=complaints-external")
    assert b"<html" in full.data and b"Pending at External Authorities" in full.data
    assert b"Complaint Processing" in full.data  # its sibling views, as links


def test_queue_search(client, auth, world, board):
    auth.login(world.ho1_op.login_id)
    r = client.get(f"/complaints/?queue=pending&q={board['pending'].reference}", follow_redirects=True)
    assert board["pending"].reference.encode() in r.data
    r = client.get("/complaints/?queue=pending&q=nobody-by-that-name", follow_redirects=True)
    assert b"No cases match." in r.data


def test_processing_needs_staff(client, auth, world, board):
    assert client.get("/cases/?view=complaints").status_code in (302, 401)
    auth.login(world.team_user.login_id)  # an operator elsewhere: sees an empty jurisdiction
    r = client.get("/cases/?view=complaints")
    assert r.status_code == 200 and board["pending"].reference.encode() not in r.data


# ---- bulk processing --------------------------------------------------------------------

def test_bulk_start_reports_each_item(client, auth, world, board, tax):
    second = complaint(world.ho1, world.ho1_op, category=tax.loss)
    auth.login(world.ho1_op.login_id)
    refs = [board["pending"].reference, second.reference, board["confirmation"].reference,
            board["d3"].reference]
    r = client.post("/cases/bulk", data={"selected": refs, "action": "start", "view": "complaints-pending"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/cases/?view=complaints-pending")
    page = client.get(r.headers["Location"]).data.decode()
    assert "2 of 4 cases done" in page
    assert "Not found, or not yours to see." in page
    assert "This action is not possible for this case in its current state." in page
    for c in (board["pending"], second):
        db.session.refresh(c)
        assert c.status == wf.IN_PROGRESS and c.assignee_id == world.ho1_op.id
    db.session.refresh(board["d3"])
    assert board["d3"].status == wf.OPEN
    # the result is shown once
    assert "2 of 4" not in client.get("/cases/?view=complaints").data.decode()


def test_bulk_transfer_needs_reason_and_office(client, auth, world, board):
    auth.login(world.ho1_op.login_id)
    ref = board["pending"].reference
    client.post("/cases/bulk", data={"view": "complaints", "selected": [ref], "action": "transfer",
                                     "office": str(world.d2.id)})
    page = client.get("/cases/?view=complaints").data.decode()
    assert "Please fill in the required details for this action." in page
    client.post("/cases/bulk", data={"view": "complaints", "selected": [ref], "action": "transfer",
                                     "office": str(world.d2.id), "text": "Belongs to D2."})
    db.session.refresh(board["pending"])
    assert board["pending"].current_office_id == world.d2.id


def test_bulk_htmx_follows_to_partial(client, auth, world, board):
    auth.login(world.ho1_op.login_id)
    r = client.post("/cases/bulk", data={"view": "complaints", "selected": [board["pending"].reference],
                                         "action": "note", "text": "Called the customer."},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200 and b"<html" not in r.data and b'id="case-rows"' in r.data
    assert b"1 of 1 cases done" in r.data
    assert r.headers["HX-Trigger"] == "refresh-badges"


def test_bulk_without_selection(client, auth, world, board):
    auth.login(world.ho1_op.login_id)
    r = client.post("/cases/bulk", data={"view": "complaints", "action": "start"}, follow_redirects=True)
    assert b"Select at least one case." in r.data


def test_bulk_refused_to_monitor(client, auth, world, board):
    auth.login(world.r1_mon.login_id)
    assert client.get("/cases/?view=complaints").status_code == 200  # a monitor reads the view
    r = client.post("/cases/bulk", data={"view": "complaints", "selected": [board["pending"].reference],
                                         "action": "start"})
    assert r.status_code == 403


# ---- transfer and return ---------------------------------------------------------------------

def test_transfer_and_return(client, auth, world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    with pytest.raises(MissingInput):
        cases.act(case, "transfer", now=NOW + H, actor=world.ho1_op, target_office=world.d2)
    cases.act(case, "transfer", now=NOW + H, actor=world.ho1_op, target_office=world.d2,
              text="Article booked in D2.")
    assert case.current_office_id == world.d2.id and case.status == wf.OPEN
    assert queue_counts(world.d2_op)["pending"] == 1
    assert queue_counts(world.ho1_op)["pending"] == 0
    # the sender can still read it (raised there) but no longer act on it
    auth.login(world.ho1_op.login_id)
    assert client.get(f"/cases/{case.reference}").status_code == 200
    r = client.post(f"/cases/{case.reference}/act", data={"action": "reply", "version": case.version,
                                                          "text": "x"})
    assert r.status_code in (403, 422)
    auth.logout()
    # D2 sends it back
    auth.login(world.d2_op.login_id)
    r = client.post(f"/cases/{case.reference}/act", data={"action": "transfer", "version": case.version,
                                                          "office": str(world.ho1.id),
                                                          "text": "Not ours, booked at the HO."})
    assert r.status_code == 303
    db.session.refresh(case)
    assert case.current_office_id == world.ho1.id
    trail = complaints.escalation_trail(case)
    assert [s.office.id for s in trail] == [world.ho1.id, world.d2.id, world.ho1.id]
    assert [s.reason for s in trail] == ["transfer", "transfer", None]
    assert trail[0].reason_text == "Article booked in D2."


def test_actions_outside_jurisdiction_are_404(client, auth, world, board):
    auth.login(world.d3_op.login_id)
    ref = board["pending"].reference
    assert client.get(f"/cases/{ref}").status_code == 404
    r = client.post(f"/cases/{ref}/act", data={"action": "start", "version": "1"})
    assert r.status_code == 404


# ---- external authorities and the two clocks --------------------------------------------------

def test_external_referral_updates_and_recall_keep_clocks_apart(client, auth, world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.loss)
    due = case.resolution_due
    cases.act(case, "start", now=NOW + H, actor=world.ho1_op)
    with pytest.raises(Exception):  # noqa: B017 - an ordinary office is not an external authority
        cases.act(case, "refer_external", now=NOW + H, actor=world.ho1_op, target_office=world.d2,
                  text="x")
    db.session.rollback()
    cases.act(case, "refer_external", now=NOW + 2 * H, actor=world.ho1_op, target_office=world.ext,
              text="With Customs for examination.")
    assert case.status == wf.PENDING_EXTERNAL and case.external_office_id == world.ext.id
    assert case.paused_for == "external"
    cases.act(case, "external_update", now=NOW + 50 * H, actor=world.ho1_op,
              text="Customs: article released on 20th.")
    assert case.status == wf.PENDING_EXTERNAL
    c = complaints.clocks(case, NOW + 50 * H)
    assert c["external"] == 48 * 3600 and c["ours"] == 2 * 3600
    cases.act(case, "recall_external", now=NOW + 74 * H, actor=world.ho1_op, text="Back from Customs.")
    assert case.status == wf.IN_PROGRESS and case.external_seconds == 72 * 3600
    assert case.resolution_due == due + 72 * H  # SLA counts only our time
    auth.login(world.ho1_op.login_id)
    page = client.get(f"/cases/{case.reference}").data.decode()
    assert "Customs: article released on 20th." in page
    assert "Time with external authorities" in page and "3 d 0 h" in page
    trail = complaints.escalation_trail(case)
    assert [s.external for s in trail] == [False, True, False]
    assert trail[1].office.id == world.ext.id and trail[1].seconds(NOW) == 72 * 3600


def test_pending_external_not_escalated_by_sla(world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.loss)
    cases.act(case, "refer_external", now=NOW + H, actor=world.ho1_op, target_office=world.ext, text="x")
    timers.sweep(NOW + timedelta(days=60))
    db.session.refresh(case)
    assert case.status == wf.PENDING_EXTERNAL and case.escalation_level == 0


# ---- information requests with a deadline -------------------------------------------------------

@pytest.mark.parametrize("policy", ["close", "escalate"])
def test_info_request_expiry_follows_policy(app, world, tax, policy):
    app.config["INFO_TIMEOUT_POLICY"] = policy
    case = complaint(world.ho1, world.ho1_op, category=tax.dispute)
    cases.act(case, "request_info", now=NOW + H, actor=world.ho1_op, text="Send the NEFT receipt.")
    assert case.info_due == NOW + H + timedelta(days=app.config["INFO_RESPONSE_DAYS"])
    assert timers.sweep(case.info_due - timedelta(minutes=1))["info_timeout"] == 0
    assert timers.sweep(case.info_due)["info_timeout"] == 1
    db.session.refresh(case)
    if policy == "close":
        assert case.status == wf.CLOSED and case.resolution == "no_response"
    else:
        assert case.status == wf.OPEN and case.escalation_level == 1
        assert case.current_office_id == world.ho1.id
    assert case.info_due is None
    assert case.customer_seconds == int((case.updated_at - (NOW + H)).total_seconds())
    assert timers.sweep(case.updated_at + H)["info_timeout"] == 0  # idempotent


# ---- closing ---------------------------------------------------------------------------------------

def test_operator_cannot_close_without_confirmation(client, auth, world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    assert "close" not in {t.action for t in cases.available_actions(world.ho1_op, case)}
    with pytest.raises(NotAllowed):
        cases.act(case, "close", now=NOW, actor=world.ho1_op, text="done")
    # nor accept on the customer's behalf, although they registered it
    cases.act(case, "propose_resolution", now=NOW + H, actor=world.ho1_op, text="Delivered.")
    with pytest.raises(NotAllowed):
        cases.act(case, "accept", now=NOW + 2 * H, actor=world.ho1_op)
    auth.login(world.ho1_op.login_id)
    r = client.post(f"/cases/{case.reference}/act", data={"action": "close", "version": case.version,
                                                          "text": "done"})
    assert r.status_code in (403, 422)


def test_supervisor_closes_with_recorded_reason(client, auth, world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    auth.login(world.ho1_sup.login_id)
    r = client.post(f"/cases/{case.reference}/act", data={"action": "close", "version": case.version})
    assert r.status_code == 422 and b"Please write your text." in r.data
    r = client.post(f"/cases/{case.reference}/act", data={"action": "close", "version": case.version,
                                                          "text": "Directed by the SSPO: duplicate."})
    assert r.status_code == 303
    db.session.refresh(case)
    assert case.status == wf.CLOSED and case.resolution == "closed_by_supervisor"
    assert case.events[-1].text == "Directed by the SSPO: duplicate."
    assert case.events[-1].actor_id == world.ho1_sup.id


def test_supervisor_of_another_subtree_cannot_close(world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    with pytest.raises(NotAllowed):
        cases.act(case, "close", now=NOW, actor=world.c2_sup, text="x")


# ---- escalation ----------------------------------------------------------------------------------

def test_rejection_escalates_to_supervisors_queue(client, auth, world, board):
    case = board["escalated"]
    assert case.escalation_level == 1 and case.status == wf.OPEN
    assert case.current_office_id == world.ho1.id and case.assignee_id is None
    # supervisors handle escalated complaints; the office's operators only read them
    assert wf.HANDLER not in access.relations(world.ho1_op, case)
    assert access.relations(world.ho1_sup, case) >= {wf.SUPERVISOR}
    auth.login(world.ho1_sup.login_id)
    html = client.get("/complaints/?queue=escalated", follow_redirects=True).data.decode()
    assert case.reference in html
    detail = client.get(f"/cases/{case.reference}").data.decode()
    assert "Not received." in detail and "Escalation trail" in detail
    auth.logout()
    auth.login(world.ho1_op.login_id)
    r = client.post(f"/cases/{case.reference}/act", data={"action": "start", "version": case.version})
    assert r.status_code == 403
    cases.act(case, "start", now=NOW + 3 * H, actor=world.ho1_sup)
    assert case.status == wf.IN_PROGRESS


def test_overdue_escalates_then_one_level_up_on_further_breach(client, auth, world, tax):
    case = complaint(world.so1, world.so1_user, category=tax.delay)
    late = case.response_due + H
    assert timers.sweep(case.response_due - H)["escalated"] == 0
    assert timers.sweep(late)["escalated"] == 1
    db.session.refresh(case)
    assert case.escalation_level == 1 and case.current_office_id == world.so1.id and case.sla_breached
    assert case.reference in queue_refs(world.ho1_sup, "escalated")
    assert timers.sweep(late + H)["escalated"] == 0  # the level got a fresh window
    later = case.response_due + H
    assert timers.sweep(later)["escalated"] == 1
    db.session.refresh(case)
    assert case.escalation_level == 2 and case.current_office_id == world.ho1.id
    trail = complaints.escalation_trail(case)
    assert [(s.office.id, s.level) for s in trail] == [(world.so1.id, 0), (world.so1.id, 1),
                                                       (world.ho1.id, 2)]
    assert [s.reason for s in trail[:2]] == ["sla_escalate", "sla_escalate"]
    assert trail[0].moved_by == "system"
    assert trail[0].seconds(NOW) == int((late - NOW).total_seconds())
    auth.login(world.ho1_sup.login_id)
    page = client.get(f"/cases/{case.reference}").data.decode()
    assert "Escalated: response time exceeded" in page and 'id="escalation-trail"' in page


@pytest.mark.parametrize("who,links", [
    ("ho1_op", {"Complaint Processing", "Complaint Registration", "Reports &"}),
    ("ho1_sup", {"Complaint Processing", "Complaint Registration", "Reports &",
                 "Closure review"}),
])
def test_navigation_links(client, auth, world, who, links):
    auth.login(getattr(world, who).login_id)
    html = client.get("/").data.decode()
    assert all(label in html for label in links)
    if who == "ho1_op":
        assert "Closure review" not in html


def test_public_landing_links_to_registration(client, world):
    assert b"/complaint/new" in client.get("/").data


def test_navigation_badge_counts_waiting_complaints(client, auth, world, board):
    auth.login(world.ho1_sup.login_id)
    r = client.get("/cases/counts?view=complaints")
    assert r.status_code == 200 and r.data == b"3"  # waiting for us: HO + SO pending, one escalated
    assert r.headers["Cache-Control"] == "no-store"
    assert b"/cases/counts?view=complaints" in client.get("/").data


def test_complaint_extras_also_in_the_htmx_panel(client, auth, world, board):
    auth.login(world.ho1_sup.login_id)
    case = board["escalated"]
    r = client.get(f"/cases/{case.reference}", headers={"HX-Request": "true"})
    html = r.data.decode()
    assert "<html" not in html and 'id="escalation-trail"' in html and "Time with us" in html
    assert "Reject resolution" in html and "Not received." in html


def test_reply_note_assign_and_manual_escalation(client, world, tax):
    from tests.complaints_support import respond_path

    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    cases.act(case, "reply", now=NOW + H, actor=world.ho1_op, text="We are tracing the article.")
    assert case.first_response_at == NOW + H and case.status == wf.IN_PROGRESS
    cases.act(case, "note", now=NOW + 2 * H, actor=world.ho1_op, text="Beat postman on leave.")
    page = client.get(respond_path(case)).data.decode()
    assert "We are tracing the article." in page and "Beat postman on leave." not in page
    cases.act(case, "escalate", now=NOW + 3 * H, actor=world.ho1_op, text="Needs the postmaster.")
    assert case.escalation_level == 1 and case.current_office_id == world.ho1.id
    assert wf.HANDLER not in access.relations(world.ho1_op, case)
    # the supervisor may hand it to a named operator, who then handles it
    cases.act(case, "assign", now=NOW + 4 * H, actor=world.ho1_sup, target_user=world.ho1_op)
    assert wf.HANDLER in access.relations(world.ho1_op, case)
    cases.act(case, "escalate", now=NOW + 5 * H, actor=world.ho1_op, text="Needs the division.")
    assert case.escalation_level == 2 and case.current_office_id == world.d1.id
    assert queue_counts(world.d1_sup)["escalated"] == 1
    assert queue_counts(world.ho1_sup)["escalated"] == 0
    trail = complaints.escalation_trail(case)
    assert [(s.office.id, s.level) for s in trail] == [(world.ho1.id, 0), (world.ho1.id, 1), (world.d1.id, 2)]
    assert trail[1].handlers == [world.ho1_op.name]
    assert trail[1].reason_text == "Needs the division."
