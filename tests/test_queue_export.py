"""The office queue as a CSV download: the same cases the queue shows (own office only,
same filters, every page), streamed, translated headers, formula cells neutralised."""

import csv
import io

from flask_babel import force_locale, gettext

from app.i18n import KIND_LABELS
from app.services.engine import cases
from tests.conftest import NOW
from tests.factories import make_case


def _rows(resp):
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_export_lists_the_office_queue_only(client, auth, world):
    mine = [make_case("service_request", world.d1, subject=f"Mine {i}") for i in range(3)]
    other = make_case("service_request", world.d2, subject="Not ours")
    auth.login(world.d1_op.login_id)
    r = client.get("/cases/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == 'attachment; filename="queue.csv"'
    rows = _rows(r)
    assert rows[0][:3] == ["Reference", "Kind", "Status"]
    refs = [row[0] for row in rows[1:]]
    assert sorted(refs) == sorted(c.reference for c in mine)
    assert other.reference not in refs
    assert refs == [c.reference for c in reversed(mine)]  # newest first, as on the page


def test_export_follows_the_filters(client, auth, world):
    open_case = make_case("service_request", world.d1)
    done = make_case("service_request", world.d1)
    cases.act(done, "start", actor=world.d1_op, now=NOW)
    cases.act(done, "complete", actor=world.d1_op, now=NOW)
    auth.login(world.d1_op.login_id)
    refs = [r[0] for r in _rows(client.get("/cases/export.csv"))[1:]]
    assert refs == [open_case.reference]  # like the page: closed cases only when asked
    refs = [r[0] for r in _rows(client.get("/cases/export.csv?status=closed"))[1:]]
    assert refs == [done.reference]
    refs = [r[0] for r in _rows(client.get(f"/cases/export.csv?q={open_case.reference}"))[1:]]
    assert refs == [open_case.reference]
    assert _rows(client.get("/cases/export.csv?kind=complaint")) [1:] == []


def test_export_is_not_paged_and_respects_the_cap(app, client, auth, world):
    for i in range(30):
        make_case("service_request", world.d1, subject=f"Case {i}")
    auth.login(world.d1_op.login_id)
    assert len(_rows(client.get("/cases/export.csv"))) == 31
    app.config["EXPORT_MAX_ROWS"] = 10
    assert len(_rows(client.get("/cases/export.csv"))) == 11


def test_export_neutralises_spreadsheet_formulas(client, auth, world):
    make_case("service_request", world.d1, subject="=HYPERLINK(\"http://x\",\"y\")")
    auth.login(world.d1_op.login_id)
    row = _rows(client.get("/cases/export.csv"))[1]
    assert row[4] == "'=HYPERLINK(\"http://x\",\"y\")"


def test_export_headers_and_labels_are_translated(client, auth, world):
    make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    rows = _rows(client.get("/cases/export.csv", headers={"Accept-Language": "hi"}))
    with force_locale("hi"):
        reference, kind = gettext("Reference"), str(KIND_LABELS["service_request"])
    with force_locale("en"):
        kind_en = str(KIND_LABELS["service_request"])
    assert reference != "Reference" and rows[0][0] == reference
    assert kind != kind_en and rows[1][1] == kind


def test_export_needs_sign_in(client):
    r = client.get("/cases/export.csv")
    assert r.status_code in (302, 303) and "/auth/login" in r.headers["Location"]


def test_queue_page_links_to_the_export_with_its_filters(client, auth, world):
    auth.login(world.d1_op.login_id)
    r = client.get("/cases/?status=closed&kind=service_request")
    assert b"/cases/export.csv?status=closed&amp;kind=service_request" in r.data


def test_url_for_keywords_in_the_query_string_do_not_break_the_page(client, auth, world):
    auth.login(world.d1_op.login_id)
    r = client.get("/cases/?_method=x&_external=1&status=open&after=7")
    assert r.status_code == 200 and b'href="/cases/export.csv?status=open&amp;view=office"' in r.data
