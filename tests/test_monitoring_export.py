"""Exports of the current view (CSV and XLSX) hold the same numbers as the page."""

from __future__ import annotations

import csv
import io
from datetime import timezone

import pytest
import time_machine
from openpyxl import load_workbook

from tests import monitoring_fixture as mf
from tests.conftest import NOW


@pytest.fixture
def data(world):
    with time_machine.travel(NOW.replace(tzinfo=timezone.utc), tick=False):
        yield mf.build(world)


def csv_sections(body: bytes) -> dict[str, list[list[str]]]:
    text = body.decode("utf-8-sig")
    sections, current = {}, None
    for row in csv.reader(io.StringIO(text)):
        if not row:
            current = None
        elif current is None:
            current = sections.setdefault(row[0], [])
        else:
            current.append(row)
    return sections


def norm(v):
    """Compare a spreadsheet cell and a CSV field: numbers as numbers, the rest as text."""
    if v is None:
        return ""
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def page_tile(html: str, key: str) -> str:
    marker = f'data-tile="{key}">'
    start = html.index(marker) + len(marker)
    return html[start:html.index("<", start)]


TILE_ROWS = {"open": "Open", "in_progress": "In progress", "awaiting_customer": "Awaiting customer or information",
             "pending_external": "Pending at external authorities", "closed_today": "Closed today",
             "breached": "SLA breached (not closed)"}


def test_csv_matches_the_page(client, auth, world, data):
    auth.login(world.c1_sup.login_id)
    with time_machine.travel(NOW.replace(tzinfo=timezone.utc), tick=False):
        html = client.get(f"/dashboard/?office={world.r1.id}").get_data(as_text=True)
        assert f'href="/dashboard/export.csv?office={world.r1.id}"' in html
        r = client.get(f"/dashboard/export.csv?office={world.r1.id}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"] and "R1" in r.headers["Content-Disposition"]
    s = csv_sections(r.data)
    summary = dict((row[0], row[1]) for row in s["Summary"][1:])
    assert summary["Office"] == "R1" and summary["Cases in view"] == "6"
    for key, label in TILE_ROWS.items():
        assert summary[label] == page_tile(html, key) == str(mf.TILES["r1"][key])
    assert summary["Average rating"] == "4.0" and summary["Ratings"] == "1"
    offices = {row[0]: row for row in s["By office"][1:]}
    assert set(offices) == {"D1", "D2"}
    assert offices["D1"][2] == "5" and offices["D2"][2] == "1"
    header = s["By office"][0]
    assert offices["D1"][header.index("Awaiting customer or information")] == "2"
    ageing = s["Ageing of cases not closed"]
    assert ageing[0] == ["Office", "0–1 days", "1–2 days", "2–5 days", "5–10 days", "More than 10 days"]
    assert ageing[-1] == ["Total"] + [str(n) for _k, n in mf.AGEING["r1"]]
    assert [row[0] for row in ageing[1:-1]] == ["D1", "D2"]  # the offices of "By office"
    assert ageing[1:-1] == [["D1", "1", "0", "1", "1", "1"], ["D2", "0", "0", "0", "0", "1"]]
    assert len(s["Trend"]) == 31
    kinds = s["By kind and category"][1:]
    assert ["Complaint", "Mail", "5", "5", "0", "0"] in kinds


def test_xlsx_matches_csv(client, auth, world, data):
    auth.login(world.admin.login_id)
    with time_machine.travel(NOW.replace(tzinfo=timezone.utc), tick=False):
        c = csv_sections(client.get("/dashboard/export.csv?kind=service_request").data)
        r = client.get("/dashboard/export.xlsx?kind=service_request")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["Summary", "By office", "By category and office", "By kind and category",
                             "Ageing of cases not closed", "Trend"]
    for name in wb.sheetnames:
        rows = [[norm(v) for v in row] for row in wb[name].iter_rows(values_only=True)]
        assert rows == [[norm(v) for v in row] for row in c[name]], name
    summary = {row[0].value: row[1].value for row in wb["Summary"].iter_rows(min_row=2)}
    assert summary["Cases in view"] == 4 and summary["Open"] == 1 and summary["Kind"] == "Doorstep service request"


def test_export_of_an_empty_view(client, auth, world):
    auth.login(world.r1_mon.login_id)
    s = csv_sections(client.get("/dashboard/export.csv").data)
    summary = dict((row[0], row[1]) for row in s["Summary"][1:])
    assert summary["Cases in view"] == "0" and summary["Average rating"] == ""
    assert s["By kind and category"] == [["Kind", "Category", "Total", "Not closed", "Closed",
                                         "SLA breached (not closed)"]]


def test_unknown_export_format_is_404(client, auth, world):
    auth.login(world.admin.login_id)
    assert client.get("/dashboard/export.pdf").status_code == 404


def test_export_in_persian_keeps_plain_numbers(client, auth, world, data):
    from app.extensions import db

    world.admin.locale = "fa"
    db.session.commit()
    auth.login(world.admin.login_id)
    with time_machine.travel(NOW.replace(tzinfo=timezone.utc), tick=False):
        s = csv_sections(client.get("/dashboard/export.csv").data)
    first = list(s)[0]
    rows = s[first]
    assert any(row[1] == "10" for row in rows)  # digits stay ASCII for spreadsheets
