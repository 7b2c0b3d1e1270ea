"""Reports & analytics (aggregates, scope, CSV) and the closure quality review."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, ComplaintReview
from app.services.engine import cases
from app.services.front_doors import complaint_reviews
from app.services.read_models import complaint_reports as reports
from tests.complaints_support import complaint, make_taxonomy
from tests.conftest import NOW

H = timedelta(hours=1)
D = timedelta(days=1)
LATER = NOW + 60 * D


@pytest.fixture
def tax(world):
    return make_taxonomy()


@pytest.fixture
def data(app, world, tax):
    d = {}
    a = complaint(world.ho1, world.ho1_op, category=tax.delay)
    cases.act(a, "propose_resolution", now=NOW + H, actor=world.ho1_op, text="Delivered.")
    cases.act(a, "accept", now=NOW + 2 * H, as_=wf.REQUESTER)
    cases.act(a, "rate", now=NOW + 3 * H, as_=wf.REQUESTER, data={"rating": 5})
    b = complaint(world.ho1, world.ho1_op, category=tax.loss)
    cases.act(b, "close", now=NOW + 20 * D, actor=world.ho1_sup, text="Compensation paid.")
    cases.act(b, "rate", now=NOW + 21 * D, as_=wf.REQUESTER, data={"rating": 2})
    c = complaint(world.ho1, world.ho1_op, category=tax.loss, now=NOW)
    cases.act(c, "refer_external", now=LATER - 40 * D, actor=world.ho1_op, target_office=world.ext,
              text="Customs.")
    e = complaint(world.ho1, world.ho1_op, category=tax.dispute, now=NOW)
    cases.act(e, "refer_external", now=LATER - 3 * D, actor=world.ho1_op, target_office=world.ext,
              text="Customs.")
    rep = complaint(world.ho1, world.ho1_op, category=tax.loss, related_case=b, now=NOW + 22 * D)
    far = complaint(world.d3, world.d3_op, category=tax.delay)
    d.update(a=a, b=b, c=c, e=e, rep=rep, far=far)
    with app.test_request_context():  # labels are translated in the request's language
        yield d


def _rows(table):
    return {r[0]: tuple(r[1:]) for r in table.rows}


def test_pending_at_external_authorities_by_age(world, data):
    t = reports.pending_external(world.ho1_sup, LATER)
    assert t.rows == [["Customs", 2, 1, 0, 1, 40]]


def test_by_category_status_office(world, data):
    assert _rows(reports.by_category(world.ho1_sup, LATER)) == {
        "Mail / Money Orders": (4, 2, 2), "Financial Services": (1, 1, 0)}
    assert _rows(reports.by_status(world.ho1_sup, LATER)) == {
        "Closed": (2,), "Open": (1,), "Pending at external authority": (2,)}
    assert _rows(reports.by_office(world.c1_sup, LATER)) == {
        world.ho1.name: (5, 3, 2, 0), world.d3.name: (1, 1, 0, 0)}


def test_sla_rating_clocks_and_repeats(world, data):
    total, closed, on_time, pct, breached, overdue = reports.sla_compliance(world.ho1_sup, LATER).rows[0]
    assert (total, closed, on_time, pct) == (5, 2, 1, 50.0)  # b closed after its due time
    assert overdue == 1  # rep is open and past its due time at LATER
    assert reports.ratings(world.ho1_sup, LATER).rows == [[2, 3.5]]
    n, ours, ext, cust = reports.two_clocks(world.ho1_sup, LATER).rows[0]
    assert n == 2 and ext == 0.0 and cust == pytest.approx(0.0, abs=0.1)
    assert ours == pytest.approx(10.0, abs=0.1)  # (1 hour + 20 days) / 2
    assert reports.repeat_complaints(world.ho1_sup, LATER).rows == [[world.ho1.name, "Mail / Money Orders", 1]]


def test_reports_are_scoped(world, data):
    assert reports.by_status(world.d3_op, LATER).rows == [["Open", 1]]
    assert reports.by_status(world.c2_sup, LATER).rows == []
    assert reports.ratings(world.d3_op, LATER).rows == [[0, None]]


def test_date_filter(world, data):
    t = reports.by_status(world.ho1_sup, LATER, start=(NOW + 21 * D).date())
    assert t.rows == [["Open", 1]]


def test_reports_page_and_partial(client, auth, world, data):
    auth.login(world.ho1_op.login_id)
    r = client.get("/complaints/reports")
    assert r.status_code == 200 and b"Pending at external authorities" in r.data and b"Customs" in r.data
    r = client.get("/complaints/reports?start=2030-01-01", headers={"HX-Request": "true"})
    assert b"<html" not in r.data and b'id="complaint-reports"' in r.data
    assert b"Customs" not in r.data
    auth.logout()
    assert client.get("/complaints/reports").status_code in (302, 401)


def test_csv_export(client, auth, world, data):
    auth.login(world.c1_sup.login_id)
    r = client.get("/complaints/reports/office.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode())))
    assert rows[0] == ["Office", "Total", "Open", "Closed", "Escalated"]
    assert [world.d3.name, "1", "1", "0", "0"] in rows
    assert client.get("/complaints/reports/nope.csv").status_code == 404


def test_csv_neutralises_formulas():
    t = reports.Table("x", "x", ["a"], [["=HYPERLINK(1)"], [3]])
    assert reports.to_csv(t).splitlines()[1:] == ["'=HYPERLINK(1)", "3"]


# ---- closure quality review ------------------------------------------------------------------

def test_sample_is_closed_unreviewed_in_subtree(world, data):
    refs = {c.reference for c in complaint_reviews.sample(world.ho1_sup)}
    assert refs == {data["a"].reference, data["b"].reference}
    assert complaint_reviews.sample(world.c2_sup) == []


def test_review_pages_need_supervisor(client, auth, world, data):
    auth.login(world.ho1_op.login_id)
    assert client.get("/complaints/reviews").status_code == 403
    assert client.post(f"/complaints/reviews/{data['a'].reference}", data={"verdict": "good"}).status_code == 403
    auth.logout()
    auth.login(world.c2_sup.login_id)
    assert client.get(f"/complaints/reviews/{data['a'].reference}").status_code == 404


def test_good_review(client, auth, world, data):
    auth.login(world.ho1_sup.login_id)
    page = client.get("/complaints/reviews").data.decode()
    assert data["a"].reference in page and data["far"].reference not in page
    r = client.post(f"/complaints/reviews/{data['a'].reference}", data={"verdict": "good", "remark": ""})
    assert r.status_code == 303
    rev = db.session.scalar(select(ComplaintReview))
    assert rev.verdict == "good" and rev.follow_up_case_id is None and rev.reviewer_id == world.ho1_sup.id
    assert data["a"].reference not in {c.reference for c in complaint_reviews.sample(world.ho1_sup)}
    r = client.post(f"/complaints/reviews/{data['a'].reference}", data={"verdict": "poor", "remark": "x"})
    assert r.status_code == 422 and db.session.scalar(select(func.count()).select_from(ComplaintReview)) == 1


def test_poor_review_opens_linked_follow_up(client, auth, world, data):
    auth.login(world.ho1_sup.login_id)
    ref = data["b"].reference
    r = client.post(f"/complaints/reviews/{ref}", data={"verdict": "poor", "remark": ""})
    assert r.status_code == 422 and b"Say what was poor about the closure." in r.data
    r = client.post(f"/complaints/reviews/{ref}", data={"verdict": "poor",
                                                       "remark": "Compensation below the rules."})
    assert r.status_code == 303
    rev = db.session.scalar(select(ComplaintReview))
    follow = rev.follow_up
    assert r.headers["Location"].endswith(f"/cases/{follow.reference}")
    assert follow.related_case_id == data["b"].id and follow.kind == wf.COMPLAINT
    assert follow.current_office_id == world.ho1.id and follow.status == wf.OPEN
    assert follow.description == "Compensation below the rules."
    assert follow.requester_mobile == data["b"].requester_mobile
    db.session.refresh(data["b"])
    assert data["b"].status == wf.CLOSED  # never reopened
    page = client.get(f"/cases/{ref}").data.decode()
    assert follow.reference in page and "Poor" in page
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.related_case_id == data["b"].id)) == 2


def test_open_complaint_cannot_be_reviewed(world, data):
    from app.domain.errors import WorkflowError

    with pytest.raises(WorkflowError):
        complaint_reviews.record(world.ho1_sup, data["c"], "good", "", LATER)


def test_reports_in_persian(client, auth, world, data):
    auth.login(world.ho1_sup.login_id)
    client.post("/language", data={"lang": "fa", "next": "/"})
    html = client.get("/complaints/reports").data.decode()
    assert 'dir="rtl"' in html and "گزارش‌ها و تحلیل‌ها" in html and "در انتظار مراجع خارجی" in html
    assert "<td>۲</td>" in html  # Persian digits
    assert "مرسولات / حواله پستی" in html  # the category's own Persian name
