"""Issue 22 items 1 and 4: every CSV/XLSX export neutralises spreadsheet formulas
through the one helper (app/exports.py), and every download carries
`Cache-Control: no-store` and a single charset."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timezone
from io import BytesIO
from pathlib import Path

import pytest
import time_machine
from openpyxl import load_workbook

from app.exports import FORMULA_START, safe_cell
from app.extensions import db
from app.services.infrastructure import audit
from app.services.read_models import complaint_reports, queues
from tests.conftest import NOW
from tests.factories import make_case

HYPERLINK = '=HYPERLINK("http://evil.invalid","x")'
CMD = "=cmd|' /C calc'!A0"
HOSTILE = [HYPERLINK, CMD, "+1+2", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "\n=1+1"]
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def assert_no_live_cell(rows):
    """No CSV field starts with a character that makes a spreadsheet run it."""
    for row in rows:
        for value in row:
            assert not value.startswith(FORMULA_START), (value, row)


# ---- the helper ------------------------------------------------------------------------

@pytest.mark.parametrize("text", HOSTILE)
def test_safe_cell_neutralises_every_formula_start(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value, expected", [(None, ""), (0, 0), (-5, -5), (2.5, 2.5), ("Mail", "Mail"),
                                             ("a=b", "a=b"), ("", "")])
def test_safe_cell_leaves_numbers_and_plain_text(value, expected):
    assert safe_cell(value) == expected


# ---- dashboard CSV and XLSX -----------------------------------------------------------

@pytest.fixture
def hostile_names(world):
    """Office and category names that are formulas; a case in each office."""
    world.r1.name = "-2+3"
    world.d1.name = HYPERLINK
    world.d2.name = "\t=1+1"
    world.cat.name_en = "@SUM(A1)"
    db.session.commit()
    with time_machine.travel(NOW.replace(tzinfo=timezone.utc), tick=False):
        make_case("complaint", world.d1, actor=world.d1_op, category=world.cat)
        make_case("complaint", world.d2, actor=world.d2_op, category=world.cat)
        yield world


def test_dashboard_csv_neutralises_office_and_category_names(client, auth, hostile_names):
    w = hostile_names
    auth.login(w.admin.login_id)
    r = client.get(f"/dashboard/export.csv?office={w.r1.id}")
    assert r.status_code == 200
    rows = csv_rows(r.data)
    fields = [v for row in rows for v in row]
    assert "'" + HYPERLINK in fields and "'\t=1+1" in fields  # by office
    assert "'@SUM(A1)" in fields  # by kind and category
    assert "'-2+3" in fields  # the summary's office
    assert_no_live_cell(rows)


def test_dashboard_xlsx_writes_text_cells_never_formulas(client, auth, hostile_names):
    w = hostile_names
    auth.login(w.admin.login_id)
    r = client.get(f"/dashboard/export.xlsx?office={w.r1.id}")
    assert r.status_code == 200
    with zipfile.ZipFile(BytesIO(r.data)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert sheets and not any("<f>" in s or "<f " in s for s in sheets)
    wb = load_workbook(BytesIO(r.data))
    cells = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (cell.coordinate, cell.value)
                    cells[cell.value] = cell
    for name in (HYPERLINK, "\t=1+1", "@SUM(A1)", "-2+3"):
        assert name in cells, name  # the name itself, readable, as text
        assert cells[name].quotePrefix  # and kept text when edited in Excel
    numbers = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
               if isinstance(c.value, int)]
    assert numbers  # counts stay numbers


# ---- audit CSV --------------------------------------------------------------------------

def test_audit_csv_neutralises_a_login_id_typed_at_sign_in(client, auth, world):
    auth.login(CMD, "wrong")  # recorded as a failed sign-in with the typed ID as target
    audit.record("admin.test", actor=world.admin, target="@x", detail="+1", commit=True)
    auth.login(world.admin.login_id)
    r = client.get("/admin/audit.csv")
    rows = csv_rows(r.data)
    targets = [row[3] for row in rows[1:]]
    assert "'" + CMD.upper() in targets  # the sign-in form upper-cases IDs
    assert "'@x" in targets
    assert_no_live_cell(rows)
    rows = csv_rows(client.get("/admin/audit.csv?tab=status").data)
    assert_no_live_cell(rows)


# ---- queue CSV ----------------------------------------------------------------------------

def test_queue_csv_neutralises_every_column(client, auth, world):
    world.d1_op.name = "@evil"
    db.session.commit()
    for text in ("=1+1", "+1", "-1", "@A1"):
        make_case("service_request", world.d1, subject=text)
    auth.login(world.d1_op.login_id)
    rows = csv_rows(client.get("/cases/export.csv").data)
    assert sorted(r[4] for r in rows[1:]) == sorted(["'=1+1", "'+1", "'-1", "'@A1"])
    assert_no_live_cell(rows)


def test_queue_writer_covers_fields_it_did_not_escape_before(app, world):
    """The office code and the labels went out raw before the shared writer."""
    world.d1.code = "=D1"
    db.session.commit()
    make_case("service_request", world.d1, subject="ok")
    from sqlalchemy import select

    from app.models import Case

    body = "".join(queues.export_csv(select(Case), ["=h"], lambda k: "+" + k, lambda s: "-" + s, 10))
    rows = csv_rows(body.encode())
    assert rows[0] == ["'=h"] and rows[1][5] == "'=D1" and rows[1][1].startswith("'+")
    assert_no_live_cell(rows)


# ---- complaint reports ----------------------------------------------------------------------

@pytest.mark.parametrize("text", HOSTILE)
def test_complaint_report_csv_neutralises_text_cells(text):
    t = complaint_reports.Table("x", "x", ["=h", "n"], [[text, 3], [None, -1]])
    rows = csv_rows(complaint_reports.to_csv(t).encode())
    assert rows == [["'=h", "n"], ["'" + text, "3"], ["", "-1"]]


def test_complaint_report_download_neutralises_office_names(client, auth, world):
    from tests.complaints_support import complaint, make_taxonomy

    tax = make_taxonomy()
    world.d3.name = "\r=1+1"
    db.session.commit()
    complaint(world.d3, world.d3_op, category=tax.delay)
    auth.login(world.c1_sup.login_id)
    r = client.get("/complaints/reports/office.csv")
    rows = csv_rows(r.data)
    assert ["'\r=1+1", "1", "1", "0", "0"] in rows
    assert_no_live_cell(rows)


# ---- one writer, one download helper ----------------------------------------------------------

APP = Path(__file__).resolve().parent.parent / "app"


def _sources():
    for path in APP.rglob("*.py"):
        if path.name != "exports.py":
            yield path.relative_to(APP.parent), path.read_text(encoding="utf-8")


def test_every_csv_and_xlsx_writer_uses_the_shared_helper():
    bad = [str(p) for p, text in _sources()
           if re.search(r"csv\.writer\(|csv\.DictWriter\(|\bws\.append\(|\.cell\(.*value=|_csv_safe|_FORMULA",
                        text)]
    assert bad == []


def test_every_download_goes_through_the_download_helper():
    bad = [str(p) for p, text in _sources()
           if re.search(r"\bsend_file\(|Content-Disposition|as_attachment", text)]
    assert bad == []


# ---- download headers (item 4) -----------------------------------------------------------------

def _attachment(client, auth, world):
    case = make_case("complaint", world.ho1)
    auth.login(world.ho1_op.login_id)
    client.post(f"/cases/{case.reference}/act", content_type="multipart/form-data",
                data={"action": "reply", "version": case.version, "text": "See receipt",
                      "attachment": (BytesIO(JPEG), "receipt.jpg")})
    db.session.refresh(case)
    return f"/cases/{case.reference}/attachments/{case.attachments[0].id}"


DOWNLOADS = {
    # endpoint: (who, url)
    "monitoring.export": [("admin", lambda w: "/dashboard/export.csv"),
                          ("admin", lambda w: "/dashboard/export.xlsx")],
    "monitoring.league_export": [("admin", lambda w: "/dashboard/league.csv"),
                                 ("c1_sup", lambda w: f"/dashboard/league.xlsx?office={w.r1.id}&period=quarter")],
    "cases.queue_csv": [("d1_op", lambda w: "/cases/export.csv")],
    "admin.audit_export": [("admin", lambda w: "/admin/audit.csv"),
                           ("admin", lambda w: "/admin/audit.csv?tab=status")],
    "complaints.report_csv": [("c1_sup", lambda w: f"/complaints/reports/{name}.csv")
                              for name in complaint_reports.REPORTS],
}


def test_every_download_endpoint_is_checked(app):
    """A new download (a rule for a file, or an attachment) must be added above."""
    found = {r.endpoint for r in app.url_map.iter_rules()
             if re.search(r"\.(csv|xlsx|<fmt>)$|/attachments/", r.rule)}
    assert found == set(DOWNLOADS) | {"cases.attachment"}


def _check_headers(r):
    assert r.status_code == 200, r.status_code
    assert r.headers["Cache-Control"] == "no-store"
    assert "Expires" not in r.headers
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers["Content-Type"].count("charset") <= 1
    assert r.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("endpoint, index", [(e, i) for e, urls in DOWNLOADS.items() for i in range(len(urls))])
def test_download_is_never_stored(client, auth, world, endpoint, index):
    who, url = DOWNLOADS[endpoint][index]
    auth.login(getattr(world, who).login_id)
    r = client.get(url(world))
    _check_headers(r)
    if r.mimetype == "text/csv":
        assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    if endpoint == "cases.queue_csv":
        r.get_data()  # streamed: read to the end (closes the server-side cursor)


def test_attachment_is_never_stored(client, auth, world):
    url = _attachment(client, auth, world)
    r = client.get(url)
    _check_headers(r)
    assert r.data == JPEG and r.headers["Content-Type"] == "image/jpeg"
    assert "max-age" not in r.headers["Cache-Control"]


def test_download_names_cannot_break_the_header(client, auth, world):
    world.r1.code = 'R1";\r\nX-Evil: 1'
    db.session.commit()
    auth.login(world.admin.login_id)
    r = client.get(f"/dashboard/export.csv?office={world.r1.id}")
    disposition = r.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+"', disposition), disposition
    assert "X-Evil" not in r.headers
