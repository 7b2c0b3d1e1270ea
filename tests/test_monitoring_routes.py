"""Dashboard pages: roles, scope and URL tampering, drill-down, full page vs htmx
partial, polling tiles, filters and their errors, empty states, the list behind a
number, localization."""

from __future__ import annotations

from datetime import timezone

import pytest
import time_machine

from app.nav import STAFF_NAV
from tests import monitoring_fixture as mf
from tests.conftest import NOW
from tests.factories import make_user

HX = {"HX-Request": "true"}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW.replace(tzinfo=timezone.utc), tick=False):
        yield


@pytest.fixture
def data(world, frozen):
    return mf.build(world)


def tile(html: str, key: str) -> str:
    marker = f'data-tile="{key}">'
    start = html.index(marker) + len(marker)
    return html[start:html.index("<", start)]


def test_anonymous_is_sent_to_login(client):
    r = client.get("/dashboard/")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]


@pytest.mark.parametrize("who", ["d1_op", "ho1_op", "so1_user"])
def test_roles_without_oversight_are_refused(client, auth, world, who):
    """(A Region, Circle or CEPT employee without them watches doorstep requests only:
    tests/test_citizen_office.py.)"""
    auth.login(getattr(world, who).login_id)
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/dashboard/export.csv").status_code == 403


def test_nav_link_only_for_oversight_roles(client, auth, world):
    item = next(i for i in STAFF_NAV if i.endpoint == "monitoring.dashboard")
    assert item.visible(world.r1_mon) and item.visible(world.d1_sup) and item.visible(world.admin)
    assert not item.visible(world.d1_op)
    auth.login(world.r1_mon.login_id)
    assert b'href="/dashboard/"' in client.get("/").data
    auth.logout()
    auth.login(world.d1_op.login_id)
    assert b'href="/dashboard/"' not in client.get("/").data


@pytest.mark.parametrize("who, scope", [("admin", "cept"), ("c1_sup", "c1"), ("r1_mon", "r1"),
                                        ("d1_sup", "d1")])
def test_tiles_on_page_match_fixture_for_each_scope(client, auth, world, data, who, scope):
    auth.login(getattr(world, who).login_id)
    r = client.get("/dashboard/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for key in ("open", "in_progress", "awaiting_customer", "pending_external", "closed_today", "breached"):
        assert tile(html, key) == str(mf.TILES[scope][key]), key
    avg, _n = mf.RATING[scope]
    assert tile(html, "rating") == (f"{avg:.0f}" if avg is not None else "—")


def test_region_sees_only_its_own_divisions(client, auth, world, data):
    auth.login(world.r1_mon.login_id)
    html = client.get("/dashboard/").get_data(as_text=True)
    table = html[html.index('id="by-office"'):]
    table = table[:table.index("</section>")]
    assert ">D1</a>" in table and ">D2<" in table
    # Codes are short: look for them as whole cell texts (the page also carries a random
    # CSRF token that could contain any two characters).
    for other in ("D3", "R2", "D4", "C2", "R3"):
        assert f">{other}<" not in html
    assert tile(html, "breached") == "0"  # G (breached, in R2) is not counted


@pytest.mark.parametrize("path", ["/dashboard/?office={id}", "/dashboard/tiles?office={id}",
                                  "/dashboard/cases?office={id}&show=open",
                                  "/dashboard/export.csv?office={id}", "/dashboard/export.xlsx?office={id}"])
@pytest.mark.parametrize("target", ["r2", "d3", "c1", "c2", "ext", "so3"])
def test_url_tampering_answers_404(client, auth, world, data, path, target):
    auth.login(world.r1_mon.login_id)
    r = client.get(path.format(id=getattr(world, target).id), headers=HX)
    assert r.status_code == 404
    assert b"data-tile=" not in r.data and b'id="by-office"' not in r.data  # nothing revealed


@pytest.mark.parametrize("office", ["999999", "abc", "-1"])
def test_unknown_office_answers_404(client, auth, world, office):
    auth.login(world.admin.login_id)
    assert client.get(f"/dashboard/?office={office}").status_code == 404


def test_drill_down_one_level_at_a_time(client, auth, world, data):
    auth.login(world.c1_sup.login_id)
    html = client.get("/dashboard/").get_data(as_text=True)
    drill = f'href="/dashboard/?office={world.r1.id}"'
    assert drill in html and 'hx-push-url="true"' in html
    assert f"office={world.d1.id}\"" not in html  # only the next level is offered
    r = client.get(f"/dashboard/?office={world.r1.id}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" in page
    assert tile(page, "awaiting_customer") == "2" and tile(page, "breached") == "0"
    assert f'href="/dashboard/?office={world.d1.id}"' in page
    assert 'aria-current="page" dir="auto">R1<' in page  # breadcrumb
    r = client.get(f"/dashboard/?office={world.d1.id}", headers=HX)
    part = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in part and 'id="dashboard"' in part
    assert "HX-Request" in r.headers["Vary"]
    assert tile(part, "open") == "1" and tile(part, "closed_today") == "1"
    assert f'href="/dashboard/?office={world.ho1.id}"' in part  # HO1 has a Sub Office below


def test_full_page_and_htmx_partial_render_the_same_dashboard(client, auth, world, data):
    auth.login(world.admin.login_id)
    full = client.get("/dashboard/?kind=complaint").get_data(as_text=True)
    part = client.get("/dashboard/?kind=complaint", headers=HX).get_data(as_text=True)
    assert "<html" in full and "<html" not in part
    start = full.index('<div id="dashboard"')
    assert part.strip() in full[start:] or tile(part, "open") == tile(full, "open")
    assert tile(part, "open") == "2"  # A and I


def test_tiles_endpoint_polls_itself(client, auth, world, data):
    auth.login(world.c1_sup.login_id)
    r = client.get(f"/dashboard/tiles?office={world.r1.id}&kind=complaint", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<section id="tiles"')
    assert 'hx-trigger="every 60s"' in html and 'hx-swap="outerHTML"' in html
    assert f"/dashboard/tiles?kind=complaint&amp;office={world.r1.id}" in html
    assert tile(html, "open") == "1" and tile(html, "closed_today") == "0"
    # Without htmx it is a normal page: the dashboard with the same arguments.
    r = client.get(f"/dashboard/tiles?office={world.r1.id}")
    assert r.status_code == 302 and f"office={world.r1.id}" in r.headers["Location"]


def test_each_tile_links_to_its_list(client, auth, world, data):
    auth.login(world.r1_mon.login_id)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'href="/dashboard/cases?show=awaiting_customer"' in html
    r = client.get("/dashboard/cases?show=awaiting_customer")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert data.C.reference in page and data.J.reference in page
    assert data.A.reference not in page and data.B.reference not in page
    r = client.get("/dashboard/cases?show=open", headers=HX)
    assert "<html" not in r.get_data(as_text=True) and data.A.reference in r.get_data(as_text=True)


def test_list_by_age_bucket_and_uncategorized(client, auth, world, data):
    auth.login(world.admin.login_id)
    page = client.get("/dashboard/cases?age=10%2B").get_data(as_text=True)
    assert data.D.reference in page and data.J.reference in page and data.A.reference not in page
    page = client.get("/dashboard/cases?kind=service_request&nocat=1").get_data(as_text=True)
    assert all(getattr(data, c).reference in page for c in "EFGH")
    assert client.get("/dashboard/cases?show=nonsense").status_code == 404
    assert client.get("/dashboard/cases?age=3-4").status_code == 404


def test_filters_narrow_the_view(client, auth, world, data):
    auth.login(world.admin.login_id)
    html = client.get("/dashboard/?date_from=2026-11-22&date_to=2026-11-23").get_data(as_text=True)
    assert tile(html, "open") == "1" and tile(html, "in_progress") == "1"  # H and B
    assert tile(html, "closed_today") == "1"  # E (raised 22 Nov in India)
    html = client.get("/dashboard/?priority=P1").get_data(as_text=True)
    assert tile(html, "open") == "1" and tile(html, "in_progress") == "0"
    html = client.get(f"/dashboard/?category={world.cat.id}").get_data(as_text=True)
    assert tile(html, "open") == "2" and tile(html, "closed_today") == "0"


@pytest.mark.parametrize("query, field, message, n_open", [
    # The valid start date still applies (only H was raised on 23 Nov); the bad end is dropped.
    ("date_from=2026-11-23&date_to=2026-11-01", "date_to", "The end date must not be before the start date.", "1"),
    ("date_from=yesterday", "date_from", "Enter a date like ", "3"),  # + an example date (app.dates)
    ("kind=parcel", "kind", "Choose a kind from the list.", "3"),
    ("priority=P9", "priority", "Choose a priority from the list.", "3"),
    ("category=abc", "category", "Choose a category from the list.", "3"),
])
def test_bad_filters_show_a_message_and_are_ignored(client, auth, world, data, query, field, message, n_open):
    auth.login(world.admin.login_id)
    r = client.get(f"/dashboard/?{query}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f'id="err-{field}" aria-live="polite">{message}' in html
    assert tile(html, "open") == n_open  # the bad filter is left out


def test_empty_states(client, auth, world, frozen):
    auth.login(world.c1_sup.login_id)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "No cases match this view." in html
    assert "No cases to break down." in html
    assert "No cases were raised or closed in this period." in html
    assert tile(html, "open") == "0" and tile(html, "rating") == "—"
    page = client.get("/dashboard/cases?show=open").get_data(as_text=True)
    assert "No cases match." in page
    # A leaf office has nobody below it.
    leaf_sup = make_user(world.so1, ["supervisor"])
    auth.logout()
    auth.login(leaf_sup.login_id)
    assert "There are no offices below this one." in client.get("/dashboard/").get_data(as_text=True)


def test_trend_switch_and_svg(client, auth, world, data):
    auth.login(world.admin.login_id)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "<svg" in html and 'class="line-raised"' in html and "<polyline" in html
    assert 'href="/dashboard/?days=90"' in html
    html = client.get("/dashboard/?days=90").get_data(as_text=True)
    assert html.count('<tr><th scope="row">') >= 90
    assert 'href="/dashboard/?kind' not in html
    # An unknown period falls back to 30 days.
    html = client.get("/dashboard/?days=7").get_data(as_text=True)
    assert "last 30 days" in html


def test_persian_digits_and_jalali_dates(client, auth, world, data):
    world.c1_sup.locale = "fa"
    from app.extensions import db

    db.session.commit()
    auth.login(world.c1_sup.login_id)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'dir="rtl"' in html
    assert tile(html, "open") == "۲" and tile(html, "rating") == "۳"
    assert "آذر ۱۴۰۵" in html  # 23 Nov 2026 is 2 Azar 1405
    assert "۲ آذر ۱۴۰۵" in html


def test_filter_form_works_without_js_and_swaps_with_htmx(client, auth, world, data):
    auth.login(world.admin.login_id)
    html = client.get(f"/dashboard/?office={world.c1.id}&days=90").get_data(as_text=True)
    form = html[html.index('<form method="get" action="/dashboard/"'):]
    form = form[:form.index("</form>")]
    assert 'hx-target="#dashboard"' in form and 'hx-push-url="true"' in form
    # The drilled-down office and the trend period travel with the filters.
    assert f'name="office" value="{world.c1.id}"' in form and 'name="days" value="90"' in form
    # An htmx filter change gets the errors back next to the field.
    r = client.get("/dashboard/?date_from=2026-11-23&date_to=2026-11-01", headers=HX)
    part = r.get_data(as_text=True)
    assert "<html" not in part and "The end date must not be before the start date." in part


def _column_headings(html: str, section_id: str) -> list[str]:
    import re

    part = html[html.index(f'id="{section_id}"'):]
    part = part[part.index("<thead>"):part.index("</thead>")]
    return re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', part)


def test_the_same_ageing_buckets_and_sla_columns_for_every_kind(client, auth, world, data):
    """One bucket definition (`dashboards.AGE_BUCKETS`) and one set of columns, whichever
    kind the dashboard is filtered to — doorstep requests included (seed 001)."""
    from app.domain import kinds

    auth.login(world.admin.login_id)
    every = client.get("/dashboard/").get_data(as_text=True)
    ageing = _column_headings(every, "ageing")
    assert ageing == ["Office", "0–1 days", "1–2 days", "2–5 days", "5–10 days", "More than 10 days"]
    offices = _column_headings(every, "by-office")
    assert "SLA breached (not closed)" in offices
    for kind in kinds.codes():
        html = client.get(f"/dashboard/?kind={kind}").get_data(as_text=True)
        assert _column_headings(html, "ageing") == ageing, kind
        assert _column_headings(html, "by-office") == offices, kind
        assert 'id="by-category"' in html, kind  # filtered to a kind: its categories by office


def test_ageing_by_office_links_each_bucket(client, auth, world, data):
    auth.login(world.c1_sup.login_id)
    html = client.get(f"/dashboard/?office={world.r1.id}").get_data(as_text=True)
    table = html[html.index('id="ageing"'):]
    table = table[:table.index("</section>")]
    assert f'href="/dashboard/cases?age=10%2B&amp;office={world.d2.id}">1</a>' in table
    assert f'href="/dashboard/cases?age=10%2B&amp;office={world.r1.id}">2</a>' in table  # the total
    page = client.get(f"/dashboard/cases?age=10%2B&office={world.d2.id}").get_data(as_text=True)
    assert data.D.reference in page and data.J.reference not in page
