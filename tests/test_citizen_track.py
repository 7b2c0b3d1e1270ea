"""Tracking a doorstep request (seed 001, section 5): by reference, or by mobile after a
one-time code; citizen-safe output and neutral answers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Notification, OtpCode
from app.services.engine import cases
from app.services.front_doors import citizen
from tests.citizen_support import add_services, make_request
from tests.conftest import NOW

NEUTRAL = "We could not find a request with these details. Please check what you typed."
SENT = "If this mobile number has requests with us, we have sent a one-time code to it by SMS."
WRONG_CODE = "The code is wrong or has expired. You can ask for a new code."


@pytest.fixture
def services(world):
    return add_services(world)


@pytest.fixture
def served(world, services):
    """A request taken up, noted internally and completed by named D1 staff."""
    case = make_request(world, description="Gate code 4455; my son Arjun will be at home.")
    cases.act(case, "start", actor=world.d1_op, now=NOW + timedelta(hours=1), text="Postman visits tomorrow.")
    cases.act(case, "note", actor=world.d1_op, now=NOW + timedelta(hours=2),
              text="Customer sounded upset; secret internal remark.")
    cases.act(case, "complete", actor=world.d1_op, now=NOW + timedelta(hours=3), text="Cash delivered.")
    return case


def _otp_from_outbox(mobile="9876543210") -> str:
    sms = db.session.scalar(select(Notification).where(Notification.template == "otp",
                                                       Notification.recipient == mobile)
                            .order_by(Notification.id.desc()))
    return re.search(r"\b(\d{6})\b", sms.body).group(1)


# ---- by reference ----------------------------------------------------------------------

def test_track_form_page(client):
    html = client.get("/track").get_data(as_text=True)
    assert 'name="reference"' in html and 'action="/track/mobile"' in html


def test_track_by_reference_redirects_to_detail(client, world, services):
    case = make_request(world)
    r = client.get("/track", query_string={"reference": case.reference.lower().replace("-", "")})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/track/{case.reference}")


def test_detail_shows_status_and_public_timeline_only(client, world, served):
    r = client.get(f"/track/{served.reference}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Closed" in html and "Completed" in html
    assert "Request registered" in html and "Completed at your doorstep" in html
    assert "Postman visits tomorrow." in html and "Cash delivered." in html
    # no staff names, no internal notes, no contact data, not even the citizen's own free text
    assert world.d1_op.name not in html
    assert "secret internal remark" not in html
    assert "9876543210" not in html and "ravi@example.in" not in html
    assert "Ravi Kumar" not in html and "1 MG Road" not in html
    assert "Gate code" not in html
    assert "98XXXXXX10" in html and "r***@example.in" in html and "R. K." in html
    assert f'<bdi dir="ltr" class="ref">{served.reference}</bdi>' in html


def test_detail_htmx_returns_the_status_partial(client, world, served):
    r = client.get(f"/track/{served.reference}", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="track-status"') and "<html" not in html


@pytest.mark.parametrize("reference", ["SR-2611-ZZZZZZZ", "nonsense", "CM-2611-AAAAAAA"])
def test_unknown_reference_gives_the_neutral_message(client, world, services, reference):
    r = client.get("/track", query_string={"reference": reference})
    assert r.status_code == 200 and NEUTRAL in r.get_data(as_text=True)
    r = client.get(f"/track/{reference}")
    assert r.status_code == 404 and NEUTRAL in r.get_data(as_text=True)


def test_other_kinds_are_not_tracked_here(client, world, services):
    complaint = cases.raise_case("complaint", office=world.d1, now=NOW, subject="x",
                                 requester={"name": "A", "mobile": "9876543210"})
    r = client.get(f"/track/{complaint.reference}")
    assert r.status_code == 404 and NEUTRAL in r.get_data(as_text=True)


def test_empty_reference_is_a_field_error(client):
    r = client.get("/track", query_string={"reference": ""})
    assert r.status_code == 422 and "Please enter your reference number." in r.get_data(as_text=True)


# ---- by mobile with a one-time code ------------------------------------------------------

def test_mobile_path_needs_the_code_first(client, world, served):
    r = client.get("/track/mine")
    assert r.status_code == 303 and r.headers["Location"].endswith("/track")
    r = client.post("/track/mobile", data={"mobile": "98765 43210"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/track/verify")
    assert client.get("/track/mine").status_code == 303  # still no list before the code
    page = client.get("/track/verify").get_data(as_text=True)
    assert SENT in page and "98XXXXXX10" in page
    code = _otp_from_outbox()
    r = client.post("/track/verify", data={"code": code})
    assert r.status_code == 303 and r.headers["Location"].endswith("/track/mine")
    html = client.get("/track/mine").get_data(as_text=True)
    assert served.reference in html


def test_list_shows_only_that_mobiles_requests(client, world, served):
    other = make_request(world, requester={"name": "Asha", "mobile": "9123456780", "email": "a@x.in",
                                           "pincode": "560001", "address": "x"})
    client.post("/track/mobile", data={"mobile": "9876543210"})
    client.post("/track/verify", data={"code": _otp_from_outbox()})
    html = client.get("/track/mine").get_data(as_text=True)
    assert served.reference in html and other.reference not in html


def test_after_the_code_the_detail_shows_the_contact_details(client, world, served):
    client.post("/track/mobile", data={"mobile": "9876543210"})
    client.post("/track/verify", data={"code": _otp_from_outbox()})
    html = client.get(f"/track/{served.reference}").get_data(as_text=True)
    assert "Ravi Kumar" in html and "1 MG Road" in html and "9876543210" in html
    assert "Gate code 4455" in html  # the citizen's own words, now that they proved the mobile
    assert world.d1_op.name not in html and "secret internal remark" not in html


def test_proved_mobile_does_not_unmask_other_peoples_requests(client, world, served):
    other = make_request(world, requester={"name": "Asha Rao", "mobile": "9123456780", "email": "a@x.in",
                                           "pincode": "560001", "address": "9 Hill Road"})
    client.post("/track/mobile", data={"mobile": "9876543210"})
    client.post("/track/verify", data={"code": _otp_from_outbox()})
    html = client.get(f"/track/{other.reference}").get_data(as_text=True)
    assert "Asha Rao" not in html and "9 Hill Road" not in html and "91XXXXXX80" in html


def test_unknown_mobile_gets_the_same_answer_and_no_sms(client, world, served):
    r_known = client.post("/track/mobile", data={"mobile": "9876543210"}, follow_redirects=True)
    other = client.application.test_client()
    r_unknown = other.post("/track/mobile", data={"mobile": "9000000001"}, follow_redirects=True)
    assert SENT in r_known.get_data(as_text=True) and SENT in r_unknown.get_data(as_text=True)
    assert r_known.status_code == r_unknown.status_code == 200
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.recipient == "9000000001")) == 0
    # and any code for it is "wrong or expired", like a wrong code for a known number
    r = other.post("/track/verify", data={"code": "123456"})
    assert r.status_code == 422 and WRONG_CODE in r.get_data(as_text=True)
    r = client.post("/track/verify", data={"code": "000000" if _otp_from_outbox() != "000000" else "111111"})
    assert r.status_code == 422 and WRONG_CODE in r.get_data(as_text=True)


def test_invalid_mobile_is_a_field_error(client, services):
    r = client.post("/track/mobile", data={"mobile": "12345"})
    assert r.status_code == 422
    assert "Please enter a valid 10-digit Indian mobile number." in r.get_data(as_text=True)


def test_otp_sms_is_in_the_outbox_and_only_a_hash_is_stored(client, world, served):
    client.post("/track/mobile", data={"mobile": "9876543210"})
    sms = db.session.scalar(select(Notification).where(Notification.template == "otp"))
    assert sms.channel == "sms" and sms.case_id is None
    code = _otp_from_outbox()
    row = db.session.scalar(select(OtpCode))
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.template == "otp", Notification.channel == "email")) == 0


def test_verify_without_asking_first_goes_back(client):
    r = client.post("/track/verify", data={"code": "123456"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/track")


# ---- the one-time code rules (service level, explicit now) -------------------------------

def test_otp_expires(app, world, served):
    code = citizen.send_otp("9876543210", now=NOW)
    assert not citizen.verify_otp("9876543210", code, now=NOW + timedelta(minutes=10, seconds=1))


def test_otp_valid_within_its_time_and_once_only(app, world, served):
    code = citizen.send_otp("9876543210", now=NOW)
    assert citizen.verify_otp("9876543210", code, now=NOW + timedelta(minutes=9))
    assert not citizen.verify_otp("9876543210", code, now=NOW + timedelta(minutes=9))


def test_otp_attempt_limit(app, world, served):
    code = citizen.send_otp("9876543210", now=NOW)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert not citizen.verify_otp("9876543210", wrong, now=NOW)
    assert not citizen.verify_otp("9876543210", code, now=NOW)  # locked after 5 tries
    assert db.session.scalar(select(OtpCode.attempts)) == 5


def test_attempt_limit_is_configurable(app, world, served):
    app.config["CITIZEN_OTP_MAX_ATTEMPTS"] = 1
    code = citizen.send_otp("9876543210", now=NOW)
    assert not citizen.verify_otp("9876543210", "999999" if code != "999999" else "888888", now=NOW)
    assert not citizen.verify_otp("9876543210", code, now=NOW)


def test_new_code_replaces_the_old_one(app, world, served):
    first = citizen.send_otp("9876543210", now=NOW)
    second = citizen.send_otp("9876543210", now=NOW + timedelta(minutes=1))
    if first != second:
        assert not citizen.verify_otp("9876543210", first, now=NOW + timedelta(minutes=2))
    assert citizen.verify_otp("9876543210", second, now=NOW + timedelta(minutes=2))


def test_no_code_for_a_mobile_without_requests(app, world, services):
    assert citizen.send_otp("9000000001", now=NOW) is None
    assert db.session.scalar(select(func.count(OtpCode.id))) == 0


def test_code_of_one_mobile_does_not_open_another(app, world, served):
    make_request(world, requester={"name": "B", "mobile": "9123456780", "pincode": "560001"})
    code = citizen.send_otp("9876543210", now=NOW)
    assert not citizen.verify_otp("9123456780", code, now=NOW)


def test_verified_session_expires(client, app, world, served):
    app.config["CITIZEN_VERIFIED_MINUTES"] = 0
    client.post("/track/mobile", data={"mobile": "9876543210"})
    client.post("/track/verify", data={"code": _otp_from_outbox()})
    assert client.get("/track/mine").status_code == 303


# ---- masking helpers --------------------------------------------------------------------

@pytest.mark.parametrize("value,masked", [("9876543210", "98XXXXXX10"), ("123", "XXX"), (None, "")])
def test_mask_mobile(value, masked):
    assert citizen.mask_mobile(value) == masked


def test_mask_email_and_name():
    assert citizen.mask_email("ravi@example.in") == "r***@example.in"
    assert citizen.mask_email(None) == ""
    assert citizen.mask_name("Ravi  Kumar") == "R. K."


# ---- rating after completion -------------------------------------------------------------

def _prove(client):
    client.post("/track/mobile", data={"mobile": "9876543210"})
    client.post("/track/verify", data={"code": _otp_from_outbox()})


def test_rating_needs_the_proved_mobile(client, world, served):
    html = client.get(f"/track/{served.reference}").get_data(as_text=True)
    assert 'name="rating"' not in html
    assert client.post(f"/track/{served.reference}/rate", data={"rating": "5"}).status_code == 404


def test_citizen_rates_a_completed_request_once(client, world, served):
    from app.models import Feedback

    _prove(client)
    html = client.get(f"/track/{served.reference}").get_data(as_text=True)
    assert 'name="rating"' in html
    r = client.post(f"/track/{served.reference}/rate", data={})
    assert r.status_code == 422 and "Please choose a rating." in r.get_data(as_text=True)
    r = client.post(f"/track/{served.reference}/rate", data={"rating": "4", "comment": "Quick."})
    assert r.status_code == 303
    fb = db.session.scalar(select(Feedback))
    assert (fb.case_id, fb.rating, fb.comment) == (served.id, 4, "Quick.")
    html = client.get(f"/track/{served.reference}").get_data(as_text=True)
    assert 'name="rating"' not in html and "You rated the service" in html
    client.post(f"/track/{served.reference}/rate", data={"rating": "1"})
    assert db.session.scalar(select(func.count(Feedback.id))) == 1


def test_open_request_cannot_be_rated(client, world, services):
    case = make_request(world)
    _prove(client)
    assert 'name="rating"' not in client.get(f"/track/{case.reference}").get_data(as_text=True)
    r = client.post(f"/track/{case.reference}/rate", data={"rating": "5"}, follow_redirects=True)
    assert "This request cannot be rated now." in r.get_data(as_text=True)


@pytest.mark.parametrize("lang,words", [
    ("hi", ["अब तक क्या हुआ", "अनुरोध दर्ज हुआ", "आपके घर पर पूरा हुआ", 'dir="ltr"']),
    ("fa", ["آنچه تاکنون انجام شده", "درخواست ثبت شد", "در محل شما انجام شد", 'dir="rtl"']),
])
def test_tracking_page_in_hindi_and_persian(client, world, served, lang, words):
    client.set_cookie("lang", lang)
    html = client.get(f"/track/{served.reference}").get_data(as_text=True)
    for w in words:
        assert w in html
    assert f'<bdi dir="ltr" class="ref">{served.reference}</bdi>' in html


# ---- a code used up by wrong tries, and a new one without typing the mobile (issue 22, item 8)

USED_UP = "This code was tried too many times and cannot be used any more. Please ask for a new code below."


def test_after_five_wrong_codes_the_right_one_is_said_to_be_used_up(client, world, served):
    client.post("/track/mobile", data={"mobile": "9876543210"})
    code = _otp_from_outbox()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        r = client.post("/track/verify", data={"code": wrong})
        assert r.status_code == 422 and WRONG_CODE in r.get_data(as_text=True)
    r = client.post("/track/verify", data={"code": wrong})  # the fifth: the last try
    assert r.status_code == 422 and USED_UP in r.get_data(as_text=True)
    r = client.post("/track/verify", data={"code": code})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and USED_UP in html and WRONG_CODE not in html
    # a new code is offered on the same page, without typing the mobile again
    assert 'action="/track/verify/new-code"' in html and 'name="mobile"' not in html
    r = client.post("/track/verify/new-code")
    assert r.status_code == 303 and r.headers["Location"].endswith("/track/verify")
    assert SENT in client.get("/track/verify").get_data(as_text=True)
    fresh = _otp_from_outbox()
    r = client.post("/track/verify", data={"code": fresh})
    assert r.status_code == 303 and r.headers["Location"].endswith("/track/mine")


def test_the_used_up_message_is_translated(client, world, served):
    client.set_cookie("lang", "hi")
    client.post("/track/mobile", data={"mobile": "9876543210"})
    for _ in range(5):
        r = client.post("/track/verify", data={"code": "000000" if _otp_from_outbox() != "000000" else "111111"})
    html = r.get_data(as_text=True)
    assert USED_UP not in html and "नया कोड" in html


def test_new_code_without_a_mobile_asked_goes_to_tracking(client):
    r = client.post("/track/verify/new-code")
    assert r.status_code == 303 and r.headers["Location"].endswith("/track")


def test_check_otp_says_why(app, world, served):
    code = citizen.send_otp("9876543210", now=NOW)
    wrong = "000000" if code != "000000" else "111111"
    assert citizen.check_otp("9876543210", wrong, now=NOW) == citizen.OTP_WRONG
    for _ in range(3):
        citizen.check_otp("9876543210", wrong, now=NOW)
    assert citizen.check_otp("9876543210", wrong, now=NOW) == citizen.OTP_USED_UP
    assert citizen.check_otp("9876543210", code, now=NOW) == citizen.OTP_USED_UP
    code = citizen.send_otp("9876543210", now=NOW)
    assert citizen.check_otp("9876543210", code, now=NOW + timedelta(minutes=11)) == citizen.OTP_EXPIRED
    code = citizen.send_otp("9876543210", now=NOW)
    assert citizen.check_otp("9876543210", code, now=NOW) == citizen.OTP_OK
    assert citizen.check_otp("9876543210", code, now=NOW) == citizen.OTP_EXPIRED  # used
