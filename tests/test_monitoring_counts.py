"""Dashboard numbers against the hand-computed fixture (tests/monitoring_fixture.py),
for every scope: tiles, rating, breakdown by office, ageing, kind/category, trend,
filters, and the list behind each number."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.services.read_models import dashboards as d
from tests import monitoring_fixture as mf
from tests.conftest import NOW


@pytest.fixture
def data(world):
    return mf.build(world)


@pytest.mark.parametrize("scope", sorted(mf.TILES))
def test_tiles_match_fixture(world, data, scope):
    office = getattr(world, scope)
    assert d.tiles(office, d.Filters(), NOW) == mf.TILES[scope]


@pytest.mark.parametrize("scope", sorted(mf.RATING))
def test_average_rating_from_feedback(world, data, scope):
    avg, n = mf.RATING[scope]
    assert d.rating(getattr(world, scope), d.Filters()) == {"average": avg, "count": n}


@pytest.mark.parametrize("scope", sorted(mf.OFFICES))
def test_breakdown_by_child_office(world, data, scope):
    office = getattr(world, scope)
    rows = d.by_office(office, d.Filters(), NOW)
    got = {("here" if r.here else r.office.code): r.counts for r in rows}
    want = {("here" if k == "here" else getattr(world, k).code): v for k, v in mf.OFFICES[scope].items()}
    assert got == want
    # The rows add up to the tiles: nothing is counted twice or lost.
    for key in mf.ZERO:
        assert sum(r.counts[key] for r in rows) == mf.TILES[scope][key]


def test_breakdown_lists_empty_children_and_drillability(world, data):
    rows = {r.office.code: r for r in d.by_office(world.cept, d.Filters(), NOW)}
    # Externals hold nothing and are not listed; departments and teams are, with zeros.
    assert set(rows) == {"C1", "C2", "DEPT", "TEAM"}
    assert rows["DEPT"].counts["total"] == 0 and not rows["DEPT"].drillable
    assert rows["C1"].drillable
    d1_rows = {r.office.code: r for r in d.by_office(world.d1, d.Filters(), NOW)}
    assert d1_rows[world.ho1.code].drillable  # HO1 has a Sub Office below it


@pytest.mark.parametrize("scope", sorted(mf.AGEING))
def test_ageing_buckets(world, data, scope):
    assert d.ageing(getattr(world, scope), d.Filters(), NOW) == mf.AGEING[scope]


def test_by_kind_and_category(world, data):
    rows = d.by_kind_category(world.cept, d.Filters(), NOW)
    assert rows == [
        {"kind": "service_request", "category_id": None, "total": 4, "active": 2, "closed": 2, "breached": 1},
        {"kind": "complaint", "category_id": world.cat.id, "total": 6, "active": 6, "closed": 0, "breached": 0},
    ]


def test_trend_per_local_day(world, data):
    points = d.trend(world.cept, d.Filters(), NOW)
    assert len(points) == 30 and points[-1][0] == date(2026, 11, 23)
    by_day = {p[0]: (p[1], p[2]) for p in points}
    assert sum(r for r, _c in by_day.values()) == 10
    assert sum(c for _r, c in by_day.values()) == 2
    # E was raised at 19:54 UTC on 21 Nov = 01:24 on 22 Nov in India; B on 22 Nov too.
    assert by_day[date(2026, 11, 22)] == (2, 0)
    assert by_day[date(2026, 11, 23)] == (1, 1)  # H raised, E closed today
    assert by_day[date(2026, 11, 21)] == (0, 1)  # F closed
    assert len(d.trend(world.cept, d.Filters(days=90), NOW)) == 90


def test_chart_geometry():
    assert d.chart([(date(2026, 1, 1), 0, 0)]) is None
    c = d.chart([(date(2026, 1, 1), 0, 2), (date(2026, 1, 2), 4, 1)], width=140, height=130)
    assert c["top"] == 4
    assert c["raised"] == "40.0,100.0 130.0,10.0"
    assert c["closed"].split()[0] == "40.0,55.0"


@pytest.mark.parametrize("filters, scope, total", [
    ({"kind": "service_request"}, "cept", 4),
    ({"kind": "complaint"}, "r1", 5),
    ({"priority": "P1"}, "cept", 1),
    ({"priority": "P1"}, "c1", 0),
    # Local (India) calendar days: E was raised on 22 Nov in India though 21 Nov in UTC.
    ({"date_from": date(2026, 11, 22), "date_to": date(2026, 11, 23)}, "cept", 3),
    ({"date_from": date(2026, 11, 22)}, "c1", 2),
    ({"date_to": date(2026, 11, 3)}, "cept", 1),
])
def test_filters(world, data, filters, scope, total):
    assert d.tiles(getattr(world, scope), d.Filters(**filters), NOW)["total"] == total


def test_category_filter_includes_subcategories(world, data):
    from app.models import Category

    sub = Category(kind="complaint", code="mail.speed", name_en="Speed Post", level="service",
                   parent_id=world.cat.id)
    db.session.add(sub)
    db.session.commit()
    from tests.factories import make_case

    make_case("complaint", world.so1, actor=world.so1_user, now=NOW, category=sub,
              requester={"name": "X", "mobile": "9876543210"})
    assert d.tiles(world.cept, d.Filters(category_id=world.cat.id), NOW)["total"] == 7
    assert d.tiles(world.cept, d.Filters(category_id=sub.id), NOW)["total"] == 1
    rows = d.by_kind_category(world.cept, d.Filters(), NOW)
    # The service-level case rolls up into its top-level category.
    assert [r["total"] for r in rows if r["kind"] == "complaint"] == [7]


@pytest.mark.parametrize("key", d.LIST_KEYS)
def test_list_behind_each_number_matches_count(world, data, key):
    q = d.case_list(world.c1_sup, world.c1, d.Filters(), NOW, key=key)
    n = db.session.scalar(select(func.count()).select_from(q.subquery()))
    tiles = d.tiles(world.c1, d.Filters(), NOW)
    expected = tiles[key] if key != "rated" else d.rating(world.c1, d.Filters())["count"]
    assert n == expected


@pytest.mark.parametrize("bucket, n", mf.AGEING["cept"])
def test_list_behind_age_bucket(world, data, bucket, n):
    q = d.case_list(world.admin, world.cept, d.Filters(), NOW, age=bucket)
    assert db.session.scalar(select(func.count()).select_from(q.subquery())) == n


def test_scope_for_refuses_outside_jurisdiction(world):
    assert d.scope_for(world.r1_mon, None) == world.r1
    assert d.scope_for(world.r1_mon, world.d1.id) == world.d1
    assert d.scope_for(world.r1_mon, world.r2.id) is None
    assert d.scope_for(world.r1_mon, world.d3.id) is None
    assert d.scope_for(world.r1_mon, world.c1.id) is None  # above, not below
    assert d.scope_for(world.admin, world.ext.id) is None  # external authority
    assert d.scope_for(world.admin, 999999) is None


def test_empty_world_gives_zeros(world):
    assert d.tiles(world.c1, d.Filters(), NOW) == mf.ZERO
    assert d.rating(world.c1, d.Filters()) == {"average": None, "count": 0}
    assert d.by_kind_category(world.c1, d.Filters(), NOW) == []
    view = d.build_view(world.c1_sup, world.c1, d.Filters(), NOW)
    assert view.empty and view.chart is None
    assert all(r.counts["total"] == 0 for r in view.offices)


@pytest.mark.parametrize("scope", sorted(mf.TILES))
def test_one_statement_summary_agrees_with_polled_tiles(world, data, scope):
    office = getattr(world, scope)
    s = d.summary(office, d.Filters(), NOW)
    assert s.tiles == d.tiles(office, d.Filters(), NOW) == mf.TILES[scope]


@pytest.mark.parametrize("scope", ["cept", "c1", "r1", "d1"])
@pytest.mark.parametrize("kind", ["complaint", "service_request"])
def test_ageing_and_categories_per_office_add_up_and_agree_with_a_scan(world, data, scope, kind):
    """The per-office ageing and category tables: their rows add up to the totals (cases
    held at an external authority aside: none here), and the counters give what a scan of
    the cases gives."""
    office = getattr(world, scope)
    f = d.Filters(kind=kind)
    s = d.summary(office, f, NOW)
    for i, (bucket, total) in enumerate(s.ageing):
        assert sum(r.ageing[i][1] for r in s.offices) == total, bucket
    table = d.category_table(office, f, NOW, s)
    for key, total in table.totals.items():
        assert sum(counts.get(key, 0) for _r, counts in table.rows) == total
    scanned = d.summary(office, f, NOW, scan=True)
    assert [r.ageing for r in scanned.offices] == [r.ageing for r in s.offices]
    scanned_table = d.category_table(office, f, NOW, scanned, scan=True)
    assert [c for _r, c in scanned_table.rows] == [c for _r, c in table.rows]
    # From the fixture's table: complaints all carry "mail", doorstep requests no category
    want = {"complaint": {"cept": 6, "c1": 6, "r1": 5, "d1": 4},
            "service_request": {"cept": 4, "c1": 3, "r1": 1, "d1": 1}}[kind][scope]
    key = world.cat.id if kind == "complaint" else None
    assert table.totals == {key: want}
    assert table.columns[-1] is None if key is None else table.columns == [world.cat]
