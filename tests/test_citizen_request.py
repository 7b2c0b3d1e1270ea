"""Raising a doorstep service request from the public form (seed 001, sections 2 and 2d)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain.references import is_well_formed
from app.extensions import db
from app.models import Case, CaseEvent, Notification
from app.services.engine import cases
from app.services.front_doors import citizen
from tests.citizen_support import add_services, form_data
from tests.conftest import NOW


@pytest.fixture
def services(world):
    return add_services(world)


def _cases():
    return db.session.scalars(select(Case).order_by(Case.id)).all()


def test_form_page_lists_configured_services(client, services):
    r = client.get("/request")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for field in ("name", "address", "pincode", "email", "mobile", "service"):
        assert f'name="{field}"' in html
    assert "Cash withdrawal at the doorstep" in html and "Pension delivery" in html
    assert 'name="submission_key"' in html
    # inline validation on blur and the pincode lookup are wired, the form works without them
    assert 'hx-post="/request/check/mobile"' in html
    assert 'hx-get="/request/pincode"' in html
    assert 'method="post" action="/request"' in html


def test_landing_page_has_the_public_cards(client, services):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/request"' in html and "Request a doorstep service" in html
    assert 'href="/track"' in html and "Track your request" in html


def test_submit_routes_to_division_of_pincode_and_confirms(client, world, services):
    r = client.post("/request", data=form_data(services[1], pincode="570001"))
    assert r.status_code == 303
    [case] = _cases()
    assert case.kind == "service_request"
    assert case.current_office_id == world.d3.id  # 570001 is served by D3
    assert case.status == "open"
    assert case.category_id == services[1].id
    assert (case.requester_name, case.requester_mobile, case.pincode) == ("Ravi Kumar", "9876543210", "570001")
    assert case.data["locale"] == "en"
    assert r.headers["Location"].endswith(f"/request/{case.reference}/registered")
    page = client.get(r.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'<bdi dir="ltr" class="ref">{case.reference}</bdi>' in html
    assert "data-print" in html and "js/print.js" in html and "Mysuru HO" in html
    assert "98XXXXXX10" in html and "r***@example.in" in html


def test_submit_other_pincode_goes_to_other_division(client, world, services):
    client.post("/request", data=form_data(services[0], pincode="560001"))
    assert _cases()[0].current_office_id == world.d1.id


def test_confirmation_of_another_browser_goes_to_the_masked_tracking(client, app, services):
    client.post("/request", data=form_data(services[0]))
    case = _cases()[0]
    other = app.test_client()
    r = other.get(f"/request/{case.reference}/registered")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/track/{case.reference}")


def test_outbox_has_email_and_sms_with_reference(client, services):
    client.post("/request", data=form_data(services[0]))
    case = _cases()[0]
    rows = db.session.scalars(select(Notification).where(Notification.case_id == case.id,
                                                         Notification.template == "case_created")).all()
    by_channel = {n.channel: n for n in rows}
    assert set(by_channel) == {"email", "sms"}
    assert by_channel["email"].recipient == "ravi@example.in"
    assert by_channel["sms"].recipient == "9876543210"
    for n in rows:
        assert case.reference in n.body and n.status == "pending"
        assert f"/track/{case.reference}" in n.body


def test_notifications_follow_the_citizens_language(client, services):
    client.set_cookie("lang", "hi")
    client.post("/request", data=form_data(services[0]))
    case = _cases()[0]
    assert case.data["locale"] == "hi"
    sms = db.session.scalar(select(Notification).where(Notification.channel == "sms"))
    assert sms.locale == "hi"


def test_duplicate_submission_returns_the_same_case(client, services):
    data = form_data(services[0])
    r1 = client.post("/request", data=data)
    r2 = client.post("/request", data=data)
    assert r1.headers["Location"] == r2.headers["Location"]
    assert db.session.scalar(select(func.count(Case.id))) == 1
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.template == "case_created")) == 2  # one e-mail + one SMS, not four


def test_each_form_gets_a_fresh_submission_key(client, services):
    import re

    keys = set()
    for _ in range(2):
        html = client.get("/request").get_data(as_text=True)
        keys.add(re.search(r'name="submission_key" type="hidden" value="([^"]+)"', html).group(1))
    assert len(keys) == 2


def test_references_are_unique_and_well_formed(app, world, services):
    app.config["CITIZEN_REPEAT_HOURS"] = 0  # the same request again raises a new case
    refs = set()
    for i in range(30):
        case = citizen.submit(name="A B", address="x", pincode="560001", email="a@b.in",
                              mobile="9876543210", service=services[0], now=NOW,
                              submission_key=f"k{i}")
        refs.add(case.reference)
        assert is_well_formed(case.reference) and case.reference.startswith("SR-2611-")
    assert len(refs) == 30


def test_submit_refuses_pincode_without_division(app, world, services):
    with pytest.raises(citizen.NotServed):
        citizen.submit(name="A", address="x", pincode="999999", email="a@b.in", mobile="9876543210",
                       service=services[0], now=NOW)


def test_created_event_is_public_and_by_the_requester(client, services):
    client.post("/request", data=form_data(services[0]))
    ev = db.session.scalar(select(CaseEvent))
    assert (ev.type, ev.public, ev.actor_kind, ev.actor_id) == ("created", True, "requester", None)


# ---- validation --------------------------------------------------------------------

BAD = {
    "name": ("", {"en": "Please enter your name.", "hi": "कृपया अपना नाम लिखें।",
                  "fa": "لطفاً نام خود را وارد کنید."}),
    "pincode": ("12345", {"en": "A pincode has exactly 6 digits.", "hi": "पिनकोड में ठीक 6 अंक होते हैं।",
                          "fa": "کد پستی دقیقاً ۶ رقم دارد."}),
    "mobile": ("12345", {"en": "Please enter a valid 10-digit Indian mobile number.",
                         "hi": "कृपया 10 अंकों का मान्य भारतीय मोबाइल नंबर लिखें।",
                         "fa": "لطفاً یک شماره موبایل معتبر ۱۰ رقمی هند وارد کنید."}),
    "email": ("ravi.example.in", {"en": "Please enter a valid e-mail address, like name@example.com.",
                                  "hi": "कृपया मान्य ई-मेल पता लिखें, जैसे name@example.com।",
                                  "fa": "لطفاً یک نشانی ایمیل معتبر وارد کنید، مانند name@example.com."}),
}


@pytest.mark.parametrize("lang", ["en", "hi", "fa"])
@pytest.mark.parametrize("field", sorted(BAD))
def test_validation_messages_in_three_languages(client, services, lang, field):
    value, messages = BAD[field]
    client.set_cookie("lang", lang)
    r = client.post("/request", data=form_data(services[0], **{field: value}))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert messages[lang] in html
    assert f'id="err-{field}"' in html
    assert _cases() == []
    if lang == "fa":
        assert 'dir="rtl"' in html


@pytest.mark.parametrize("lang,message", [
    ("en", "We do not know this pincode. Please check it."),
    ("hi", "हम इस पिनकोड को नहीं पहचानते। कृपया इसे जाँचें।"),
    ("fa", "این کد پستی را نمی‌شناسیم. لطفاً آن را بررسی کنید."),
])
def test_unknown_pincode_in_three_languages(client, services, lang, message):
    client.set_cookie("lang", lang)
    r = client.post("/request", data=form_data(services[0], pincode="999999"))
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)


def test_nothing_typed_is_lost_on_error(client, services):
    data = form_data(services[1], mobile="123", address="12, Temple Street")
    html = client.post("/request", data=data).get_data(as_text=True)
    assert 'value="Ravi Kumar"' in html
    assert "12, Temple Street</textarea>" in html
    assert 'value="ravi@example.in"' in html and 'value="123"' in html
    assert f'<option selected value="{services[1].id}">' in html
    assert f'value="{data["submission_key"]}"' in html  # same key: a later success is still deduplicated
    assert "Served by Bangalore GPO, D1" in html  # the pincode's office shown without JS too


def test_mobile_and_pincode_accept_other_digits_and_formats(client, services):
    r = client.post("/request", data=form_data(services[0], mobile="+91 98765 43210", pincode="۵۶۰۰۰۱"))
    assert r.status_code == 303
    case = _cases()[0]
    assert case.requester_mobile == "9876543210" and case.pincode == "560001"


def test_landline_is_not_a_mobile(client, services):
    r = client.post("/request", data=form_data(services[0], mobile="080 2222 3333"))
    assert r.status_code == 422


def test_unknown_service_is_refused(client, world, services):
    data = {**form_data(services[0]), "service": str(world.cat.id)}  # a complaint category
    r = client.post("/request", data=data)
    assert r.status_code == 422
    assert "Please choose the service you need." in r.get_data(as_text=True)


# ---- htmx inline checks --------------------------------------------------------------

def test_check_field_returns_only_that_fields_block(client, services):
    r = client.post("/request/check/mobile", data={"mobile": "12345"}, headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.lstrip().startswith('<div id="block-mobile"')
    assert "Please enter a valid 10-digit Indian mobile number." in html
    assert "<html" not in html and 'id="block-name"' not in html


def test_check_field_valid_value_has_no_error(client, services):
    html = client.post("/request/check/email", data={"email": "a@b.in"}).get_data(as_text=True)
    assert 'id="err-email" aria-live="polite"></p>' in html and 'aria-invalid' not in html


def test_check_field_in_hindi(client, services):
    client.set_cookie("lang", "hi")
    html = client.post("/request/check/name", data={"name": ""}).get_data(as_text=True)
    assert "कृपया अपना नाम लिखें।" in html


def test_check_unknown_field_is_404(client, services):
    assert client.post("/request/check/submission_key", data={}).status_code == 404
    assert client.post("/request/check/nope", data={}).status_code == 404


def test_check_pincode_block_carries_the_lookup(client, services):
    html = client.post("/request/check/pincode", data={"pincode": "570001"}).get_data(as_text=True)
    assert 'id="pincode-info"' in html and "Served by Mysuru HO, D3" in html


@pytest.mark.parametrize("typed,expected", [
    ("560001", "Served by Bangalore GPO, D1"),
    ("56000", ""),
    ("999999", "We do not know this pincode. Please check it."),
])
def test_pincode_lookup(client, services, typed, expected):
    html = client.get(f"/request/pincode?pincode={typed}").get_data(as_text=True).strip()
    assert (expected in html) if expected else html == ""


def test_csrf_is_required_on_the_public_form(app, services):
    app.config["WTF_CSRF_ENABLED"] = True
    c = app.test_client()
    assert c.post("/request", data=form_data(services[0])).status_code == 400
    import re

    html = c.get("/request").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = c.post("/request", data={**form_data(services[0]), "csrf_token": token})
    assert r.status_code == 303


@pytest.mark.parametrize("key", ["", "short", "x" * 200])
def test_odd_submission_keys_are_replaced(client, services, key):
    r = client.post("/request", data=form_data(services[0], submission_key=key))
    assert r.status_code == 303
    case = _cases()[0]
    assert 16 <= len(case.submission_key) <= 64 and case.submission_key != key


# ---- the error summary reflects the current errors only (issue 22, item 10) ------------

SUMMARY = "Please correct the fields marked below."


def _summary(html: str) -> str:
    """The error summary block of a page or an htmx answer ("" when absent)."""
    start = html.find('<div id="form-summary"')
    assert start >= 0, html
    return html[start:html.index("</div>", html.index(">", start) + 1)]


def test_summary_lists_only_the_fields_still_wrong_without_js(client, services):
    html = client.post("/request", data=form_data(services[0], name="", mobile="12345")).get_data(as_text=True)
    box = _summary(html)
    assert SUMMARY in box and 'href="#name"' in box and 'href="#mobile"' in box
    # the name corrected, the mobile still wrong: only the mobile is listed
    html = client.post("/request", data=form_data(services[0], mobile="12345")).get_data(as_text=True)
    box = _summary(html)
    assert SUMMARY in box and 'href="#mobile"' in box and 'href="#name"' not in box
    assert 'value="Ravi Kumar"' in html  # nothing typed is lost
    # everything corrected: the request is raised
    assert client.post("/request", data=form_data(services[0])).status_code == 303


def test_inline_check_refreshes_the_summary_shown_after_a_submit(client, services):
    html = client.post("/request", data=form_data(services[0], name="", mobile="12345")).get_data(as_text=True)
    assert 'name="error_summary" value="1"' in html  # posted with htmx's checks (the form's values)
    hx = {"HX-Request": "true"}
    # the name corrected (the mobile still wrong): the summary, out of band, lists the mobile only
    r = client.post("/request/check/name", headers=hx,
                    data=form_data(services[0], mobile="12345", error_summary="1"))
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="block-name"') and 'id="err-name" aria-live="polite"></p>' in html
    box = _summary(html)
    assert 'hx-swap-oob="true"' in box and 'href="#mobile"' in box and 'href="#name"' not in box
    # the mobile corrected too: the summary goes away
    r = client.post("/request/check/mobile", headers=hx, data=form_data(services[0], error_summary="1"))
    box = _summary(r.get_data(as_text=True))
    assert 'hx-swap-oob="true"' in box and SUMMARY not in box and "alert" not in box


def test_inline_check_before_any_submit_sends_no_summary(client, services):
    html = client.post("/request/check/name", data={"name": ""},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "form-summary" not in html and SUMMARY not in html


# ---- Back, then submit again: the open request is shown, not a second one (issue 22, item 6)

ALREADY = "You have already asked for this service"


def test_back_and_submit_again_without_js_shows_the_open_request(client, services):
    import re

    first = client.post("/request", data=form_data(services[0]))
    assert first.status_code == 303
    [case] = _cases()
    # Back: the page is no-store, so the browser fetches a new hidden key and refills the fields
    html = client.get("/request").get_data(as_text=True)
    new_key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', html).group(1)
    again = client.post("/request", data=form_data(services[0], submission_key=new_key))
    assert again.status_code == 303
    assert len(_cases()) == 1  # no second request, no second acknowledgement
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.template == "case_created")) == 2
    assert again.headers["Location"].endswith(f"/request/{case.reference}/registered?again=1")
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert ALREADY in page and f'<bdi dir="ltr" class="ref">{case.reference}</bdi>' in page
    assert "we have not registered a new one" in page
    # the plain confirmation (the first submit, a double click) does not say so
    assert ALREADY not in client.get(first.headers["Location"]).get_data(as_text=True)
    same_key = client.post("/request", data=form_data(services[0]))
    assert same_key.headers["Location"] == first.headers["Location"]


def test_the_repeat_message_is_translated(client, services):
    client.set_cookie("lang", "fa")
    client.post("/request", data=form_data(services[0]))
    r = client.post("/request", data=form_data(services[0], submission_key="another-" + "y" * 20),
                    follow_redirects=True)
    html = r.get_data(as_text=True)
    assert ALREADY not in html and "قبلاً" in html


@pytest.mark.parametrize("change", [
    {"mobile": "9123456780"},  # someone else
    {"pincode": "570001"},  # another address
    "service",  # another service
])
def test_a_different_request_is_raised(client, services, change):
    client.post("/request", data=form_data(services[0]))
    data = form_data(services[1] if change == "service" else services[0], submission_key="second-" + "z" * 20,
                     **({} if change == "service" else change))
    r = client.post("/request", data=data)
    if change != "service":
        # the same service from the same e-mail: the open request is shown first (issue 27),
        # and sending again raises the new one
        assert r.status_code == 200 and "Already open for this service" in r.get_data(as_text=True)
        assert len(_cases()) == 1
        r = client.post("/request", data={**data, "confirm_new": "1"})
    assert r.status_code == 303 and "again=1" not in r.headers["Location"]
    assert len(_cases()) == 2


def test_repeat_window_and_open_requests_only(app, world, services):
    kw = dict(name="Ravi Kumar", address="1 MG Road", pincode="560001", email="r@example.in",
              mobile="9876543210", service=services[0])
    first = citizen.submit_request(submission_key="k-first", now=NOW, **kw)
    assert not first.repeat
    # within the window (24 h by default): the same case, said to be a repeat
    same = citizen.submit_request(submission_key="k-second", now=NOW + timedelta(hours=23), **kw)
    assert same.repeat and same.case.id == first.case.id
    # the same key again is a replay, not a repeat
    replay = citizen.submit_request(submission_key="k-first", now=NOW + timedelta(hours=1), **kw)
    assert replay.case.id == first.case.id and not replay.repeat
    # after the window: a new request
    later = citizen.submit_request(submission_key="k-third", now=NOW + timedelta(hours=25), **kw)
    assert not later.repeat and later.case.id != first.case.id
    # a closed request does not count
    cases.act(later.case, "start", actor=world.d1_op, now=NOW + timedelta(hours=26))
    cases.act(later.case, "complete", actor=world.d1_op, now=NOW + timedelta(hours=27))
    after_close = citizen.submit_request(submission_key="k-fourth", now=NOW + timedelta(hours=28), **kw)
    assert not after_close.repeat and after_close.case.id not in (first.case.id, later.case.id)


def test_repeat_window_is_configurable(app, world, services):
    kw = dict(name="Ravi Kumar", address="1 MG Road", pincode="560001", email="r@example.in",
              mobile="9876543210", service=services[0])
    first = citizen.submit_request(submission_key="k-1", now=NOW, **kw).case
    app.config["CITIZEN_REPEAT_HOURS"] = 2
    assert citizen.submit_request(submission_key="k-2", now=NOW + timedelta(hours=1), **kw).case.id == first.id
    assert citizen.submit_request(submission_key="k-3", now=NOW + timedelta(hours=3), **kw).case.id != first.id
    app.config["CITIZEN_REPEAT_HOURS"] = 0  # off
    assert not citizen.submit_request(submission_key="k-4", now=NOW + timedelta(hours=3), **kw).repeat


def test_the_api_answers_the_open_request_with_200(client, services):
    body = {"name": "Ravi Kumar", "address": "1 MG Road", "pincode": "560001", "email": "ravi@example.in",
            "mobile": "9876543210", "service": services[0].id, "submission_key": "app-key-0123456789abcdef"}
    r1 = client.post("/api/v1/requests", json=body)
    r2 = client.post("/api/v1/requests", json={**body, "submission_key": "app-key-fedcba9876543210"})
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json["reference"] == r2.json["reference"] and len(_cases()) == 1
