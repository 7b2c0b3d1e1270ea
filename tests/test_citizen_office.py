"""Office side of doorstep requests (seed 001, sections 3 and 4): the Division's queue
and updates, read-only Region/Circle views and the monitoring figures."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.domain.errors import MissingInput, NotAllowed
from app.extensions import db
from app.models import CaseEvent, Notification
from app.services import cases, citizen
from tests.citizen_support import add_services, make_request
from tests.conftest import NOW

OTHER = {"name": "Asha Rao", "mobile": "9123456780", "email": "asha@example.in", "address": "9 Hill Road",
         "pincode": "560001", "locale": "en"}


@pytest.fixture
def services(world):
    return add_services(world)


@pytest.fixture
def sr(world, services):
    return make_request(world)


def _notes(case, template):
    return db.session.scalars(select(Notification).where(Notification.case_id == case.id,
                                                         Notification.template == template)).all()


# ---- queue -----------------------------------------------------------------------------

def test_division_queue_lists_its_requests_newest_first(client, auth, world, services):
    old = make_request(world, now=NOW - timedelta(days=2))
    new = make_request(world, requester=OTHER, now=NOW)
    elsewhere = make_request(world, office=world.d3)
    complaint = cases.raise_case("complaint", office=world.d1, now=NOW, subject="Not a doorstep request",
                                 requester=OTHER)
    auth.login(world.d1_op.login_id)
    html = client.get("/doorstep/", follow_redirects=True).get_data(as_text=True)
    assert html.index(new.reference) < html.index(old.reference)
    assert elsewhere.reference not in html and complaint.reference not in html
    assert "Asha Rao" in html and '<bdi dir="ltr">9123456780</bdi>' in html


@pytest.mark.parametrize("q", ["Asha", "9123456780", "SR-", "560001"])
def test_queue_live_search(client, auth, world, services, q):
    a = make_request(world, requester=OTHER)
    b = make_request(world, requester={**OTHER, "name": "Vikram Das", "mobile": "9988776655",
                                       "pincode": "570001"})
    auth.login(world.d1_op.login_id)
    if q == "SR-":
        q = a.reference
    r = client.get("/cases/", query_string={"view": "doorstep", "q": q}, headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="case-rows"') and "<html" not in html
    assert a.reference in html and b.reference not in html


def test_queue_filters_status_service_dates(client, auth, world, services):
    a = make_request(world, service=services[0], now=NOW - timedelta(days=3))
    b = make_request(world, service=services[1], now=NOW)
    cases.act(b, "start", actor=world.d1_op, now=NOW)
    auth.login(world.d1_op.login_id)

    def refs(**args):
        html = client.get("/doorstep/", query_string=args, follow_redirects=True).get_data(as_text=True)
        return {r for r in (a.reference, b.reference) if r in html}

    assert refs() == {a.reference, b.reference}
    assert refs(status="in_progress") == {b.reference}
    assert refs(status="open") == {a.reference}
    assert refs(service=services[0].id) == {a.reference}
    day = NOW.date()
    assert refs(date_from=(day - timedelta(days=1)).isoformat()) == {b.reference}
    assert refs(date_to=(day - timedelta(days=1)).isoformat()) == {a.reference}
    assert refs(date_from="not-a-date") == {a.reference, b.reference}


def test_queue_keyset_pagination(client, auth, app, world, services):
    app.config["PAGE_SIZE"] = 2
    made = [make_request(world, now=NOW - timedelta(hours=i)) for i in range(5)]
    auth.login(world.d1_op.login_id)
    html = client.get("/cases/?view=doorstep").get_data(as_text=True)
    assert made[0].reference in html and made[1].reference in html and made[2].reference not in html
    assert f"after={made[1].id}" in html
    html = client.get(f"/cases/?view=doorstep&after={made[1].id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert made[2].reference in html and made[3].reference in html and made[0].reference not in html


def test_queue_not_for_post_offices(client, auth, world, services):
    auth.login(world.ho1_op.login_id)
    assert client.get("/doorstep/", follow_redirects=True).status_code == 404
    assert client.get("/cases/?view=doorstep").status_code == 404


def test_region_sees_its_subtree_read_only_and_drills_down(client, auth, world, services):
    d1 = make_request(world)
    d2 = make_request(world, office=world.d2)
    d3 = make_request(world, office=world.d3)  # region R2
    auth.login(world.r1_op.login_id)
    html = client.get("/doorstep/", follow_redirects=True).get_data(as_text=True)
    assert d1.reference in html and d2.reference in html and d3.reference not in html
    assert "Read-only" in html
    html = client.get("/doorstep/", query_string={"division": world.d2.id}, follow_redirects=True).get_data(as_text=True)
    assert d2.reference in html and d1.reference not in html
    # a division outside the subtree in the drill-down is ignored, never widened
    html = client.get("/doorstep/", query_string={"division": world.d3.id}, follow_redirects=True).get_data(as_text=True)
    assert d3.reference not in html


# ---- request page & updates --------------------------------------------------------------

def test_request_page_full_and_partial(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = client.get(f"/doorstep/{sr.reference}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" in html
    assert "Update status with details" in html and 'name="outcome"' in html
    assert "Ravi Kumar" in html and "ravi@example.in" in html and "Bangalore GPO" in html
    r = client.get(f"/doorstep/{sr.reference}", headers={"HX-Request": "true"})
    assert r.get_data(as_text=True).lstrip().startswith('<div id="sr-panel"')


def test_update_in_progress_then_completed_notifies_citizen(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = client.post(f"/doorstep/{sr.reference}/update",
                    data={"outcome": "in_progress", "details": "Postman comes at 11.", "version": sr.version})
    assert r.status_code == 303
    db.session.refresh(sr)
    assert sr.status == "in_progress" and sr.assignee_id == world.d1_op.id
    assert {n.channel for n in _notes(sr, "case_updated")} == {"email", "sms"}
    r = client.post(f"/doorstep/{sr.reference}/update",
                    data={"outcome": "completed", "details": "Served.", "version": sr.version})
    assert r.status_code == 303
    db.session.refresh(sr)
    assert (sr.status, sr.resolution) == ("closed", "completed")
    done = _notes(sr, "service_completed")
    assert {n.channel for n in done} == {"email", "sms"}
    sms = next(n for n in done if n.channel == "sms")
    assert "at your doorstep is completed" in sms.body and sms.recipient == "9876543210"


def test_complete_directly_from_open(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    client.post(f"/doorstep/{sr.reference}/update", data={"outcome": "completed", "version": sr.version})
    db.session.refresh(sr)
    assert sr.status == "closed" and sr.resolution == "completed"


def test_not_served_needs_a_reason_and_sends_it(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = client.post(f"/doorstep/{sr.reference}/update",
                    data={"outcome": "not_served", "remarks": "kept", "version": sr.version})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Please say why the request could not be served." in html and "kept</textarea>" in html
    db.session.refresh(sr)
    assert sr.status == "open" and not _notes(sr, "service_not_served")
    r = client.post(f"/doorstep/{sr.reference}/update",
                    data={"outcome": "not_served", "reason": "Nobody at the address.", "version": sr.version})
    assert r.status_code == 303
    db.session.refresh(sr)
    assert (sr.status, sr.resolution) == ("closed", "not_served")
    rows = _notes(sr, "service_not_served")
    assert {n.channel for n in rows} == {"email", "sms"}
    assert all("Nobody at the address." in n.body for n in rows)


def test_remarks_are_an_internal_note(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    client.post(f"/doorstep/{sr.reference}/update",
                data={"outcome": "in_progress", "details": "On the way.", "remarks": "Beat 4 postman.",
                      "version": sr.version})
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == sr.id).order_by(CaseEvent.id)).all()
    assert [(e.type, e.public) for e in events] == [("created", True), ("note", False), ("start", True)]
    html = client.get(f"/track/{sr.reference}").get_data(as_text=True)
    assert "Beat 4 postman." not in html and "On the way." in html


def test_remarks_only_keeps_the_status(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = client.post(f"/doorstep/{sr.reference}/update", data={"outcome": "remarks", "version": sr.version})
    assert r.status_code == 422 and "Please write the remarks." in r.get_data(as_text=True)
    r = client.post(f"/doorstep/{sr.reference}/update",
                    data={"outcome": "remarks", "remarks": "Called the customer.", "version": sr.version})
    assert r.status_code == 303
    db.session.refresh(sr)
    assert sr.status == "open"


def test_update_htmx_returns_the_panel(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = client.post(f"/doorstep/{sr.reference}/update", data={"outcome": "in_progress", "version": sr.version},
                    headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<div id="sr-panel"')
    assert "In progress" in html


def test_stale_version_is_refused_and_text_kept(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    version = sr.version
    cases.act(sr, "start", actor=world.d1_op2, now=NOW)
    r = client.post(f"/doorstep/{sr.reference}/update",
                    data={"outcome": "completed", "details": "My words", "version": version})
    assert r.status_code == 409 and "My words" in r.get_data(as_text=True)
    db.session.refresh(sr)
    assert sr.status == "in_progress"


def test_closed_request_has_no_update_form(client, auth, world, sr):
    cases.act(sr, "complete", actor=world.d1_op, now=NOW)
    auth.login(world.d1_op.login_id)
    html = client.get(f"/doorstep/{sr.reference}").get_data(as_text=True)
    assert 'name="outcome"' not in html and "This request is closed." in html
    r = client.post(f"/doorstep/{sr.reference}/update", data={"outcome": "remarks", "remarks": "x",
                                                               "version": sr.version})
    assert r.status_code == 409
    assert "This action is not possible for this case in its current state." in r.get_data(as_text=True)


@pytest.mark.parametrize("who", ["r1_op", "c1_sup", "r1_mon"])
def test_region_and_circle_see_read_only_and_cannot_update(client, auth, world, sr, who):
    auth.login(getattr(world, who).login_id)
    html = client.get(f"/doorstep/{sr.reference}").get_data(as_text=True)
    assert "Ravi Kumar" in html and 'name="outcome"' not in html
    assert "only the Division that holds this request can update it" in html
    for outcome in ("in_progress", "completed", "remarks"):
        r = client.post(f"/doorstep/{sr.reference}/update",
                        data={"outcome": outcome, "remarks": "x", "version": sr.version})
        assert r.status_code == 403
    db.session.refresh(sr)
    assert sr.status == "open" and len(sr.events) == 1


def test_region_cannot_update_through_the_engine_either(app, world, sr):
    with pytest.raises(NotAllowed):
        citizen.update_status(sr, world.r1_op, "completed", now=NOW)
    with pytest.raises(NotAllowed):
        cases.act(sr, "note", actor=world.r1_op, now=NOW, text="x")


@pytest.mark.parametrize("who", ["d2_op", "d3_op", "c2_sup", "r3_op", "ho1_op"])
def test_other_offices_get_404(client, auth, world, sr, who):
    auth.login(getattr(world, who).login_id)
    assert client.get(f"/doorstep/{sr.reference}").status_code == 404
    r = client.post(f"/doorstep/{sr.reference}/update", data={"outcome": "completed", "version": sr.version})
    assert r.status_code == 404
    db.session.refresh(sr)
    assert sr.status == "open"


def test_office_pages_need_sign_in(client, world, sr):
    for url in ("/cases/?view=doorstep", f"/doorstep/{sr.reference}", "/doorstep/monitor"):
        r = client.get(url)
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"]


def test_complaint_is_not_shown_as_a_doorstep_request(client, auth, world, services):
    complaint = cases.raise_case("complaint", office=world.d1, now=NOW, subject="x", requester=OTHER)
    auth.login(world.d1_op.login_id)
    assert client.get(f"/doorstep/{complaint.reference}").status_code == 404


def test_update_status_service_checks_input_before_writing(app, world, sr):
    with pytest.raises(MissingInput):
        citizen.update_status(sr, world.d1_op, "not_served", now=NOW, remarks="note first?")
    assert len(sr.events) == 1  # the remark was not written either
    with pytest.raises(MissingInput):
        citizen.update_status(sr, world.d1_op, "bogus", now=NOW)


def test_outcomes_offered_follow_the_state(app, world, sr):
    assert citizen.outcomes_for(world.d1_op, sr) == ["in_progress", "completed", "not_served", "remarks"]
    cases.act(sr, "start", actor=world.d1_op, now=NOW)
    assert citizen.outcomes_for(world.d1_op, sr) == ["completed", "not_served", "remarks"]
    assert citizen.outcomes_for(world.r1_op, sr) == []


# ---- monitoring ----------------------------------------------------------------------------

@pytest.fixture
def spread(world, services):
    """D1: open 0.5 day, in progress 1.5 days, open 3 days, closed 10 days; D2: open 8 days;
    D3 (other region): open 0.5 day."""
    at = datetime.utcnow().replace(microsecond=0)  # the monitoring page reads the real clock
    made = {
        "a": make_request(world, service=services[0], now=at - timedelta(hours=12)),
        "b": make_request(world, service=services[1], now=at - timedelta(hours=36)),
        "c": make_request(world, service=services[1], now=at - timedelta(days=3)),
        "d": make_request(world, service=services[2], now=at - timedelta(days=10)),
        "e": make_request(world, office=world.d2, service=services[0], now=at - timedelta(days=8)),
        "f": make_request(world, office=world.d3, service=services[0], now=at - timedelta(hours=12)),
    }
    cases.act(made["b"], "start", actor=world.d1_op, now=at - timedelta(hours=30))
    cases.act(made["d"], "complete", actor=world.d1_op, now=at - timedelta(days=9))
    made["at"] = at
    return made


def test_monitor_counts_for_a_region(app, world, services, spread):
    m = citizen.monitor(world.r1_op, spread["at"])
    assert [d.id for d in m.divisions] == [world.d1.id, world.d2.id]
    assert m.by_status[world.d1.id] == {"open": 2, "in_progress": 1, "closed": 1}
    assert m.by_status[world.d2.id] == {"open": 1}
    s0, s1, s2 = (c.id for c in services)
    assert m.by_service[world.d1.id] == {s0: 1, s1: 2, s2: 1}
    assert m.ageing[world.d1.id] == {"0-1": 1, "1-2": 1, "2-5": 1}  # the closed one is not ageing
    assert m.ageing[world.d2.id] == {"5+": 1}
    assert m.totals_status == {"open": 3, "in_progress": 1, "closed": 1}
    assert m.totals_ageing == {"0-1": 1, "1-2": 1, "2-5": 1, "5+": 1}


def test_monitor_for_a_circle_spans_its_regions(app, world, services, spread):
    m = citizen.monitor(world.c1_sup, spread["at"])
    assert {d.id for d in m.divisions} == {world.d1.id, world.d2.id, world.d3.id}
    assert m.totals_status["open"] == 4
    assert citizen.monitor(world.c2_sup, spread["at"]).totals_status == {}


def test_age_drill_down_matches_the_buckets(app, world, services, spread):
    def refs(age):
        q = citizen.queue_select(world.r1_op, age=age, now=spread["at"])
        return {c.reference for c in db.session.scalars(q)}

    assert refs("0-1") == {spread["a"].reference}
    assert refs("1-2") == {spread["b"].reference}
    assert refs("2-5") == {spread["c"].reference}
    assert refs("5+") == {spread["e"].reference}


def test_monitor_page(client, auth, world, services, spread):
    auth.login(world.r1_op.login_id)
    r = client.get("/doorstep/monitor")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f'href="/doorstep/?division={world.d1.id}&amp;status=open"' in html
    assert f'href="/doorstep/?division={world.d2.id}&amp;age=5%2B"' in html
    assert "Pension delivery" in html and ">D3<" not in html
    r = client.get("/doorstep/monitor", headers={"HX-Request": "true"})
    assert r.get_data(as_text=True).lstrip().startswith('<div id="monitor-tables"')


@pytest.mark.parametrize("who", ["d1_op", "ho1_op", "so1_user"])
def test_monitor_not_for_divisions_and_post_offices(client, auth, world, services, who):
    auth.login(getattr(world, who).login_id)
    assert client.get("/doorstep/monitor").status_code == 404


@pytest.mark.parametrize("who,queue,monitor", [
    # a Region or Circle reads its Divisions' requests (the view, read-only) and monitors them
    ("d1_op", True, False), ("d1_sup", True, False), ("r1_op", True, True),
    ("c1_sup", True, True), ("ho1_op", False, False),
])
def test_staff_nav_links(client, auth, world, services, who, queue, monitor):
    auth.login(getattr(world, who).login_id)
    html = client.get("/").get_data(as_text=True)
    assert ('href="/cases/?view=doorstep"' in html) is queue
    assert ('href="/doorstep/monitor"' in html) is monitor


def test_htmx_update_error_comes_back_swappable(client, auth, world, sr):
    """htmx 2 does not swap 4xx answers, so an htmx update with an error answers 200 with
    the panel showing the message (a plain form post keeps 422)."""
    auth.login(world.d1_op.login_id)
    r = client.post(f"/doorstep/{sr.reference}/update", data={"outcome": "not_served", "version": sr.version},
                    headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<div id="sr-panel"')
    assert "Please say why the request could not be served." in html


def test_monitor_in_persian_uses_persian_digits(client, auth, world, services, spread):
    auth.login(world.r1_op.login_id)
    client.post("/language", data={"lang": "fa"})
    html = client.get("/doorstep/monitor").get_data(as_text=True)
    assert 'dir="rtl"' in html and "پایش خدمات در محل" in html
    assert f'href="/doorstep/?division={world.d1.id}&amp;status=open">۲</a>' in html


def test_nav_badge_counts_open_requests(client, auth, world, services):
    make_request(world)
    taken = make_request(world)
    cases.act(taken, "start", actor=world.d1_op, now=NOW)
    make_request(world, office=world.d2)
    auth.login(world.d1_op.login_id)
    assert 'hx-get="/cases/counts?view=doorstep"' in client.get("/").get_data(as_text=True)
    assert client.get("/cases/counts?view=doorstep").get_data(as_text=True) == "1"
    auth.logout()
    auth.login(world.d3_op.login_id)
    assert client.get("/cases/counts?view=doorstep").get_data(as_text=True) == ""


def test_request_page_shows_the_timeline_with_internal_remarks_for_the_division(client, auth, world, sr):
    # The panel reads the same plain timeline as the case page (`queues.timeline`).
    auth.login(world.d1_op.login_id)
    client.post(f"/doorstep/{sr.reference}/update",
                data={"outcome": "in_progress", "details": "On the way.", "remarks": "Beat 4 postman.",
                      "version": sr.version})
    html = client.get(f"/doorstep/{sr.reference}").get_data(as_text=True)
    timeline = html[html.index('<ol class="timeline"'):html.index("</ol>", html.index('<ol class="timeline"'))]
    assert timeline.count("<li ") == 3
    assert "On the way." in timeline and "Beat 4 postman." in timeline
    note = timeline[timeline.index("event-note"):timeline.index("Beat 4 postman.")]
    assert "internal" in note and ">Internal<" in note
