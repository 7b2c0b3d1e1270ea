"""Public JSON API: raising doorstep requests and complaints with the web forms'
validation and routing, tracking (masked), one-time codes, signed-token answers,
JSON errors everywhere, no cookies and no CSRF."""

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from flask_babel import refresh
from sqlalchemy import func, select

from app.domain import workflow as wf
from app.extensions import db
from app.i18n import LOCALE_COOKIE
from app.models import Case, CaseEvent, Feedback
from app.services.engine import cases
from app.services.infrastructure import tokens
from tests.api_support import otp_from_outbox
from tests.citizen_support import add_services, make_request
from tests.complaints_support import complaint, make_taxonomy
from tests.conftest import NOW

H = timedelta(hours=1)


@pytest.fixture
def services(world):
    return add_services(world)


@pytest.fixture
def tax(world):
    return make_taxonomy()


def _request_body(svc, **over):
    body = {"name": "Ravi Kumar", "address": "1 MG Road", "pincode": "560001",
            "email": "ravi@example.in", "mobile": "9876543210", "service": svc.id,
            "details": "Gate code 4455", "submission_key": "app-key-0123456789abcdef"}
    body.update(over)
    return body


# ---- doorstep requests --------------------------------------------------------------------

def test_raise_request_routes_to_the_division_of_the_pincode(client, world, services):
    r = client.post("/api/v1/requests", json=_request_body(services[0]))
    assert r.status_code == 201, r.json
    case = db.session.scalar(select(Case).where(Case.reference == r.json["reference"]))
    assert case.current_office_id == world.d1.id and case.kind == wf.SERVICE_REQUEST
    assert case.channel == "api" and case.category_id == services[0].id
    assert r.headers["Location"] == f"/api/v1/track/{case.reference}"
    assert r.json["requester"] == {"name": "R. K.", "mobile": "98XXXXXX10", "email": "r***@example.in"}
    assert "Gate code" not in r.get_data(as_text=True)

    r2 = client.post("/api/v1/requests", json=_request_body(services[0], pincode="570001"))
    assert r2.status_code == 200 and r2.json["reference"] == case.reference  # same key: same case
    assert db.session.scalar(select(func.count(Case.id))) == 1


def test_a_submission_key_of_another_mobile_is_a_conflict(client, world, services):
    assert client.post("/api/v1/requests", json=_request_body(services[0])).status_code == 201
    r = client.post("/api/v1/requests", json=_request_body(services[0], mobile="9123456780"))
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"


@pytest.mark.parametrize("over, field, message", [
    ({"name": ""}, "name", "Please enter your name."),
    ({"pincode": "5600"}, "pincode", "A pincode has exactly 6 digits."),
    ({"pincode": "999999"}, "pincode", "We do not know this pincode. Please check it."),
    ({"mobile": "12345"}, "mobile", "Please enter a valid 10-digit Indian mobile number."),
    ({"email": "ravi@"}, "email", "Please enter a valid e-mail address, like name@example.com."),
    ({"service": 99999}, "service", "Please choose the service you need."),
    ({"name": ["a"]}, "name", "This field must be text."),
])
def test_raise_request_field_errors_are_the_forms(client, world, services, over, field, message):
    r = client.post("/api/v1/requests", json=_request_body(services[0], **over))
    assert r.status_code == 422
    assert r.json["error"]["code"] == "validation_failed"
    assert message in r.json["error"]["fields"][field]
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_field_errors_are_translated_by_accept_language(client, world, services):
    r = client.post("/api/v1/requests", json=_request_body(services[0], name=""),
                    headers={"Accept-Language": "fa"})
    assert r.status_code == 422
    fa = r.json["error"]["fields"]["name"]
    assert fa and fa[0] != "Please enter your name."
    refresh()  # tests keep one app context; a real request starts with a fresh locale
    r = client.post("/api/v1/requests", json=_request_body(services[0], name=""),
                    headers={"Accept-Language": "hi"})
    assert r.json["error"]["fields"]["name"] == ["कृपया अपना नाम लिखें।"]


def test_persian_digits_are_accepted_as_on_the_form(client, world, services):
    r = client.post("/api/v1/requests", json=_request_body(services[0], pincode="۵۶۰۰۰۱",
                                                           mobile="۹۸۷۶۵۴۳۲۱۰"))
    assert r.status_code == 201
    case = db.session.scalar(select(Case))
    assert case.pincode == "560001" and case.requester_mobile == "9876543210"


def test_services_and_categories_lists(client, world, services, tax):
    r = client.get("/api/v1/services", headers={"Accept-Language": "hi"})
    assert [s["id"] for s in r.json["items"]] == [s.id for s in services]
    assert r.json["items"][0]["label"] == "घर पर नकद निकासी"
    r = client.get("/api/v1/complaint-categories")
    mail = next(c for c in r.json["items"] if c["id"] == tax.mail.id)
    assert mail["services"][0]["id"] == tax.speed.id
    assert {t["id"] for t in mail["services"][0]["types"]} == {tax.delay.id, tax.loss.id}


# ---- complaints ----------------------------------------------------------------------------

def _complaint_body(tax, **over):
    body = {"name": "Asha Rao", "mobile": "9876543210", "email": "asha@example.in",
            "pincode": "560001", "category": tax.mail.id, "service": tax.speed.id, "type": tax.delay.id,
            "description": "My Speed Post article has not arrived after ten days."}
    body.update(over)
    return body


def test_raise_complaint_gives_a_respond_token(client, world, tax):
    r = client.post("/api/v1/complaints", json=_complaint_body(tax))
    assert r.status_code == 201, r.json
    case = db.session.scalar(select(Case).where(Case.reference == r.json["reference"]))
    assert case.kind == wf.COMPLAINT and case.current_office_id == world.d1.id  # pincode → division
    assert case.category_id == tax.delay.id and case.channel == "api"
    assert tokens.load_case_token(r.json["respond_token"], "respond")["id"] == case.id
    g = client.get(r.json["respond_url"])
    assert g.status_code == 200 and g.json["reference"] == case.reference and g.json["actions"] == []


@pytest.mark.parametrize("over, field, message", [
    ({"mobile": "12345"}, "mobile", "Enter a 10-digit Indian mobile number."),
    ({"pincode": "999999"}, "pincode",
     "This pincode is not in our directory. Check it, or visit your post office."),
    ({"description": "short"}, "description", "Describe the complaint in 10 to 5000 characters."),
    ({"type": None}, "type", "Choose the type of grievance."),
    ({"related": "CMP-XXXX"}, "related", "No complaint with this reference was found for this mobile number."),
])
def test_complaint_field_errors_are_the_forms(client, world, tax, over, field, message):
    r = client.post("/api/v1/complaints", json=_complaint_body(tax, **over))
    assert r.status_code == 422
    assert message in r.json["error"]["fields"][field], r.json
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_complaint_type_must_belong_to_the_service(client, world, tax):
    r = client.post("/api/v1/complaints", json=_complaint_body(tax, type=tax.dispute.id))
    assert r.status_code == 422 and r.json["error"]["fields"]["type"] == ["Choose the type of grievance."]


# ---- tracking ------------------------------------------------------------------------------

def test_track_is_masked_and_public_only(client, world, services):
    case = make_request(world, description="Gate code 4455")
    cases.act(case, "note", now=NOW + H, actor=world.d1_op, text="Internal: postman on leave")
    cases.act(case, "start", now=NOW + 2 * H, actor=world.d1_op, text="Postman assigned")
    r = client.get(f"/api/v1/track/{case.reference.lower()}")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "Gate code" not in body and "Internal" not in body and "9876543210" not in body
    assert [e["type"] for e in r.json["events"]] == ["created", "start"]
    assert r.json["status"] == wf.IN_PROGRESS and r.json["serving_office"] == "Bangalore GPO"


def test_track_unknown_reference_is_json_404(client, world):
    r = client.get("/api/v1/track/SR-NOPE")
    assert r.status_code == 404 and r.is_json and r.json["error"]["code"] == "not_found"


def test_one_time_code_then_my_requests(client, world, services):
    mine = make_request(world)
    make_request(world, requester={"name": "Other", "mobile": "9123456780", "pincode": "560001"})
    r = client.post("/api/v1/track/otp", json={"mobile": "98765 43210"})
    assert r.status_code == 202
    neutral = client.post("/api/v1/track/otp", json={"mobile": "9000000001"})
    assert neutral.status_code == 202 and neutral.json == r.json  # no hint whether it has requests
    assert client.get("/api/v1/track/mine").status_code == 401

    bad = client.post("/api/v1/track/verify", json={"mobile": "9876543210", "code": "000000"})
    assert bad.status_code == 422
    assert bad.json["error"]["fields"]["code"] == [
        "The code is wrong or has expired. You can ask for a new code."]
    client.post("/api/v1/track/otp", json={"mobile": "9876543210"})
    r = client.post("/api/v1/track/verify", json={"mobile": "9876543210", "code": otp_from_outbox()})
    assert r.status_code == 200 and r.json["expires_in"] == 30 * 60
    listed = client.get("/api/v1/track/mine", headers={"X-Tracking-Token": r.json["token"]})
    assert listed.status_code == 200
    assert [c["reference"] for c in listed.json["items"]] == [mine.reference]
    assert listed.json["mobile"] == "98XXXXXX10"
    # another salt's token (a respond token) is no tracking token
    forged = client.get("/api/v1/track/mine",
                        headers={"X-Tracking-Token": tokens.make_case_token(mine, "respond")})
    assert forged.status_code == 401


def test_verify_needs_a_valid_mobile_and_six_digits(client, world):
    r = client.post("/api/v1/track/verify", json={"mobile": "1", "code": "12"})
    assert r.status_code == 422
    assert set(r.json["error"]["fields"]) == {"mobile", "code"}
    assert r.json["error"]["fields"]["code"] == ["The code has 6 digits."]


def test_tracking_token_expires(client, world, services, app):
    make_request(world)
    client.post("/api/v1/track/otp", json={"mobile": "9876543210"})
    token = client.post("/api/v1/track/verify",
                        json={"mobile": "9876543210", "code": otp_from_outbox()}).json["token"]
    assert client.get("/api/v1/track/mine", headers={"X-Tracking-Token": token}).status_code == 200
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=31)):
        r = client.get("/api/v1/track/mine", headers={"X-Tracking-Token": token})
    assert r.status_code == 401


# ---- answers with the signed token ------------------------------------------------------

@pytest.fixture
def proposed(world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    cases.act(case, "start", now=NOW + H, actor=world.ho1_op)
    cases.act(case, "propose_resolution", now=NOW + 2 * H, actor=world.ho1_op,
              text="Delivered on the 12th.")
    return case


def _respond(client, case, **body):
    return client.post(f"/api/v1/respond/{tokens.make_case_token(case, 'respond')}", json=body)


def test_respond_get_lists_the_allowed_answers(client, proposed):
    r = client.get(f"/api/v1/respond/{tokens.make_case_token(proposed, 'respond')}")
    assert [a["action"] for a in r.json["actions"]] == ["accept", "clarify", "reject"]
    assert r.json["events"][-1]["text"] == "Delivered on the 12th."


def test_accept_then_rate_once(client, proposed):
    r = _respond(client, proposed, action="accept", version=proposed.version)
    assert r.status_code == 200 and r.json["status"] == wf.CLOSED
    assert [a["action"] for a in r.json["actions"]] == ["rate"]
    assert _respond(client, proposed, action="rate", rating=9).json["error"]["fields"]["rating"] == [
        "Choose a rating from 1 to 5."]
    r = _respond(client, proposed, action="rate", rating="5", text="Thanks")
    assert r.status_code == 200 and r.json["rated"] is True
    assert db.session.scalar(select(Feedback.rating)) == 5
    again = _respond(client, proposed, action="rate", rating=4)
    assert again.status_code == 409


def test_reject_needs_text_and_escalates(client, proposed):
    r = _respond(client, proposed, action="reject")
    assert r.status_code == 422 and r.json["error"]["fields"]["text"] == ["Please write your text."]
    r = _respond(client, proposed, action="reject", text="Not delivered at all.")
    assert r.status_code == 200 and r.json["status"] == wf.OPEN
    assert db.session.get(Case, proposed.id).escalation_level == 1


def test_clarify_returns_to_in_progress(client, proposed):
    r = _respond(client, proposed, action="clarify", text="Which post office?")
    assert r.status_code == 200 and r.json["status"] == wf.IN_PROGRESS


def test_stale_version_and_wrong_state_are_conflicts(client, proposed):
    r = _respond(client, proposed, action="accept", version=proposed.version - 1)
    assert r.status_code == 409
    assert _respond(client, proposed, action="accept").status_code == 200
    assert _respond(client, proposed, action="accept").status_code == 409


def test_respond_bad_token_and_action(client, proposed):
    assert client.get("/api/v1/respond/garbage").status_code == 404
    assert client.post("/api/v1/respond/garbage", json={"action": "accept"}).status_code == 404
    r = _respond(client, proposed, action="close")
    assert r.status_code == 422 and "action" in r.json["error"]["fields"]


# ---- errors, cookies, CSRF, limits ---------------------------------------------------------

def test_errors_are_json_never_html(client, world):
    cases_ = [
        client.get("/api/v1/does-not-exist"),
        client.get("/api/"),
        client.delete("/api/v1/requests"),
        client.post("/api/v1/requests", data="name=x"),
        client.post("/api/v1/requests", data="[1, 2", content_type="application/json"),
        client.post("/api/v1/requests", json=[1, 2]),
    ]
    assert [r.status_code for r in cases_] == [404, 404, 405, 415, 400, 400]
    for r in cases_:
        assert r.is_json and set(r.json["error"]) >= {"status", "code", "message"}
        assert "Traceback" not in r.get_data(as_text=True)
    assert "POST" in cases_[2].headers["Allow"]


def test_an_unexpected_error_is_a_json_500(client, world, monkeypatch):
    from app.services.front_doors import citizen

    def boom(*a, **k):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(citizen, "find_by_reference", boom)
    r = client.get("/api/v1/track/SR-1")
    assert r.status_code == 500 and r.json["error"]["code"] == "server_error"
    assert "fire" not in r.get_data(as_text=True)


def test_no_csrf_and_no_cookies(app, client, auth, world, services):
    app.config["WTF_CSRF_ENABLED"] = True
    auth.login(world.d1_op.login_id)
    r = client.post("/api/v1/requests", json=_request_body(services[0]))
    assert r.status_code == 201  # no CSRF token needed
    assert "Set-Cookie" not in r.headers and r.headers["Cache-Control"] == "no-store"
    # the staff session is not the requester: the case was raised by nobody
    case = db.session.scalar(select(Case))
    assert case.raised_by_id is None
    created = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id))
    assert created.actor_kind == "requester"
    # web forms still need the token
    assert client.post("/request", data={"name": "x"}).status_code == 400


def test_a_browser_session_sent_to_the_api_is_neither_used_nor_changed(client, auth, world, services):
    auth.login(world.d1_op.login_id)
    assert client.get("/cases/").status_code == 200
    client.environ_base["HTTP_USER_AGENT"] = "partner-script/1.0"  # would fail session protection
    r = client.post("/api/v1/requests", json=_request_body(services[0]))
    assert r.status_code == 201 and "Set-Cookie" not in r.headers
    assert db.session.scalar(select(Case)).raised_by_id is None  # not raised as the staff member
    del client.environ_base["HTTP_USER_AGENT"]
    assert client.get("/cases/").status_code == 200  # the browser is still signed in


def test_locale_comes_from_accept_language_not_the_cookie(client, world, services):
    client.set_cookie(LOCALE_COOKIE, "fa")
    with client.session_transaction() as sess:
        sess[LOCALE_COOKIE] = "fa"
    r = client.post("/api/v1/requests", json=_request_body(services[0], name=""),
                    headers={"Accept-Language": "en"})
    assert r.json["error"]["fields"]["name"] == ["Please enter your name."]


def test_rate_limits_per_ip_and_per_mobile(client, world, services, app, rate_limits):
    app.config["CITIZEN_OTP_LIMIT_MOBILE"] = "2 per hour"
    for _ in range(2):
        assert client.post("/api/v1/track/otp", json={"mobile": "9876543210"}).status_code == 202
    r = client.post("/api/v1/track/otp", json={"mobile": "9876543210"})
    assert r.status_code == 429 and r.is_json and r.json["error"]["code"] == "too_many_requests"
    assert client.post("/api/v1/track/otp", json={"mobile": "9123456780"}).status_code == 202
    app.config["CITIZEN_TRACK_LIMIT_IP"] = "1 per hour"
    assert client.get("/api/v1/track/SR-1").status_code == 404
    r = client.get("/api/v1/track/SR-1")
    assert r.status_code == 429 and r.is_json
