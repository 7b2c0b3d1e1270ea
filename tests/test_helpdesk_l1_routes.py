"""The desk's (L1) ticket on the one case page (issues 26 and 24): resolve at first
contact, escalate along the path, classify — each an action posted to `/cases/<ref>/act`
— each role's access, plain forms without JS, bad input answered beside the field, and
the report's figures."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Case
from tests.test_helpdesk_sla import build_desk, log

HX = {"HX-Request": "true"}


@pytest.fixture
def desk(world):
    return build_desk(world)


def _post(client, case, headers=None, **data):
    data.setdefault("version", str(case.version))
    return client.post(f"/cases/{case.reference}/act", data=data, headers=headers or {})


def test_the_desk_sees_its_l1_actions(client, auth, desk):
    case = log(desk, "functional", escalate=False)
    auth.login(desk.operator.login_id)
    r = client.get(f"/cases/{case.reference}")
    assert r.status_code == 200
    for text in (b"With the helpdesk (L1)", b"Resolve at the helpdesk (L1)", b"Escalate along the path",
                 b"Master Trainers", b"Classify the ticket", b"Reply to the caller"):
        assert text in r.data, text
    assert b"<form" in r.data and b'method="post"' in r.data  # plain forms, no JS needed


def test_resolve_at_first_contact_from_the_page(client, auth, desk):
    case = log(desk, "functional", escalate=False)
    auth.login(desk.operator.login_id)
    r = _post(client, case, action="close", text="")
    assert r.status_code == 422 and b"Please write your text." in r.data
    assert b'id="err-text-close"' in r.data
    r = _post(client, case, action="close", text="Showed where the button is.")
    assert r.status_code == 303
    db.session.refresh(case)
    assert case.status == "closed" and case.resolution == "first_contact"
    r = client.get(r.headers["Location"])
    # the same words on the button, the flash and the timeline
    assert b"Done: Resolve at the helpdesk (L1)." in r.data
    assert b"<strong>Resolve at the helpdesk (L1)</strong>" in r.data


def test_escalate_from_the_page_and_the_team_takes_over(client, auth, desk):
    case = log(desk, "technical", escalate=False)
    auth.login(desk.team_user.login_id)  # not the team's ticket yet
    assert client.get(f"/cases/{case.reference}").status_code == 404
    auth.logout()
    auth.login(desk.operator.login_id)
    r = _post(client, case, headers=HX, action="escalate", text="Server error; not solvable here")
    assert r.status_code == 200 and b"Done: Escalate along the path." in r.data
    assert b'id="case-panel"' in r.data and b"<html" not in r.data
    db.session.refresh(case)
    assert case.current_office_id == desk.team.id
    auth.logout()
    auth.login(desk.team_user.login_id)
    r = client.get(f"/cases/{case.reference}")
    assert b"<strong>Escalate along the path</strong>" in r.data  # the timeline's words
    assert b"Escalate to the supervisors" in r.data and b"Classify the ticket" not in r.data
    assert b"Resolve at the helpdesk (L1)" not in r.data and b"Close as resolved" in r.data


def test_escalate_without_a_path_is_answered_beside_the_field(client, auth, desk):
    case = log(desk, "unrouted", escalate=False)
    auth.login(desk.operator.login_id)
    r = _post(client, case, action="escalate", text="try")
    assert r.status_code == 422 and b"has no escalation path" in r.data
    assert b'id="err-text-escalate"' in r.data
    db.session.refresh(case)
    assert case.current_office_id == desk.desk.id


def test_classify_from_the_page(client, auth, desk):
    case = log(desk, "unrouted", "P4", escalate=False)
    auth.login(desk.operator.login_id)
    r = _post(client, case, action="classify", category="99999", classification="problem", priority="P1")
    assert r.status_code == 422
    assert b'id="err-category-classify" aria-live="polite">Choose a category from the list.</p>' in r.data
    r = _post(client, case, action="classify", category=str(desk.cats["bug"].id),
              classification="gossip", priority="P1")
    assert r.status_code == 422
    assert b'id="err-classification-classify" aria-live="polite">Choose a classification' in r.data
    r = _post(client, case, action="classify", category=str(desk.cats["bug"].id),
              classification="bug_fix", priority="P9")
    assert r.status_code == 422 and b'id="err-priority-classify" aria-live="polite">Choose' in r.data
    r = _post(client, case, action="classify", category=str(desk.cats["bug"].id),
              classification="bug_fix", priority="P1")
    assert r.status_code == 303
    db.session.refresh(case)
    assert (case.category_id, case.classification, case.priority) == (desk.cats["bug"].id, "bug_fix", "P1")
    r = client.get(f"/cases/{case.reference}")
    assert b"Vendor Team" in r.data and b"Bug Fixes" in r.data
    assert b"Done: Classify the ticket." in r.data and b"<strong>Classify the ticket</strong>" in r.data
    # a division operator may not classify (not even see) it
    auth.logout()
    auth.login(desk.d1_op.login_id)
    assert _post(client, case, action="classify", category=str(desk.cats["functional"].id),
                 classification="problem", priority="P2").status_code == 404


def test_log_a_call_solved_on_the_call(client, auth, desk):
    from tests.test_helpdesk_routes import _form

    auth.login(desk.operator.login_id)
    r = client.post("/helpdesk/new", data=_form(desk, fix="Reset the password with the caller."))
    assert r.status_code == 303
    case = db.session.scalar(select(Case))
    assert case.resolution == "first_contact"
    r = client.get(r.headers["Location"])
    assert b"closed as resolved at first contact" in r.data


def test_report_shows_first_contact_and_levels(client, auth, desk):
    from app.services.engine import cases
    from tests.conftest import NOW

    solved = log(desk, "functional", escalate=False)
    cases.act(solved, "close", now=NOW, actor=desk.operator, text="ok")
    log(desk, "technical")
    auth.login(desk.admin.login_id)
    r = client.get("/helpdesk/report")
    assert r.status_code == 200
    assert b"Resolved at first contact" in r.data and b"Time at each level" in r.data
    assert b"O&amp;M Helpdesk" in r.data and b"Technical Team" in r.data
    assert b'id="first-contact">1 (50%)' in r.data
