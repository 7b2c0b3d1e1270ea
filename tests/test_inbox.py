"""The one inbox (issue 24, item 2): views defined once (app/services/read_models/views.py), shown
at /cases/?view=<slug> to whom they belong (404 otherwise); each view lists what its
old queue page listed; paging, search and filters; bulk actions; a CSV of every view;
per-view counts that refresh after an in-place action; every old queue address
redirects to its view; the seeds' labels where their users look."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.domain import kinds
from app.domain import workflow as wf
from app.extensions import db
from app.models import Case
from app.services.engine import access, cases
from app.services.front_doors import citizen, complaints, helpdesk, interactions, tickets
from app.services.read_models import views
from tests.conftest import NOW
from tests.factories import make_case, make_user

HX = {"HX-Request": "true"}
REF = re.compile(r"\b[A-Z]{2}-\d{4}-[0-9A-Z]{6,}\b")


def _rows(html: str) -> set[str]:
    """The references in the rows of a view's table."""
    if "<tbody>" not in html:
        return set()
    return set(REF.findall(html[html.index("<tbody>"):html.index("</tbody>")]))


def _refs(q) -> set[str]:
    return {c.reference for c in db.session.scalars(q)}


@pytest.fixture
def desk_user(world):
    return make_user(world.dept, ["helpdesk"])


@pytest.fixture
def spread(world, desk_user):
    """Cases of every kind, open and closed, in and out of each user's reach."""
    s = {}
    s["sr_d1"] = make_case("service_request", world.d1, subject="Doorstep Asha")
    s["sr_d1_closed"] = make_case("service_request", world.d1)
    cases.act(s["sr_d1_closed"], "start", actor=world.d1_op, now=NOW)
    cases.act(s["sr_d1_closed"], "complete", actor=world.d1_op, now=NOW)
    s["sr_d2"] = make_case("service_request", world.d2)
    s["tk_so1"] = make_case("office_ticket", world.d1, actor=world.so1_user, subject="Handheld sync")
    s["tk_so3"] = make_case("office_ticket", world.d3, actor=world.so3_user)
    s["cm_d1"] = make_case("complaint", world.d1, subject="Parcel late")
    s["cm_d1_ext"] = make_case("complaint", world.d1)
    cases.act(s["cm_d1_ext"], "refer_external", actor=world.d1_op, now=NOW, target_office=world.ext,
              text="With Customs.")
    s["cm_d3"] = make_case("complaint", world.d3)
    s["in_dept"] = make_case("interaction", world.dept, actor=world.d1_op, data={"addressed_to": "department"})
    s["hd_team"] = make_case("helpdesk", world.team, actor=desk_user, priority="P2")
    return s


# ---- who sees which view ------------------------------------------------------------

EXPECTED = {
    "d1_op": ["office", "doorstep", "tickets-pending", "complaints", "complaints-pending",
              "complaints-external", "interactions-mine", "cartable"],
    "so1_user": ["office", "tickets-mine", "complaints", "complaints-pending", "complaints-external",
                 "interactions-mine", "cartable"],
    "r1_mon": ["office", "doorstep", "complaints", "complaints-pending", "complaints-external",
               "interactions-mine", "cartable"],
    "team_user": ["office", "complaints", "complaints-pending", "complaints-external", "interactions-mine",
                  "cartable", "helpdesk-queue"],
    "desk_user": ["office", "interactions-mine", "cartable", "helpdesk-log"],
}


def _user(world, desk_user, who):
    return desk_user if who == "desk_user" else getattr(world, who)


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_role_sees_exactly_its_views_and_404_for_the_others(client, auth, world, desk_user, who):
    user = _user(world, desk_user, who)
    assert [v.slug for v in views.visible_to(user)] == EXPECTED[who]
    auth.login(user.login_id)
    page = client.get("/cases/").get_data(as_text=True)
    tabs = page[page.index('id="inbox-views"'):page.index("</nav>", page.index('id="inbox-views"'))]
    assert re.findall(r'href="/cases/\?view=([\w-]+)"', tabs) == EXPECTED[who]
    assert 'href="/cases/?view=office" aria-current="page"' in tabs  # the first view by default
    for v in views.VIEWS:
        r = client.get(f"/cases/?view={v.slug}")
        assert r.status_code == (200 if v.slug in EXPECTED[who] else 404), (who, v.slug)
    assert client.get("/cases/?view=no-such-view").status_code == 404
    assert client.get("/cases/export.csv?view=no-such-view").status_code == 404


def test_views_are_defined_once_with_unique_slugs_and_the_seeds_labels():
    slugs = [v.slug for v in views.VIEWS]
    assert len(slugs) == len(set(slugs))
    labels = {v.slug: v.label._args[0] for v in views.VIEWS}
    assert labels["tickets-pending"] == "Pending tickets"
    assert labels["complaints"] == "Complaint Processing"
    assert labels["complaints-pending"] == "Pending for Resolution"
    assert labels["complaints-external"] == "Pending at External Authorities"
    assert labels["cartable"] == "Cartable" and labels["interactions-mine"] == "My interactions"
    assert labels["doorstep"] == "Doorstep requests" and labels["helpdesk-queue"] == "Team queue"
    assert labels["helpdesk-log"] == "Calls logged" and labels["office"] == "All my office's cases"
    for v in views.VIEWS:  # a kind's view shows the registry's columns for it
        assert v.columns == (kinds.get(v.kind).queue_columns if v.kind else views.OFFICE_COLUMNS)


@pytest.mark.parametrize("lang, words", [
    ("fa", ("کارتابل", "تعاملات من")),
    ("hi", ("लंबित टिकट",)),
])
def test_the_seeds_labels_in_their_language(app, client, auth, world, lang, words):
    auth.login(world.d1_op.login_id)
    client.set_cookie("lang", lang)
    page = client.get("/cases/?view=cartable").get_data(as_text=True)
    for word in words:
        assert word in page, word


# ---- each view lists what its old queue listed --------------------------------------------

def _old_queue(slug, user):
    """The SELECT the old queue page listed by default (before the inbox)."""
    open_ = Case.status != wf.CLOSED
    return {
        "office": lambda: access.office_queue(user).where(open_),
        "doorstep": lambda: citizen.queue_select(user, now=NOW),
        "tickets-pending": lambda: tickets.pending_query(user, tickets.Filters(), NOW),
        "tickets-mine": lambda: tickets.mine_query(user, tickets.Filters(), NOW),
        "complaints-pending": lambda: complaints.scoped(user).where(complaints.queue_condition("pending")),
        "complaints-external": lambda: complaints.scoped(user).where(complaints.queue_condition("external")),
        "complaints": lambda: complaints.scoped(user).where(open_),
        "cartable": lambda: access.handler_queue(user, interactions.KIND, include_closed=False),
        "interactions-mine": lambda: access.raised_by_user(user, interactions.KIND).where(open_),
        "helpdesk-queue": lambda: access.handler_queue(user, helpdesk.KIND, include_closed=False),
        "helpdesk-log": lambda: access.raised_by_office(user, helpdesk.KIND).where(open_),
    }[slug]()


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_view_lists_the_rows_of_its_old_queue(client, auth, world, desk_user, spread, who):
    user = _user(world, desk_user, who)
    auth.login(user.login_id)
    nonempty = 0
    for slug in EXPECTED[who]:
        wanted = _refs(_old_queue(slug, user))
        shown = _rows(client.get(f"/cases/?view={slug}&size=100").get_data(as_text=True))
        assert shown == wanted, (who, slug)
        nonempty += bool(shown)
    assert nonempty


def test_view_rows_show_the_kinds_columns(client, auth, world, spread):
    auth.login(world.d1_op.login_id)
    for slug in ("doorstep", "tickets-pending", "complaints"):
        page = client.get(f"/cases/?view={slug}").get_data(as_text=True)
        head = page[page.index("<thead>"):page.index("</thead>")]
        for col in views.get(slug).columns:
            assert f">{col.label._args[0]}</th>" in head, (slug, col.code)
    page = client.get("/cases/?view=tickets-pending").get_data(as_text=True)
    assert "View and Reply" in page and "Complaint ID" in page  # seed 000's words
    page = client.get("/cases/?view=doorstep").get_data(as_text=True)
    assert '<bdi dir="ltr">9876543210</bdi>' in page  # the requester's mobile, left to right


# ---- paging, search, filters -----------------------------------------------------------------

def test_keyset_paging_of_a_view(client, auth, world):
    made = [make_case("complaint", world.d1, now=NOW + timedelta(minutes=i)) for i in range(13)]
    auth.login(world.d1_op.login_id)
    first = client.get("/cases/?view=complaints&size=10").get_data(as_text=True)
    newest = [c.reference for c in reversed(made)]
    assert _rows(first) == set(newest[:10])
    cursor = re.search(r'after=(\d+)', first).group(1)
    second = client.get(f"/cases/?view=complaints&size=10&after={cursor}", headers=HX).get_data(as_text=True)
    assert "<html" not in second and _rows(second) == set(newest[10:])
    assert "First page" in second and "Older cases" not in second


def test_live_search_answers_the_rows_alone(client, auth, world, spread):
    auth.login(world.d1_op.login_id)
    page = client.get("/cases/?view=complaints").get_data(as_text=True)
    assert 'hx-trigger="input changed delay:300ms from:#q' in page and 'name="view" value="complaints"' in page
    r = client.get("/cases/", query_string={"view": "complaints", "q": "parcel"}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<div id="case-rows"')
    assert _rows(html) == {spread["cm_d1"].reference}
    assert "HX-Request" in r.headers["Vary"] and r.headers["Cache-Control"] == "no-store"


def test_status_kind_and_extra_filters(client, auth, world, spread):
    auth.login(world.d1_op.login_id)

    def rows(**args):
        return _rows(client.get("/cases/", query_string=args).get_data(as_text=True))

    assert rows(view="office", kind="complaint") == {spread["cm_d1"].reference, spread["cm_d1_ext"].reference}
    assert rows(view="office", status="closed") == {spread["sr_d1_closed"].reference}
    assert rows(view="doorstep", status="open") == {spread["sr_d1"].reference}
    assert rows(view="complaints", queue="external") == {spread["cm_d1_ext"].reference}
    assert rows(view="complaints", queue="nonsense") == {spread["cm_d1"].reference, spread["cm_d1_ext"].reference}
    page = client.get("/cases/?view=doorstep").get_data(as_text=True)
    for name in ("service", "date_from", "date_to", "age"):
        assert f'name="{name}"' in page, name
    assert 'name="kind"' not in page  # a view of one kind has no kind filter


def test_a_region_reads_the_doorstep_view_with_a_division_filter(client, auth, world, spread):
    auth.login(world.r1_op.login_id)
    page = client.get("/cases/?view=doorstep").get_data(as_text=True)
    assert "Read-only" in page and _rows(page) == {spread["sr_d1"].reference, spread["sr_d1_closed"].reference,
                                                    spread["sr_d2"].reference}
    page = client.get(f"/cases/?view=doorstep&division={world.d2.id}").get_data(as_text=True)
    assert _rows(page) == {spread["sr_d2"].reference}
    page = client.get(f"/cases/?view=doorstep&division={world.d3.id}").get_data(as_text=True)  # not its own
    assert spread["sr_d1"].reference in _rows(page)


# ---- bulk ----------------------------------------------------------------------------------

def test_bulk_is_offered_only_where_the_view_allows_it(client, auth, world, spread):
    auth.login(world.d1_op.login_id)
    assert 'action="/cases/bulk"' in client.get("/cases/?view=complaints").get_data(as_text=True)
    assert 'action="/cases/bulk"' in client.get("/cases/?view=tickets-pending").get_data(as_text=True)
    for slug in ("office", "doorstep", "cartable"):
        assert 'action="/cases/bulk"' not in client.get(f"/cases/?view={slug}").get_data(as_text=True), slug
        r = client.post("/cases/bulk", data={"view": slug, "action": "close", "selected": ["X"]})
        assert r.status_code == 403, slug


def test_bulk_in_place_refreshes_the_counts(client, auth, world, spread):
    auth.login(world.d1_op.login_id)
    assert client.get("/cases/counts?view=complaints-pending").get_data(as_text=True) == "1"
    r = client.post("/cases/bulk", headers=HX, data={"view": "complaints-pending", "action": "start",
                                                     "selected": [spread["cm_d1"].reference]})
    assert r.status_code == 200 and "refresh-badges" in r.headers["HX-Trigger"]
    assert "1 of 1 cases done" in r.get_data(as_text=True)
    db.session.refresh(spread["cm_d1"])
    assert spread["cm_d1"].status == wf.IN_PROGRESS
    # the list of views reloads on that event, and the numbers it gets have moved
    page = client.get("/cases/?view=complaints").get_data(as_text=True)
    assert 'hx-trigger="load, refresh-badges from:body"' in page
    listing = client.get("/cases/counts?current=complaints").get_data(as_text=True)
    assert re.search(r'view=complaints-pending">Pending for Resolution <span class="badge"[^>]*>1<', listing)


# ---- counts ---------------------------------------------------------------------------------

def test_counts_of_every_view_in_one_statement(app, world, spread):
    from sqlalchemy import event

    views.counts(world.d1_op, NOW)  # the user's office and roles, loaded once per request
    seen = []
    listen = lambda *a, **k: seen.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        counts = views.counts(world.d1_op, NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len(seen) == 1
    # Complaint Processing counts what waits for us: not the one with Customs
    assert counts == {"office": 4, "doorstep": 1, "tickets-pending": 1, "complaints": 1,
                      "complaints-pending": 1, "complaints-external": 1, "interactions-mine": 1, "cartable": 0}


def test_counts_endpoint_serves_badges_and_the_list(client, auth, world, spread):
    assert client.get("/cases/counts").status_code in (302, 401)
    auth.login(world.d1_op.login_id)
    r = client.get("/cases/counts?view=doorstep")
    assert r.get_data(as_text=True) == "1" and r.mimetype == "text/plain"
    assert client.get("/cases/counts?view=cartable").get_data(as_text=True) == ""  # none: no badge number
    assert client.get("/cases/counts?view=helpdesk-log").status_code == 404
    listing = client.get("/cases/counts").get_data(as_text=True)
    assert listing.count('class="badge"') == len(EXPECTED["d1_op"])
    home = client.get("/").get_data(as_text=True)
    for slug in ("doorstep", "tickets-pending", "complaints", "cartable"):  # the menu's badges
        assert f'hx-get="/cases/counts?view={slug}"' in home, slug
    for old in ("/tickets/pending/count", "/interactions/cartable/count", "/doorstep/badge", "/complaints/badge"):
        assert client.get(old).status_code == 404, old


# ---- CSV of every view ---------------------------------------------------------------------

@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_csv_of_every_view_lists_its_rows(client, auth, world, desk_user, spread, who):
    user = _user(world, desk_user, who)
    auth.login(user.login_id)
    for slug in EXPECTED[who]:
        r = client.get(f"/cases/export.csv?view={slug}")
        assert r.status_code == 200 and r.mimetype == "text/csv", slug
        text = r.get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert rows[0][0] == "Reference"
        assert {row[0] for row in rows[1:]} == _refs(_old_queue(slug, user)), (who, slug)


def test_csv_of_a_view_neutralises_formulas(client, auth, world):
    make_case("complaint", world.d1, subject="=HYPERLINK(\"http://evil\")")
    auth.login(world.d1_op.login_id)
    r = client.get("/cases/export.csv?view=complaints")
    assert r.headers["Content-Disposition"] == 'attachment; filename="complaints.csv"'
    text = r.get_data(as_text=True)
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


# ---- the old addresses ----------------------------------------------------------------------

@pytest.mark.parametrize("old, new", [
    ("/tickets/pending", "/cases/?view=tickets-pending"),
    ("/tickets/pending?q=sync&level=any&sort=oldest", "/cases/?view=tickets-pending&q=sync&level=any"),
    ("/tickets/mine?status=closed", "/cases/?view=tickets-mine&status=closed"),
    ("/complaints/", "/cases/?view=complaints"),
    ("/complaints/?queue=pending&q=CM", "/cases/?view=complaints-pending&q=CM"),
    ("/complaints/?queue=external", "/cases/?view=complaints-external"),
    ("/complaints/?queue=escalated", "/cases/?view=complaints&queue=escalated"),
    ("/complaints/?queue=bogus", "/cases/?view=complaints"),
    ("/interactions/cartable", "/cases/?view=cartable"),
    ("/interactions/cartable?show=all", "/cases/?view=cartable&status=all"),
    ("/interactions/mine", "/cases/?view=interactions-mine"),
    ("/doorstep/", "/cases/?view=doorstep"),
    ("/doorstep/?division=7&age=5%2B", "/cases/?view=doorstep&division=7&age=5%2B"),
    ("/doorstep/?status=open&service=3&date_from=2026-11-01", "/cases/?view=doorstep&status=open&service=3&date_from=2026-11-01"),
    ("/helpdesk/queue?show=overdue", "/cases/?view=helpdesk-queue&overdue=1"),
    ("/helpdesk/", "/cases/?view=helpdesk-log"),
    ("/helpdesk/?show=all&q=printer", "/cases/?view=helpdesk-log&q=printer&status=all"),
])
def test_every_old_queue_address_redirects_to_its_view(client, old, new):
    r = client.get(old)
    assert r.status_code == 301
    location = r.headers["Location"]
    path, _, query = location.partition("?")
    want_path, _, want_query = new.partition("?")
    assert path == want_path
    assert sorted(query.split("&")) == sorted(want_query.split("&")), location


def test_an_old_address_keeps_working_signed_in(client, auth, world, spread):
    auth.login(world.d1_op.login_id)
    r = client.get("/complaints/?queue=external", follow_redirects=True)
    assert r.status_code == 200 and _rows(r.get_data(as_text=True)) == {spread["cm_d1_ext"].reference}


def test_the_view_label_is_translated_as_the_page_title(app):
    with app.test_request_context(), force_locale("fa"):
        assert str(views.get("cartable").label) == "کارتابل"
        assert str(views.get("interactions-mine").label) == "تعاملات من"
    assert db.session.scalar(select(Case.id).limit(1)) is None  # nothing was written
