"""Issue 27: the league table, the heat table, SLA compliance by week, their counters,
the page (sorting, periods, access, no JavaScript, RTL) and the weekly summary.

The expected figures are worked out by hand in tests/league_fixture.py from the rules
(business days, nearest-rank percentiles, the index's formula), not from the SQL."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from unittest import mock

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from app.extensions import db
from app.jobs import run_once
from app.models import BacklogSnapshot, CaseDisposalTally, CaseFlowTally, Notification, WeeklySummary
from app.services.engine import flow
from app.services.read_models import charts, league, summary, tallies
from tests import league_fixture as lf
from tests.conftest import NOW
from tests.factories import make_case


@pytest.fixture
def built(world):
    c = lf.build(world)
    db.session.commit()
    return c


def _rows(lg):
    return {r.office.code: r for r in lg.rows}


# ---- figures ----------------------------------------------------------------------------

def test_league_figures_by_the_rules(world, built):
    lg = league.league(world.c1, "week", NOW)
    r1, r2 = _rows(lg)["R1"], _rows(lg)["R2"]
    assert (r1.now.raised, r1.now.repeats, r1.now.closed, r1.now.closed_in_sla) == (2, 0, 3, 2)
    assert r1.now.compliance == 66.7
    assert (r1.now.median, r1.now.p90) == (3, 3)
    assert r1.now.histogram == {2: 1, 3: 2}
    assert (r1.now.rejections, r1.now.rating, r1.now.pending, r1.now.active) == (1, 5.0, 0, 0)
    assert r1.now.index == 77.8
    assert (r2.now.raised, r2.now.repeats, r2.now.closed, r2.now.compliance) == (3, 1, 1, 100.0)
    assert (r2.now.median, r2.now.p90, r2.now.rating, r2.now.pending, r2.now.active) == (0, 0, 1.0, 1, 2)
    assert r2.now.index == 69.2
    # the previous week: S3 only, closed within SLA on the day after it was raised
    assert (r1.before.closed, r1.before.compliance, r1.before.median) == (1, 100.0, 0)
    assert r1.change("median") == 3 and r1.change("compliance") == -33.3
    assert r2.before.closed == 0 and r2.change("compliance") is None
    # worst first by default: the lower index first
    assert [r.office.code for r in lg.rows] == ["R2", "R1"]
    # the scope's own row is the whole subtree
    t = lg.total.now
    assert (t.raised, t.closed, t.closed_in_sla, t.repeats, t.rejections) == (5, 4, 3, 1, 1)
    assert t.histogram == {0: 1, 2: 1, 3: 2} and t.median == 2 and t.p90 == 3


def test_time_with_us_excludes_time_waiting_on_the_customer(world, built):
    k1 = built.K1
    own = (k1.closed_at - k1.created_at).total_seconds() - k1.customer_seconds - k1.external_seconds
    assert k1.customer_seconds > 0
    row = db.session.execute(select(func.sum(CaseFlowTally.own_seconds), func.sum(CaseFlowTally.closed))
                             .where(CaseFlowTally.office_id == world.d2.id)).one()
    assert row == (int(own), 1)


def test_time_with_external_authorities(world):
    from app.services.engine import cases

    k = make_case("complaint", world.d2, actor=world.d2_op, now=NOW - timedelta(days=6), category=world.cat)
    cases.act(k, "start", actor=world.d2_op, now=NOW - timedelta(days=6) + timedelta(hours=1))
    cases.act(k, "refer_external", actor=world.d2_op, now=NOW - timedelta(days=5), text="Customs.",
              target_office=world.ext)
    cases.act(k, "recall_external", actor=world.d2_op, now=NOW - timedelta(days=3), text="Back.")
    cases.act(k, "close", actor=world.r1_op, now=NOW - timedelta(days=2), text="Done.")
    db.session.commit()
    r1 = _rows(league.league(world.c1, "week", NOW))["R1"]
    assert k.external_seconds == 2 * 86400
    assert r1.now.external_days == 2.0
    assert r1.now.own_days == round(((k.closed_at - k.created_at).total_seconds() - 2 * 86400
                                     - k.customer_seconds) / 86400, 1)


def test_percentile_is_nearest_rank():
    assert league.percentile({}, 50) is None
    assert league.percentile({1: 1}, 90) == 1
    assert league.percentile({1: 1, 2: 1}, 50) == 1  # rank ceil(1) = 1
    assert league.percentile({1: 5, 9: 5}, 50) == 1 and league.percentile({1: 5, 9: 5}, 90) == 9
    assert league.percentile({0: 9, 30: 1}, 90) == 0 and league.percentile({0: 8, 30: 2}, 90) == 30


def test_index_leaves_out_parts_without_data():
    f = league.Figures()
    assert f.index is None
    f = league.Figures(closed=4, closed_in_sla=1)  # compliance 25, accepted 100
    assert f.index == round((25 * 40 + 100 * 10) / 50, 1)
    f = league.Figures(active=4, pending=4)  # backlog only: 0
    assert f.index == 0.0


def test_repeats_same_mobile_same_service_within_30_days(world, built):
    assert built.K2.repeat_of_id == built.K1.id
    assert built.K1.repeat_of_id is None
    other = make_case("complaint", world.d2, actor=world.d2_op, now=NOW + timedelta(days=25), category=world.cat,
                      requester={"name": "Ravi", "mobile": "9812345678"})
    assert other.repeat_of_id == built.K2.id  # K2 was raised within the 30 days before
    later = make_case("complaint", world.d2, actor=world.d2_op, now=NOW + timedelta(days=80), category=world.cat,
                      requester={"name": "Ravi", "mobile": "9812345678"})
    assert later.repeat_of_id is None  # nothing in the 30 days before


def test_counters_agree_with_a_recount_and_rebuild(world, built):
    assert flow.check() == []
    kept = db.session.execute(select(CaseFlowTally.office_id, CaseFlowTally.day, CaseFlowTally.kind,
                                     CaseFlowTally.category_id, CaseFlowTally.raised, CaseFlowTally.closed)
                              .order_by(CaseFlowTally.office_id, CaseFlowTally.day, CaseFlowTally.kind,
                                        CaseFlowTally.category_id)).all()
    db.session.execute(delete(CaseDisposalTally))
    db.session.commit()
    assert any(d[0][0] == "disposal" for d in flow.check())
    tallies.rebuild()
    assert flow.check() == []
    again = db.session.execute(select(CaseFlowTally.office_id, CaseFlowTally.day, CaseFlowTally.kind,
                                      CaseFlowTally.category_id, CaseFlowTally.raised, CaseFlowTally.closed)
                               .order_by(CaseFlowTally.office_id, CaseFlowTally.day, CaseFlowTally.kind,
                                         CaseFlowTally.category_id)).all()
    assert again == kept


def test_a_transfer_moves_the_counts(world, built):
    from app.services.engine import cases

    cases.act(built.K2, "transfer", actor=world.c1_sup, now=NOW,
              target_office=world.d1, text="Belongs to D1.")
    db.session.commit()
    assert flow.check() == []
    rows = _rows(league.league(world.c1, "week", NOW))
    assert rows["R1"].now.repeats == 1 and rows["R2"].now.repeats == 0


def test_pending_change_uses_the_snapshot_at_the_start_of_the_period(world, built):
    lg = league.league(world.c1, "week", NOW)
    assert _rows(lg)["R2"].change("pending") is None  # no snapshot yet
    db.session.add(BacklogSnapshot(office_id=world.d3.id, day=lg.window.first, active=5, breached=3))
    db.session.commit()
    r2 = _rows(league.league(world.c1, "week", NOW))["R2"]
    assert r2.before.pending == 3 and r2.change("pending") == -2
    assert _rows(league.league(world.c1, "week", NOW))["R1"].before.pending == 0


def test_weekly_compliance_twelve_weeks(world, built):
    weeks = league.weekly_compliance(world.c1, NOW)
    assert len(weeks) == 12
    assert weeks[-1] == (date(2026, 11, 17), date(2026, 11, 23), 4, 3)
    assert weeks[-2] == (date(2026, 11, 10), date(2026, 11, 16), 1, 1)
    assert all(w[2] == 0 for w in weeks[:-2])


def test_heat_table_counts_and_rising(world, built):
    h = league.heat(world.c1, "week", NOW)
    assert [o.code for o in h.offices] == ["R1", "R2"]
    assert h.categories[0] == (0, None)  # "no category": 3 now, the most
    assert h.cells[(0, world.r1.id)] == (1, 2) and h.cells[(0, world.r2.id)] == (2, 0)
    assert h.cells[(world.cat.id, world.r1.id)] == (1, 0) and h.totals[world.cat.id] == (2, 0)
    assert not league.rising(2, 0) and league.rising(3, 0) and league.rising(7, 4) and not league.rising(6, 4)


def test_periods_are_equal_windows():
    w = league.window("quarter", date(2026, 11, 23))
    assert (w.last - w.first).days + 1 == 91 and (w.prev_last - w.prev_first).days + 1 == 91
    assert w.prev_last + timedelta(days=1) == w.first


@pytest.mark.parametrize("key, desc", [("index", False), ("compliance", False), ("median", True), ("pending", True),
                                       ("rating", False), ("name", False), ("closed", True)])
def test_worst_first_direction(key, desc):
    assert league.worst_first(key) is desc


def test_integer_ticks():
    assert charts.int_ticks(0) == [0, 1]
    assert charts.int_ticks(1) == [0, 1]
    assert charts.int_ticks(3) == [0, 1, 2, 3]
    assert charts.int_ticks(11) == [0, 5, 10, 15]
    assert charts.int_ticks(100) == [0, 20, 40, 60, 80, 100]
    assert all(isinstance(t, int) for t in charts.int_ticks(0.5))


def test_bars_mirror_in_rtl():
    ltr = charts.bars([("A", 50), ("B", None)], top=100)
    rtl = charts.bars([("A", 50), ("B", None)], top=100, rtl=True)
    assert ltr["bars"][0]["w"] == rtl["bars"][0]["w"] > 0
    assert ltr["bars"][0]["x"] + rtl["bars"][0]["x"] + rtl["bars"][0]["w"] == pytest.approx(ltr["width"], abs=0.2)
    assert charts.bars([("A", 0)]) is None


# ---- the page -----------------------------------------------------------------------------

def _get(client, url):
    with mock.patch("app.blueprints.monitoring.routes._now", return_value=NOW):
        return client.get(url)


def _order(html: str) -> list[str]:
    body = html.split('<tbody>', 1)[1].split('</tbody>', 1)[0]
    return re.findall(r'<th scope="row">\s*<a href="[^"]*" dir="auto">([^<]+)</a>', body)


def test_page_worst_first_and_sortable_by_links(client, auth, world, built):
    auth.login(world.c1_sup.login_id)
    r = _get(client, "/dashboard/league")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert _order(html) == ["R2", "R1"]
    assert "<script" not in html.split("</header>", 1)[1]  # links and SVG only
    assert 'aria-sort="ascending"' in html
    assert "/dashboard/league?sort=name&amp;dir=asc" in html
    assert _order(_get(client, "/dashboard/league?sort=name&dir=asc").get_data(as_text=True)) == ["R1", "R2"]
    assert _order(_get(client, "/dashboard/league?sort=compliance").get_data(as_text=True)) == ["R1", "R2"]
    assert _order(_get(client, "/dashboard/league?sort=index&dir=desc").get_data(as_text=True)) == ["R1", "R2"]
    assert _order(_get(client, "/dashboard/league?sort=pending").get_data(as_text=True)) == ["R2", "R1"]
    # each office links to its own dashboard, and to the league below it
    assert f'href="/dashboard/?office={world.r1.id}"' in html
    assert f'/dashboard/league?office={world.r1.id}' in html
    assert "How the index is computed" in html and "weight" in html


@pytest.mark.parametrize("query", ["period=day", "sort=evil", "dir=up", "office=99999999", "office=x"])
def test_page_refuses_unknown_values(client, auth, world, query):
    auth.login(world.c1_sup.login_id)
    assert _get(client, f"/dashboard/league?{query}").status_code == 404


def test_another_regions_office_is_404(client, auth, world, built):
    auth.login(world.r1_mon.login_id)
    assert _get(client, f"/dashboard/league?office={world.d1.id}").status_code == 200
    assert _get(client, f"/dashboard/league?office={world.d3.id}").status_code == 404
    assert _get(client, f"/dashboard/league.xlsx?office={world.d3.id}").status_code == 404
    assert _get(client, f"/dashboard/league?office={world.c1.id}").status_code == 404


def test_periods_change_the_window(client, auth, world, built):
    auth.login(world.c1_sup.login_id)
    html = _get(client, "/dashboard/league?period=quarter").get_data(as_text=True)
    assert "The last 91 days" in html
    assert '<strong aria-current="true">Quarter</strong>' in html


def test_heat_and_charts_render_with_tables(client, auth, world, built):
    auth.login(world.c1_sup.login_id)
    html = _get(client, "/dashboard/league").get_data(as_text=True)
    assert html.count("<svg") == 3
    assert "Index by office" in html and "SLA compliance per week" in html
    assert 'class="data heat"' in html
    # axis ticks are whole numbers
    ticks = [t.strip() for t in re.findall(r'class="tick">([^<]+)</text>', html)]
    assert "0" in ticks and "100" in ticks
    assert not [t for t in ticks if re.search(r"\d[.]\d", t)], ticks


def test_rtl_page(client, auth, world, built):
    world.c1_sup.locale = "fa"
    db.session.commit()
    auth.login(world.c1_sup.login_id)
    html = _get(client, "/dashboard/league").get_data(as_text=True)
    assert 'dir="rtl"' in html and "کجا اقدام کنیم" in html
    assert "جدول رتبه‌بندی" in html


def test_league_export_matches_the_page(client, auth, world, built):
    auth.login(world.c1_sup.login_id)
    r = _get(client, "/dashboard/league.xlsx")
    wb = load_workbook(io.BytesIO(r.data))
    rows = list(wb["League table"].iter_rows(values_only=True))
    assert [row[1] for row in rows[1:3]] == ["R2", "R1"]
    header = rows[0]
    assert rows[2][header.index("Index (0-100)")] == 77.8
    assert rows[2][header.index("SLA compliance %")] == 66.7


def test_zero_breaches_are_not_red(client, auth, world):
    auth.login(world.c2_sup.login_id)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'tile-breached"' in html and "tile-breached tile-some" not in html


# ---- weekly summary ------------------------------------------------------------------------

def test_weekly_summary_once_per_head_in_their_language_with_xlsx(app, world, built):
    world.c1_sup.email, world.c1_sup.locale = "c1@example.in", "hi"
    world.r1_mon.email, world.r1_mon.locale = "r1@example.in", "fa"
    world.r1_op.weekly_summary = False  # opted out
    world.c2_sup.email = None  # no address: nothing to send to
    db.session.commit()
    result = run_once(app, NOW + timedelta(hours=1))
    assert result["reports"]["weekly_summaries"] == 2
    sent = {m["to"]: m for m in app.extensions["outbox_sent"] if m.get("attachment")}
    assert set(sent) == {"c1@example.in", "r1@example.in"}
    assert "साप्ताहिक निगरानी सारांश" in sent["c1@example.in"]["subject"]
    assert "خلاصهٔ هفتگی پایش" in sent["r1@example.in"]["subject"]
    name, data = sent["c1@example.in"]["attachment"]
    assert name.endswith(".xlsx")
    wb = load_workbook(io.BytesIO(data))
    assert len(wb.sheetnames) == 3
    # the week reported is Monday 16 to Sunday 22 November
    assert "2026-11-16" in sent["c1@example.in"]["subject"] and "2026-11-22" in sent["c1@example.in"]["subject"]
    # once a week: later runs the same week send nothing; next week sends again
    assert run_once(app, NOW + timedelta(days=2))["reports"]["weekly_summaries"] == 0
    assert db.session.scalar(select(func.count()).select_from(WeeklySummary)) == 2
    assert run_once(app, NOW + timedelta(days=7))["reports"]["weekly_summaries"] == 2
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.template == "weekly_summary")) == 4


def test_heads_are_circle_and_region_supervisors_and_monitors(world):
    for u in (world.c1_sup, world.r1_mon, world.r1_op, world.d1_sup, world.c1_op, world.admin):
        u.email = f"{u.login_id}@example.in"
    db.session.commit()
    got = {u.login_id for u in db.session.scalars(summary.heads())}
    assert got == {world.c1_sup.login_id, world.c2_sup.login_id, world.r1_mon.login_id, world.r1_op.login_id}


def test_opt_out_in_preferences(client, auth, world):
    auth.login(world.c1_sup.login_id)
    r = client.get("/auth/preferences")
    assert r.status_code == 200 and 'name="weekly_summary"' in r.get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', r.get_data(as_text=True)).group(1)
    r = client.post("/auth/preferences", data={"csrf_token": token})
    assert r.status_code == 302
    db.session.refresh(world.c1_sup)
    assert world.c1_sup.weekly_summary is False
    auth.logout()
    auth.login(world.d1_op.login_id)
    assert 'name="weekly_summary"' not in client.get("/auth/preferences").get_data(as_text=True)


def test_daily_snapshot_once_a_day(app, world, built):
    assert summary.snapshot(NOW) > 0
    assert summary.snapshot(NOW + timedelta(hours=2)) == 0
    d3 = db.session.get(BacklogSnapshot, (world.d3.id, date(2026, 11, 23)))
    assert (d3.active, d3.breached) == (1, 1)


def test_moving_an_office_moves_its_counts_between_the_offices_above(world, built):
    from app.services.administration import admin_offices

    before = _rows(league.league(world.c1, "week", NOW))
    admin_offices.move(world.admin, world.d3, world.r1, NOW)
    assert flow.check() == []
    after = _rows(league.league(world.c1, "week", NOW))
    assert after["R1"].now.raised == before["R1"].now.raised + 3  # S4, S5 and K2 (at SO3, under D3)
    assert after["R2"].now.raised == before["R2"].now.raised - 3 == 0
    assert after["R1"].now.histogram == {0: 1, 2: 1, 3: 2}
