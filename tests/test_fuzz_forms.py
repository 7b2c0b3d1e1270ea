"""Property-based tests (hypothesis): arbitrary text into every form of the portal.

Every POST route of `app.url_map` has a scenario below (an unlisted POST route fails
the suite): who posts it (anonymous, or a suitable `world` user), which case it acts
on, a valid base submission, and the fields to fuzz. Each example overrides some of
those fields with generated text — Devanagari and Persian, RTL/LTR marks, zero-width
characters, NUL bytes, HTML/script payloads, SQL fragments, digit look-alikes, strings
up to 1 MB — and checks three properties:

1. never a server error (the test client re-raises exceptions; no 5xx either);
2. nothing echoed back unescaped: the raw script/img payloads never occur in the HTML
   of the answer or of the page it redirects to;
3. never a half-written case: a refused submission (4xx) wrote nothing; an accepted
   one wrote at most one case, complete with a reference and its `created` event, and
   timeline rows only for the case concerned.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.models import Case, CaseEvent
from app.services import cases, tokens
from tests.citizen_support import add_services
from tests.citizen_support import form_data as citizen_form
from tests.complaints_support import form_data as complaint_form
from tests.complaints_support import make_taxonomy
from tests.conftest import NOW
from tests.factories import PASSWORD, make_case
from tests.test_helpdesk_sla import build_desk
from tests.test_interactions_flow import build_org

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
# No shrinking by default: a failure is reported as found (set FUZZ_SHRINK=1 to minimise it).
PHASES = tuple(Phase) if os.environ.get("FUZZ_SHRINK") else (Phase.explicit, Phase.generate)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=PHASES,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
RAW_MARKERS = (SCRIPT, "<img src=x onerror=alert(1)>")

PIECES = [
    "नमस्ते, मेरा पार्सल नहीं आया", "सेवा", "کیف پول من گم شده است", "درخواست", "१२३४५६", "۵۶۰۰۰۱",
    "\u200e", "\u200f", "\u202e", "\u202d", "\u2066", "\u2069",  # LTR/RTL marks and overrides
    "\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad",  # zero-width characters
    "\x00", "\x00\x00", "\x07", "\r\n", "\t",  # NUL and control characters
    SCRIPT, IMG, "<b>bold</b>", "javascript:alert(1)", "{{ 7*7 }}", "{% raw %}", "&amp;", "&#60;",
    "' OR '1'='1", "'; DROP TABLE cases; --", "1 UNION SELECT password FROM users", "%", "_", "\\",
    "²", "¹²", "9" * 25, "-1", "0", "", " ", "😀", "ﷺ", "a" * 300,
]

TEXT = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join),
    st.text(max_size=40),  # any code point except surrogates, NUL included
    st.tuples(st.sampled_from(["x", "अ", "ش", SCRIPT]),
              st.sampled_from([5_001, 100_000, 1_000_000])).map(
        lambda t: (t[0] * (t[1] // len(t[0]) + 1))[: t[1] if t[0] != "अ" else t[1] // 3]),
)


@dataclass
class Scenario:
    """How to post one route: who, where (given the prepared world), base data, fields."""

    user: str | None
    path: Callable  # (world, ctx) -> path
    base: Callable  # (world, ctx) -> dict
    fields: list[str]
    setup: Callable | None = None  # (world, client) -> ctx
    target: Callable | None = None  # (ctx) -> case acted on (its events may grow)
    session: Callable | None = None  # (ctx) -> dict put in the client session
    extra: dict = field(default_factory=dict)


def _key():
    return uuid.uuid4().hex


def _complaint_case(w, ctx=None):
    return make_case("complaint", w.ho1)


def _asked_for_info(w):
    case = make_case("complaint", w.ho1)
    cases.act(case, "request_info", actor=w.ho1_op, now=NOW, text="Send the NEFT receipt number.")
    return case


def _closed_request(w):
    case = make_case("service_request", w.d1, category=w.services[0], subject="Cash withdrawal")
    for action in ("start", "complete"):
        try:
            cases.act(case, action, actor=w.d1_op, now=NOW, text="Done at the door.")
        except Exception:  # noqa: BLE001 - best effort; the form is fuzzed either way
            db.session.rollback()
    return case


def _dept_interaction(w):
    from app.services import interactions

    return interactions.raise_to_department(w.d1_op, w.dept, w.it_subjects[0], "My account is locked.", NOW)


def _helpdesk_case(w):
    from tests.test_helpdesk_sla import log

    return log(w, "technical")


def _ticket(w):
    from app.services import tickets

    return tickets.raise_ticket(w.so1_user, subject="DARPAN app does not sync", description="Sync fails.",
                                category=w.ticket_cats[0], now=NOW)


SCENARIOS: dict[str, Scenario] = {
    "main.set_language": Scenario(None, lambda w, c: "/language", lambda w, c: {"lang": "hi", "next": "/track"},
                                  ["lang", "next"]),
    "auth.login": Scenario(None, lambda w, c: "/auth/login",
                           lambda w, c: {"login_id": w.d2_op.login_id, "password": "wrong"},
                           ["login_id", "password"]),
    "auth.logout": Scenario("d1_op", lambda w, c: "/auth/logout", lambda w, c: {}, ["next"]),
    "auth.change_password": Scenario(
        "d2_op", lambda w, c: "/auth/password",
        lambda w, c: {"current": PASSWORD, "new": "x", "confirm": "y"}, ["current", "new", "confirm"]),
    "cases.act": Scenario(
        "ho1_op", lambda w, c: f"/cases/{c.reference}/act",
        lambda w, c: {"action": "note", "version": str(c.version), "text": "Called the customer."},
        ["action", "version", "text", "office", "user"],
        setup=lambda w, cl: _complaint_case(w), target=lambda c: c),
    "citizen.new_request": Scenario(
        None, lambda w, c: "/request", lambda w, c: citizen_form(w.services[0], submission_key=_key()),
        ["name", "address", "pincode", "email", "mobile", "service", "details", "submission_key"]),
    "citizen.check_field": Scenario(
        None, lambda w, c: "/request/check/" + c, lambda w, c: citizen_form(w.services[0]),
        ["name", "address", "pincode", "email", "mobile", "service", "details"],
        setup=lambda w, cl: "name"),
    "citizen.track_mobile": Scenario(None, lambda w, c: "/track/mobile", lambda w, c: {"mobile": "9876543210"},
                                     ["mobile"]),
    "citizen.track_verify": Scenario(None, lambda w, c: "/track/verify", lambda w, c: {"code": "123456"},
                                     ["code"], session=lambda c: {"sr_otp_mobile": "9876543210"}),
    "citizen.rate": Scenario(
        None, lambda w, c: f"/track/{c.reference}/rate", lambda w, c: {"rating": "5", "comment": "Good."},
        ["rating", "comment"], setup=lambda w, cl: _closed_request(w), target=lambda c: c,
        session=lambda c: {"sr_verified": {"mobile": c.requester_mobile, "until": "2999-01-01T00:00:00"}}),
    "citizen.office_update": Scenario(
        "d1_op", lambda w, c: f"/doorstep/{c.reference}/update",
        lambda w, c: {"outcome": "remarks", "remarks": "Tried to call.", "version": str(c.version)},
        ["outcome", "details", "reason", "remarks", "version"],
        setup=lambda w, cl: make_case("service_request", w.d1, category=w.services[0]), target=lambda c: c),
    "complaint_public.register": Scenario(
        None, lambda w, c: "/complaint/new", lambda w, c: {**complaint_form(w.tax), "submission_key": _key()},
        ["name", "mobile", "email", "address", "pincode", "category", "service", "type", "article",
         "description", "related", "submission_key"]),
    "complaints.register": Scenario(
        "ho1_op", lambda w, c: "/complaints/new",
        lambda w, c: {**complaint_form(w.tax), "submission_key": _key()},
        ["name", "mobile", "email", "address", "pincode", "category", "service", "type", "article",
         "description", "related", "submission_key"]),
    "complaints.bulk": Scenario(
        "ho1_op", lambda w, c: "/complaints/bulk",
        lambda w, c: {"refs": c.reference, "action": "note", "text": "Checked.", "queue": "pending"},
        ["refs", "action", "office", "text", "queue"], setup=lambda w, cl: _complaint_case(w),
        target=lambda c: c),
    "complaints.review": Scenario(
        "c1_sup", lambda w, c: f"/complaints/reviews/{c.reference}",
        lambda w, c: {"verdict": "poor", "remark": "The reply did not answer the question."},
        ["verdict", "remark"], setup=lambda w, cl: _complaint_case(w), target=lambda c: c),
    "respond.respond": Scenario(
        None, lambda w, c: f"/respond/{tokens.make_case_token(c, 'respond')}",
        lambda w, c: {"action": "provide_info", "version": str(c.version), "text": "The receipt number is 42."},
        ["action", "version", "text", "rating"], setup=lambda w, cl: _asked_for_info(w), target=lambda c: c),
    "tickets.new": Scenario(
        "so1_user", lambda w, c: "/tickets/new",
        lambda w, c: {"subject": "Handheld does not sync", "category": str(w.ticket_cats[0].id),
                      "description": "Sync fails every morning.", "submission_key": _key()},
        ["subject", "category", "description", "confirm_scope", "submission_key"]),
    "tickets.bulk": Scenario(
        "d1_op", lambda w, c: "/tickets/bulk",
        lambda w, c: {"selected": f"{c.reference}@{c.version}", "action": "assign", "text": "Please look."},
        ["selected", "action", "text"], setup=lambda w, cl: _ticket(w), target=lambda c: c),
    "interactions.new": Scenario(
        "d1_op", lambda w, c: "/interactions/new",
        lambda w, c: {"addressed_to": "department", "department": str(w.dept.id),
                      "subject": str(w.it_subjects[0].id), "description": "Printer on floor 2 is jammed.",
                      "submission_key": _key()},
        ["addressed_to", "department", "subject", "recipient_q", "recipient", "request_type", "priority",
         "description", "submission_key"]),
    "interactions.act": Scenario(
        "dept_user", lambda w, c: f"/interactions/{c.reference}/act",
        lambda w, c: {"action": "propose_resolution", "version": str(c.version), "text": "Reset it for you."},
        ["action", "version", "text", "user", "rating", "comment"],
        setup=lambda w, cl: _dept_interaction(w), target=lambda c: c),
    "helpdesk.new": Scenario(
        "operator", lambda w, c: "/helpdesk/new",
        lambda w, c: {"channel": "phone", "caller_name": "Ravi", "caller_mobile": "9876543210",
                      "category": str(w.cats["functional"].id), "classification": "problem",
                      "priority": "P2", "subject": "Cannot create estimate",
                      "description": "Save button greyed out", "submission_key": _key()},
        ["channel", "caller_name", "caller_mobile", "caller_email", "category", "classification",
         "priority", "subject", "description", "diagnosis", "submission_key"]),
    "helpdesk.act": Scenario(
        "team_user", lambda w, c: f"/helpdesk/{c.reference}/act",
        lambda w, c: {"action": "reply", "version": str(c.version), "text": "Cleared the cache."},
        ["action", "version", "text", "user"], setup=lambda w, cl: _helpdesk_case(w), target=lambda c: c),
}


def _post_endpoints(app):
    return {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods}


# POST routes fuzzed elsewhere, or not yet, each with its reason. The JSON API is fuzzed
# from its OpenAPI document by schemathesis (tests/test_api_fuzz.py). The admin area's
# forms have no hypothesis scenarios yet (they arrived on the same day): listed here so
# that the gap is visible and any other new POST route still fails this test.
NOT_HERE = {
    "api.": "schemathesis, tests/test_api_fuzz.py",
    "admin.": "TODO: hypothesis scenarios for the admin forms",
}


def test_every_post_route_has_a_fuzz_scenario(app):
    unlisted = {e for e in _post_endpoints(app) - set(SCENARIOS)
                if not any(e.startswith(prefix) for prefix in NOT_HERE)}
    assert unlisted == set(), "add a scenario in tests/test_fuzz_forms.py"
    assert set(SCENARIOS) - _post_endpoints(app) == set(), "stale scenarios"


@pytest.fixture
def everything(world):
    """The world with every front door's reference data."""
    from app.models import Category

    add_services(world)
    world.tax = make_taxonomy()
    build_desk(world)
    build_org(world)
    world.ticket_cats = []
    for i, code in enumerate(("sync", "device")):
        c = Category(kind="office_ticket", code=code, name_en=code.title(), name_hi=code, name_fa=code,
                     sort_order=i)
        db.session.add(c)
        world.ticket_cats.append(c)
    db.session.commit()
    return world


def _max(col):
    return db.session.scalar(select(func.coalesce(func.max(col), 0)))


def _check_response(resp):
    assert resp.status_code < 500, resp.status_code
    if resp.mimetype == "text/html":
        html = resp.get_data(as_text=True)
        for marker in RAW_MARKERS:
            assert marker not in html, f"unescaped {marker!r} in the page"


def _check_nothing_half_written(status, case_before, event_before, target):
    db.session.expire_all()
    new_cases = db.session.scalars(select(Case).where(Case.id > case_before)).all()
    new_events = db.session.scalars(select(CaseEvent).where(CaseEvent.id > event_before)).all()
    if status >= 400:
        assert new_cases == [] and new_events == [], "a refused submission wrote something"
    assert len(new_cases) <= 1
    for case in new_cases:
        assert re.fullmatch(r"[A-Z0-9-]{6,24}", case.reference or ""), case.reference
        assert any(e.case_id == case.id and e.type == "created" for e in new_events), "case without its event"
    allowed = {c.id for c in new_cases} | ({target.id} if target is not None else set())
    assert {e.case_id for e in new_events} <= allowed, "timeline rows written for another case"


@pytest.mark.parametrize("endpoint", sorted(SCENARIOS))
def test_fuzz_form(app, everything, endpoint):
    sc = SCENARIOS[endpoint]
    w = everything
    ctx = sc.setup(w, None) if sc.setup else None

    @FUZZ
    @given(overrides=st.fixed_dictionaries({}, optional={f: TEXT for f in sc.fields}), htmx=st.booleans())
    @example(overrides={f: f"\u202eسلام {SCRIPT} नमस्ते {IMG}\u200b" for f in sc.fields}, htmx=False)
    @example(overrides={f: f"{SCRIPT}\u200f" for f in sc.fields}, htmx=True)
    @example(overrides={f: "Ravi\x00 Kumar" for f in sc.fields}, htmx=False)
    @example(overrides={f: "¹²" for f in sc.fields}, htmx=False)
    @example(overrides={f: "9" * 40 for f in sc.fields}, htmx=False)
    @example(overrides={f: "' OR 1=1; --" for f in sc.fields}, htmx=False)
    def run(overrides, htmx):
        db.session.rollback()  # a fresh transaction per example
        client = app.test_client()
        if sc.user:
            r = client.post("/auth/login", data={"login_id": getattr(w, sc.user).login_id,
                                                 "password": PASSWORD})
            assert r.status_code in (302, 303), f"{sc.user} could not sign in"
        if sc.session:
            with client.session_transaction() as s:
                s.update(sc.session(ctx))
        target = sc.target(ctx) if sc.target else None
        if target is not None:
            db.session.refresh(target)
        data = {**sc.base(w, target if target is not None else ctx), **overrides}
        case_before, event_before = _max(Case.id), _max(CaseEvent.id)
        headers = {"HX-Request": "true"} if htmx else {}
        resp = client.post(sc.path(w, target if target is not None else ctx), data=data, headers=headers)
        _check_response(resp)
        _check_nothing_half_written(resp.status_code, case_before, event_before, target)
        location = resp.headers.get("Location") or resp.headers.get("HX-Redirect")
        if location and location.startswith("/"):
            _check_response(client.get(location))

    run()


# ---- the fixes the fuzzing led to, pinned down -----------------------------------------

CREATES = ["citizen.new_request", "complaint_public.register", "complaints.register", "tickets.new",
           "interactions.new", "helpdesk.new"]
ACTS = ["cases.act", "citizen.office_update", "respond.respond", "interactions.act", "helpdesk.act"]


def _signed_in_client(app, w, sc):
    client = app.test_client()
    if sc.user:
        client.post("/auth/login", data={"login_id": getattr(w, sc.user).login_id, "password": PASSWORD})
    return client


@pytest.mark.parametrize("endpoint", CREATES + ACTS)
def test_base_submissions_are_accepted(app, everything, endpoint):
    """The fuzzed forms start from a submission that works: the properties are tested
    on accepted writes too, not only on refusals."""
    sc, w = SCENARIOS[endpoint], everything
    ctx = sc.setup(w, None) if sc.setup else None
    client = _signed_in_client(app, w, sc)
    cases_before, events_before = _max(Case.id), _max(CaseEvent.id)
    r = client.post(sc.path(w, ctx), data=sc.base(w, ctx))
    assert r.status_code == 303, (endpoint, r.status_code)
    new_cases = db.session.scalars(select(Case).where(Case.id > cases_before)).all()
    assert len(new_cases) == (1 if endpoint in CREATES else 0)
    assert _max(CaseEvent.id) > events_before


@pytest.mark.parametrize("method, path, data", [
    ("post", "/request", {"name": "Ravi\x00Kumar"}),
    ("post", "/complaint/new", {"description": "\x00" * 20}),
    ("get", "/track?reference=AB%00CD", None),
    ("get", "/track/SR%00X", None),
])
def test_nul_bytes_are_refused_with_a_clear_message(app, client, everything, method, path, data):
    """PostgreSQL cannot store NUL in text: refused before any view runs, with a
    translated explanation instead of a server error."""
    r = getattr(client, method)(path, data=data)
    assert r.status_code == 400
    assert b"NUL character" in r.data
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_nul_message_is_translated(app, client, everything):
    client.set_cookie("locale", "hi")
    r = client.post("/request", data={"name": "a\x00"}, headers={"Accept-Language": "hi"})
    assert r.status_code == 400 and b"NUL character" not in r.data


@pytest.mark.parametrize("value, expected", [
    ("12", 12), (" 7 ", 7), ("0", 0), ("²", None), ("¹²", None), ("१२", None), ("-1", None),
    ("9" * 40, None), (str(2**31), None), ("", None), (None, None), ("12a", None),
])
def test_as_id_takes_only_plain_digits_that_fit(value, expected):
    from app.inputs import as_id

    assert as_id(value) == expected


def test_superscript_or_huge_ids_are_refused_not_a_crash(app, client, everything):
    sc, w = SCENARIOS["cases.act"], everything
    case = sc.setup(w, None)
    client = _signed_in_client(app, w, sc)
    for bad in ("¹²", "9" * 40, str(2**40)):
        r = client.post(f"/cases/{case.reference}/act",
                        data={"action": "transfer", "version": bad, "office": bad, "user": bad, "text": "x"})
        assert r.status_code in (403, 409, 422)


def test_a_foreign_over_long_submission_key_is_ignored(app, client, everything):
    data = {**complaint_form(everything.tax), "submission_key": "k" * 500}
    assert client.post("/complaint/new", data=data).status_code == 303
    case = db.session.scalar(select(Case))
    assert case.submission_key is None and case.reference
