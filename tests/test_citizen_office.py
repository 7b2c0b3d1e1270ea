"""Office side of doorstep requests (seed 001, sections 3 and 4): the Division's queue,
its updates on the one case page, read-only Region/Circle views and the monitoring
figures (the dashboard filtered to doorstep requests)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.domain.errors import MissingInput, NotAllowed
from app.extensions import db
from app.models import CaseEvent, Notification
from app.services.engine import access, cases
from app.services.front_doors import citizen
from app.services.read_models import dashboards
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


# ---- the request on the one case page (/cases/<ref>, actions to /cases/<ref>/act) --------

def _act(client, sr, headers=None, **data):
    data.setdefault("version", sr.version)
    return client.post(f"/cases/{sr.reference}/act", data=data, headers=headers or {})


def test_request_page_full_and_partial(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = client.get(f"/cases/{sr.reference}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" in html
    # the doorstep panel (CaseKind.panel): contact, address, pincode with its post office
    assert 'class="kind-panel doorstep-panel"' in html
    assert "Ravi Kumar" in html and "ravi@example.in" in html and "Bangalore GPO" in html
    assert "only the Division that holds this request can update it" not in html  # it may
    # the seed's status words on the buttons
    for label in ("In progress", "Completed", "Could not be served"):
        assert f"<summary>{label}</summary>" in html
    assert 'name="remarks"' in html  # internal remarks with the update
    r = client.get(f"/cases/{sr.reference}", headers={"HX-Request": "true"})
    assert r.get_data(as_text=True).lstrip().startswith('<div id="case-panel"')


def test_request_page_names_the_post_office_the_directory_names_now(client, auth, world, sr):
    """The panel's post office is read with the case (`Case.pincode_office`), so it is
    never older than the directory: renamed, it is shown renamed; removed, it is not shown
    (the pincode still is); after an in-place action (an expired case) it is shown again."""
    from app.models import PincodeEntry

    auth.login(world.d1_op.login_id)
    entry = db.session.scalar(select(PincodeEntry).where(PincodeEntry.pincode == "560001"))
    entry.office_name = "Bengaluru GPO"
    db.session.commit()
    html = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert "Bengaluru GPO" in html and "Bangalore GPO" not in html
    r = _act(client, sr, headers={"HX-Request": "true"}, action="note", text="Called the citizen")
    assert r.status_code == 200 and "Bengaluru GPO" in r.get_data(as_text=True)
    assert db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == sr.id, CaseEvent.type == "note",
                                                     CaseEvent.text == "Called the citizen")) is not None
    db.session.delete(entry)
    db.session.commit()
    html = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert "Bengaluru GPO" not in html and "560001" in html


def test_old_address_redirects_to_the_case_page(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = client.get(f"/doorstep/{sr.reference}?from=sms")
    assert r.status_code == 301 and r.headers["Location"].endswith(f"/cases/{sr.reference}?from=sms")
    assert client.post(f"/doorstep/{sr.reference}/update", data={"outcome": "completed"}).status_code in (404, 405)


def test_update_in_progress_then_completed_notifies_citizen(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = _act(client, sr, action="start", text="Postman comes at 11.")
    assert r.status_code == 303
    db.session.refresh(sr)
    assert sr.status == "in_progress" and sr.assignee_id == world.d1_op.id
    assert {n.channel for n in _notes(sr, "case_updated")} == {"email", "sms"}
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    # the same words on the button, the flash and the timeline (issue 24)
    assert "Done: In progress." in html and "<strong>In progress</strong>" in html
    assert "Take up" not in html
    r = _act(client, sr, action="complete", text="Served.")
    assert r.status_code == 303
    db.session.refresh(sr)
    assert (sr.status, sr.resolution) == ("closed", "completed")
    done = _notes(sr, "service_completed")
    assert {n.channel for n in done} == {"email", "sms"}
    sms = next(n for n in done if n.channel == "sms")
    assert "at your doorstep is completed" in sms.body and sms.recipient == "9876543210"


def test_complete_directly_from_open(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    _act(client, sr, action="complete")
    db.session.refresh(sr)
    assert sr.status == "closed" and sr.resolution == "completed"


def test_not_served_needs_a_reason_and_sends_it(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = _act(client, sr, action="not_served", remarks="kept")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="err-text-not_served" aria-live="polite">Please write your text.' in html
    assert "kept</textarea>" in html
    db.session.refresh(sr)
    assert sr.status == "open" and not _notes(sr, "service_not_served") and len(sr.events) == 1
    r = _act(client, sr, action="not_served", text="Nobody at the address.")
    assert r.status_code == 303
    db.session.refresh(sr)
    assert (sr.status, sr.resolution) == ("closed", "not_served")
    rows = _notes(sr, "service_not_served")
    assert {n.channel for n in rows} == {"email", "sms"}
    assert all("Nobody at the address." in n.body for n in rows)


def test_remarks_are_an_internal_note(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    _act(client, sr, action="start", text="On the way.", remarks="Beat 4 postman.")
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == sr.id).order_by(CaseEvent.id)).all()
    assert [(e.type, e.public) for e in events] == [("created", True), ("note", False), ("start", True)]
    html = client.get(f"/track/{sr.reference}").get_data(as_text=True)
    assert "Beat 4 postman." not in html and "On the way." in html


def test_remarks_only_keeps_the_status(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = _act(client, sr, action="note")
    assert r.status_code == 422 and "Please write your text." in r.get_data(as_text=True)
    r = _act(client, sr, action="note", text="Called the customer.")
    assert r.status_code == 303
    db.session.refresh(sr)
    assert sr.status == "open"


def test_update_htmx_returns_the_panel(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = _act(client, sr, action="start", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<div id="case-panel"')
    assert "In progress" in html and "Done: In progress." in html


def test_stale_version_is_refused_and_text_kept(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    version = sr.version
    cases.act(sr, "start", actor=world.d1_op2, now=NOW)
    r = _act(client, sr, action="complete", text="My words", version=version)
    assert r.status_code == 409 and "My words" in r.get_data(as_text=True)
    db.session.refresh(sr)
    assert sr.status == "in_progress"


def test_closed_request_has_no_update_form(client, auth, world, sr):
    cases.act(sr, "complete", actor=world.d1_op, now=NOW)
    auth.login(world.d1_op.login_id)
    html = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert 'action" value="complete"' not in html and "This request is closed." in html
    r = _act(client, sr, action="note", text="x")
    assert r.status_code == 409
    assert "This action is not possible for this case in its current state." in r.get_data(as_text=True)


@pytest.mark.parametrize("who", ["r1_op", "c1_sup", "r1_mon"])
def test_region_and_circle_see_read_only_and_cannot_update(client, auth, world, sr, who):
    auth.login(getattr(world, who).login_id)
    html = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert "Ravi Kumar" in html and 'name="action"' not in html
    assert "only the Division that holds this request can update it" in html
    for action in ("start", "complete", "note"):
        r = _act(client, sr, action=action, text="x", remarks="x")
        assert r.status_code == 403
    db.session.refresh(sr)
    assert sr.status == "open" and len(sr.events) == 1


def test_region_cannot_update_through_the_engine_either(app, world, sr):
    with pytest.raises(NotAllowed):
        cases.act(sr, "complete", actor=world.r1_op, now=NOW)
    with pytest.raises(NotAllowed):
        cases.act(sr, "note", actor=world.r1_op, now=NOW, text="x")


@pytest.mark.parametrize("who", ["d2_op", "d3_op", "c2_sup", "r3_op", "ho1_op"])
def test_other_offices_get_404(client, auth, world, sr, who):
    auth.login(getattr(world, who).login_id)
    assert client.get(f"/doorstep/{sr.reference}").status_code == 404
    assert client.get(f"/cases/{sr.reference}").status_code == 404
    r = _act(client, sr, action="complete")
    assert r.status_code == 404
    db.session.refresh(sr)
    assert sr.status == "open"


def test_office_pages_need_sign_in(client, world, sr):
    for url in ("/cases/?view=doorstep", f"/doorstep/{sr.reference}", f"/cases/{sr.reference}"):
        r = client.get(url)
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"]


def test_complaint_is_not_shown_as_a_doorstep_request(client, auth, world, services):
    complaint = cases.raise_case("complaint", office=world.d1, now=NOW, subject="x", requester=OTHER)
    auth.login(world.d1_op.login_id)
    assert client.get(f"/doorstep/{complaint.reference}").status_code == 404


def test_remarks_and_the_update_are_checked_before_writing(app, world, sr):
    from app.services.engine import case_actions

    with pytest.raises(MissingInput):
        case_actions.perform(sr, "not_served", world.d1_op, NOW, version=sr.version,
                             inputs={"remarks": "note first?"})
    assert len(sr.events) == 1  # the remark was not written either


def test_actions_offered_follow_the_state(app, world, sr):
    from app.services.engine import case_actions

    def offered(user):
        return [t.action for t in case_actions.available(user, sr)]

    assert offered(world.d1_op) == ["start", "note", "complete", "not_served"]
    cases.act(sr, "start", actor=world.d1_op, now=NOW)
    assert offered(world.d1_op) == ["note", "complete", "not_served"]
    assert offered(world.r1_op) == []


# ---- monitoring: the dashboard filtered to doorstep requests ---------------------------------
# Seed 001 §4: "Circles and Regions can access the dashboard for monitoring purpose". The
# doorstep monitoring is /dashboard/?kind=service_request: the same buckets and columns as
# every other kind, plus the counts by type of service per office.

@pytest.fixture
def spread(world, services):
    """D1: open 0.5 day, in progress 1.5 days, open 3 days, closed 10 days; D2: open 8 days;
    D3 (other region): open 0.5 day."""
    at = datetime.utcnow().replace(microsecond=0)  # the dashboard reads the real clock
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


SR_ONLY = dashboards.Filters(kind="service_request")


def _view(user, scope, at):
    return dashboards.build_view(user, scope, SR_ONLY, at)


def _rows(view):
    return {r.office.name: r for r in view.offices}


def test_filtered_dashboard_shows_what_the_doorstep_monitor_showed_for_a_region(app, world, services, spread):
    """The figures the old monitor (`citizen.monitor`) showed for this data, per Division:
    by status, by type of service and by age — its "5+" is now "5-10" + "10+"."""
    view = _view(world.r1_op, world.r1, spread["at"])
    rows = _rows(view)
    assert set(rows) == {"D1", "D2"}
    d1, d2 = rows["D1"].counts, rows["D2"].counts
    assert (d1["open"], d1["in_progress"], d1["closed"], d1["total"]) == (2, 1, 1, 4)
    assert (d2["open"], d2["in_progress"], d2["closed"], d2["total"]) == (1, 0, 0, 1)
    assert (view.tiles["open"], view.tiles["in_progress"], view.tiles["closed"]) == (3, 1, 1)
    s0, s1, s2 = (c.id for c in services)
    table = view.by_category
    assert [c.id for c in table.columns] == [c.id for c in citizen.service_types()]  # every service
    by_office = {r.office.name: counts for r, counts in table.rows}
    assert by_office["D1"] == {s0: 1, s1: 2, s2: 1} and by_office["D2"] == {s0: 1}
    assert table.totals == {s0: 2, s1: 2, s2: 1}
    assert dict(rows["D1"].ageing) == {"0-1": 1, "1-2": 1, "2-5": 1, "5-10": 0, "10+": 0}  # closed: not ageing
    assert dict(rows["D2"].ageing) == {"0-1": 0, "1-2": 0, "2-5": 0, "5-10": 1, "10+": 0}  # old "5+"
    assert dict(view.ageing) == {"0-1": 1, "1-2": 1, "2-5": 1, "5-10": 1, "10+": 0}


def test_filtered_dashboard_for_a_circle_spans_its_regions(app, world, services, spread):
    view = _view(world.c1_sup, world.c1, spread["at"])
    assert set(_rows(view)) == {"R1", "R2"} and view.tiles["open"] == 4
    r2 = _view(world.c1_sup, world.r2, spread["at"])  # one level further down: its Division
    assert set(_rows(r2)) == {"D3"} and _rows(r2)["D3"].counts["open"] == 1
    assert _view(world.c2_sup, world.c2, spread["at"]).tiles["total"] == 0


def test_age_drill_down_of_the_doorstep_queue_uses_the_dashboards_buckets(app, world, services, spread):
    def refs(age):
        q = citizen.queue_select(world.r1_op, age=age, now=spread["at"])
        return {c.reference for c in db.session.scalars(q)}

    assert refs("0-1") == {spread["a"].reference}
    assert refs("1-2") == {spread["b"].reference}
    assert refs("2-5") == {spread["c"].reference}
    assert refs("5-10") == {spread["e"].reference}
    assert not hasattr(citizen, "AGE_BUCKETS")  # one definition of the buckets: the dashboard's


def test_filtered_dashboard_page(client, auth, world, services, spread):
    auth.login(world.r1_op.login_id)
    r = client.get("/dashboard/?kind=service_request")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    s0 = services[0].id
    by_category = html[html.index('id="by-category"'):]
    by_category = by_category[:by_category.index("</section>")]
    assert "Pension delivery" in by_category and ">D1<" in by_category and ">D3<" not in html
    assert (f'href="/dashboard/cases?kind=service_request&amp;office={world.d1.id}&amp;category={s0}">1</a>'
            in by_category)
    assert f'href="/dashboard/cases?show=open&amp;kind=service_request&amp;office={world.d1.id}">2</a>' in html
    assert f'href="/dashboard/cases?age=5-10&amp;kind=service_request&amp;office={world.d2.id}">1</a>' in html
    # The list behind a number: D1's requests of the first service
    page = client.get(f"/dashboard/cases?kind=service_request&office={world.d1.id}&category={s0}")
    assert spread["a"].reference in page.get_data(as_text=True)
    assert spread["e"].reference not in page.get_data(as_text=True)
    r = client.get("/dashboard/?kind=service_request", headers={"HX-Request": "true"})
    part = r.get_data(as_text=True)
    assert part.lstrip().startswith('<div id="dashboard"') and 'id="by-category"' in part
    # Without the kind filter there is no category table (the kinds' categories differ)
    assert 'id="by-category"' not in client.get("/dashboard/").get_data(as_text=True)


def test_the_export_of_the_filtered_dashboard_equals_the_screen(client, auth, world, services, spread):
    import csv
    import io

    auth.login(world.r1_op.login_id)
    body = client.get("/dashboard/export.csv?kind=service_request").data.decode("utf-8-sig")
    sections, current = {}, None
    for row in csv.reader(io.StringIO(body)):
        if not row:
            current = None
        elif current is None:
            current = sections.setdefault(row[0], [])
        else:
            current.append(row)
    names = [c.label() for c in citizen.service_types()]
    assert sections["By category and office"][0] == ["Office", *names]
    assert sections["By category and office"][1:] == [["D1", "1", "2", "1"], ["D2", "1", "0", "0"],
                                                      ["Total", "2", "2", "1"]]
    assert sections["Ageing of cases not closed"] == [
        ["Office", "0–1 days", "1–2 days", "2–5 days", "5–10 days", "More than 10 days"],
        ["D1", "1", "1", "1", "0", "0"], ["D2", "0", "0", "0", "1", "0"], ["Total", "1", "1", "1", "1", "0"]]
    summary = dict((row[0], row[1]) for row in sections["Summary"][1:])
    assert summary["Kind"] == "Doorstep service request" and summary["Open"] == "3"


@pytest.mark.parametrize("query, location", [
    ("", "/dashboard/?kind=service_request"),
    ("?division={d1}&service={s0}", "/dashboard/?office={d1}&category={s0}&kind=service_request"),
    ("?date_from=2026-11-01&bogus=1", "/dashboard/?date_from=2026-11-01&kind=service_request"),
])
def test_the_old_monitor_address_redirects_to_the_filtered_dashboard(client, world, services, query, location):
    ids = {"d1": world.d1.id, "s0": services[0].id}
    r = client.get("/doorstep/monitor" + query.format(**ids))
    assert r.status_code == 301 and r.headers["Location"] == location.format(**ids)
    r = client.get(r.headers["Location"])  # signed out: the dashboard asks to sign in
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]


def test_a_region_operator_without_oversight_roles_watches_doorstep_requests_only(client, auth, world, services,
                                                                                 spread):
    """r2_op could open the doorstep monitor (any Region/Circle/CEPT employee): the
    dashboard lets them in, filtered to the kinds the registry lets their level watch."""
    assert access.dashboard_kinds(world.r2_op) == ("service_request",)
    assert access.dashboard_kinds(world.r1_mon) is None  # an oversight role: every kind
    auth.login(world.r2_op.login_id)
    r = client.get("/doorstep/monitor", follow_redirects=True)
    assert r.status_code == 200 and r.request.full_path == "/dashboard/?kind=service_request"
    for query in ("", "?kind=complaint", "?_method=POST&_scheme=javascript&bogus=1"):
        r = client.get("/dashboard/" + query)
        assert r.status_code == 302 and r.headers["Location"] == "/dashboard/?kind=service_request"
    r = client.get(f"/dashboard/?office={world.d3.id}&days=90")
    assert r.headers["Location"] == f"/dashboard/?office={world.d3.id}&days=90&kind=service_request"
    html = client.get("/dashboard/?kind=service_request").get_data(as_text=True)
    form = html[html.index('id="field-kind"'):]
    assert "All kinds" not in form[:form.index("</select>")]
    assert "/dashboard/league" not in html  # the league compares every kind: oversight roles only
    assert client.get("/dashboard/league").status_code == 403
    complaint = cases.raise_case("complaint", office=world.d3, now=spread["at"], subject="x", requester=OTHER)
    listed = client.get("/dashboard/cases?show=open&kind=complaint").get_data(as_text=True)
    assert spread["f"].reference in listed and complaint.reference not in listed
    s = client.get("/dashboard/export.csv?kind=complaint").data.decode("utf-8-sig")
    assert "Doorstep service request" in s


@pytest.mark.parametrize("who", ["d1_op", "ho1_op", "so1_user"])
def test_doorstep_monitoring_not_for_division_and_post_office_operators(client, auth, world, services, who):
    auth.login(getattr(world, who).login_id)
    assert client.get("/doorstep/monitor", follow_redirects=True).status_code == 403


@pytest.mark.parametrize("who,queue,dashboard", [
    # a Region or Circle reads its Divisions' requests (the view, read-only) and monitors them
    ("d1_op", True, False), ("d1_sup", True, True), ("r1_op", True, True), ("r2_op", True, True),
    ("c1_sup", True, True), ("ho1_op", False, False),
])
def test_staff_nav_links(client, auth, world, services, who, queue, dashboard):
    auth.login(getattr(world, who).login_id)
    html = client.get("/").get_data(as_text=True)
    assert ('href="/cases/?view=doorstep"' in html) is queue
    assert ('href="/dashboard/"' in html) is dashboard
    assert "/doorstep/monitor" not in html  # one monitoring page: the dashboard


def test_htmx_update_error_comes_back_swappable(client, auth, world, sr):
    """htmx swaps 422 answers (the htmx-config of base.html): the panel with the message
    beside the reason, with its real status."""
    auth.login(world.d1_op.login_id)
    r = _act(client, sr, action="not_served", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and html.lstrip().startswith('<div id="case-panel"')
    assert 'id="err-text-not_served" aria-live="polite">Please write your text.' in html


def test_filtered_dashboard_in_persian_uses_persian_digits(client, auth, world, services, spread):
    auth.login(world.r1_op.login_id)
    client.post("/language", data={"lang": "fa"})
    html = client.get("/dashboard/?kind=service_request").get_data(as_text=True)
    assert 'dir="rtl"' in html
    assert f'href="/dashboard/cases?show=open&amp;kind=service_request&amp;office={world.d1.id}">۲</a>' in html


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
    _act(client, sr, action="start", text="On the way.", remarks="Beat 4 postman.")
    html = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    timeline = html[html.index('<ol class="timeline"'):html.index("</ol>", html.index('<ol class="timeline"'))]
    assert timeline.count("<li ") == 3
    assert "On the way." in timeline and "Beat 4 postman." in timeline
    note = timeline[timeline.index("event-note"):timeline.index("Beat 4 postman.")]
    assert "internal" in note and ">Internal<" in note
