"""Abuse control on the public doorstep pages: per-IP and per-mobile rate limits with a
friendly, translated answer.

TestConfig switches Flask-Limiter off, and the shared test app has already served
requests, so `limiter.init_app` may no longer add its request hooks. The fixture marks
the limiter as registered (the hooks are only needed for app-wide default limits and
headers) and runs the rest of `init_app` — storage and strategy — with limits enabled.
The decorated views then check their own limits, exactly as in production."""

from __future__ import annotations

import pytest

from app.extensions import limiter
from tests.citizen_support import add_services, form_data, make_request

FRIENDLY = "Too many attempts from here in a short time. Please wait a while and try again."


@pytest.fixture
def limits(app):
    app.config["RATELIMIT_ENABLED"] = True
    app.extensions.setdefault("limiter", set()).add(limiter)
    limiter.enabled = True
    limiter.init_app(app)
    limiter.reset()
    yield app
    limiter.reset()
    limiter.enabled = False


@pytest.fixture
def services(world):
    return add_services(world)


def _post(client, services, n, ip="10.0.0.1", **over):
    # confirm_new: the requester has seen their open requests (issue 27) and sends anyway
    over.setdefault("confirm_new", "1")
    return client.post("/request", data=form_data(services[0], submission_key=f"k{n}-" + "x" * 20, **over),
                       environ_base={"REMOTE_ADDR": ip})


def test_limits_are_off_in_tests_by_default(client, services):
    for n in range(12):
        assert _post(client, services, n, mobile=f"98765432{n:02d}").status_code == 303


def test_submit_limited_per_ip(client, limits, services):
    limits.config["CITIZEN_SUBMIT_LIMIT_IP"] = "3 per hour"
    for n in range(3):
        assert _post(client, services, n, mobile=f"98765432{n:02d}").status_code == 303
    r = _post(client, services, 9, mobile="9876543299")
    assert r.status_code == 429 and FRIENDLY in r.get_data(as_text=True)
    # another address is not affected
    assert _post(client, services, 10, ip="10.0.0.2", mobile="9876543298").status_code == 303


def test_submit_limited_per_mobile_across_addresses(client, limits, services):
    limits.config["CITIZEN_SUBMIT_LIMIT_MOBILE"] = "2 per day"
    assert _post(client, services, 1, ip="10.0.0.1").status_code == 303
    assert _post(client, services, 2, ip="10.0.0.2").status_code == 303
    r = _post(client, services, 3, ip="10.0.0.3")
    assert r.status_code == 429
    assert _post(client, services, 4, ip="10.0.0.4", mobile="9123456780").status_code == 303


def test_form_page_itself_is_not_limited(client, limits, services):
    limits.config["CITIZEN_SUBMIT_LIMIT_IP"] = "1 per hour"
    for _ in range(3):
        assert client.get("/request").status_code == 200


@pytest.mark.parametrize("lang,text", [
    ("hi", "यहाँ से कम समय में बहुत अधिक प्रयास हुए हैं। कृपया कुछ देर रुककर फिर कोशिश करें।"),
    ("fa", "در زمان کوتاهی تلاش‌های زیادی از این‌جا انجام شده است. لطفاً کمی صبر کنید و دوباره تلاش کنید."),
])
def test_limit_message_is_translated(client, limits, services, lang, text):
    limits.config["CITIZEN_SUBMIT_LIMIT_IP"] = "1 per hour"
    client.set_cookie("lang", lang)
    _post(client, services, 1)
    r = _post(client, services, 2, mobile="9123456780")
    assert r.status_code == 429
    html = r.get_data(as_text=True)
    assert f'lang="{lang}"' in html and text in html


def test_tracking_by_reference_limited_per_ip(client, limits, world, services):
    limits.config["CITIZEN_TRACK_LIMIT_IP"] = "3 per hour"
    case = make_request(world)
    for _ in range(3):
        assert client.get(f"/track/{case.reference}").status_code == 200
    r = client.get(f"/track/{case.reference}")
    assert r.status_code == 429 and FRIENDLY in r.get_data(as_text=True)


def test_otp_requests_limited_per_mobile(client, limits, world, services):
    make_request(world)
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        r = client.post("/track/mobile", data={"mobile": "9876543210"}, environ_base={"REMOTE_ADDR": ip})
        assert r.status_code == 303
    r = client.post("/track/mobile", data={"mobile": "9876543210"}, environ_base={"REMOTE_ADDR": "10.0.0.4"})
    assert r.status_code == 429


def test_otp_requests_limited_per_ip(client, limits, world, services):
    limits.config["CITIZEN_OTP_LIMIT_IP"] = "2 per hour"
    client.post("/track/mobile", data={"mobile": "9000000001"})
    client.post("/track/mobile", data={"mobile": "9000000002"})
    assert client.post("/track/mobile", data={"mobile": "9000000003"}).status_code == 429


def test_code_guessing_limited(client, limits, world, services):
    limits.config["CITIZEN_VERIFY_LIMIT_IP"] = "3 per hour"
    make_request(world)
    client.post("/track/mobile", data={"mobile": "9876543210"})
    statuses = [client.post("/track/verify", data={"code": "123456"}).status_code for _ in range(4)]
    assert statuses[:3] == [422, 422, 422] and statuses[3] == 429


def test_the_limit_page_says_how_long_to_wait(client, limits, world, services):
    """Issue 22, item 8: the 429 page says how long to wait (and Retry-After)."""
    limits.config["CITIZEN_OTP_LIMIT_IP"] = "2 per hour"
    client.post("/track/mobile", data={"mobile": "9000000001"})
    client.post("/track/mobile", data={"mobile": "9000000002"})
    r = client.post("/track/mobile", data={"mobile": "9000000003"})
    html = r.get_data(as_text=True)
    assert r.status_code == 429 and FRIENDLY in html
    assert "You can try again in about 60 minutes." in html
    assert 3500 < int(r.headers["Retry-After"]) <= 3600


def test_the_wait_is_translated(client, limits, world, services):
    limits.config["CITIZEN_TRACK_LIMIT_IP"] = "1 per hour"
    case = make_request(world)
    client.set_cookie("lang", "fa")
    client.get(f"/track/{case.reference}")
    html = client.get(f"/track/{case.reference}").get_data(as_text=True)
    assert "دقیقه" in html


def test_a_new_code_from_the_code_page_counts_against_the_mobiles_limit(client, limits, world, services):
    make_request(world)
    for ip in ("10.0.0.1", "10.0.0.2"):
        r = client.post("/track/mobile", data={"mobile": "9876543210"}, environ_base={"REMOTE_ADDR": ip})
        assert r.status_code == 303
    assert client.post("/track/verify/new-code", environ_base={"REMOTE_ADDR": "10.0.0.3"}).status_code == 303
    r = client.post("/track/verify/new-code", environ_base={"REMOTE_ADDR": "10.0.0.4"})
    assert r.status_code == 429 and "You can try again in about" in r.get_data(as_text=True)
