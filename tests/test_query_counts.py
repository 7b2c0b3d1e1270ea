"""No N+1: the number of SQL statements a page runs does not grow with its rows."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.services.engine import cases
from tests.conftest import NOW
from tests.factories import make_case


@contextmanager
def count_queries():
    counter = {"n": 0}

    def before(_conn, _cursor, statement, *_args, **_kw):
        counter["n"] += 1
        counter.setdefault("sql", []).append(statement[:90])

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _queries(client, path):
    client.get(path)  # warm caches (user, translations)
    with count_queries() as c:
        assert client.get(path).status_code == 200
    return c["n"]


def _add_rows(world, n, offset):
    for i in range(n):
        c = make_case("service_request", world.d1, now=NOW + timedelta(minutes=offset + i))
        if i % 3:
            cases.act(c, "start", actor=world.d1_op if i % 2 else world.d1_op2, now=NOW + timedelta(hours=9))


@pytest.mark.parametrize("path", ["/cases/", "/cases/export.csv", "/cases/?view=doorstep",
                                  "/cases/export.csv?view=doorstep", "/cases/counts"])
def test_queue_page_and_export_queries_do_not_grow_with_rows(client, auth, world, path):
    _add_rows(world, 4, 0)
    auth.login(world.d1_op.login_id)
    few = _queries(client, path)
    _add_rows(world, 20, 100)
    many = _queries(client, path)
    assert many == few


def test_case_page_queries_do_not_grow_with_events(client, auth, world):
    case = make_case("complaint", world.ho1)
    auth.login(world.ho1_op.login_id)

    def add(n, start):
        for i in range(start, start + n):
            cases.act(case, "note" if i % 2 else "reply", actor=world.ho1_op if i % 3 else world.ho1_sup,
                      now=NOW + timedelta(minutes=i), text=f"step {i}")

    add(4, 0)
    db.session.expire_all()
    few = _queries(client, f"/cases/{case.reference}")
    for i in range(4, 19):
        cases.act(case, "note" if i % 2 else "reply", actor=world.ho1_op if i % 3 else world.ho1_sup,
                  now=NOW + timedelta(minutes=i), text=f"step {i}")
    db.session.expire_all()
    many = _queries(client, f"/cases/{case.reference}")
    assert many == few


def test_dashboard_queries_do_not_grow_with_cases(client, auth, world):
    for i in range(3):
        make_case("service_request", world.d1, now=NOW + timedelta(minutes=i))
    auth.login(world.c1_sup.login_id)
    few = _queries(client, "/dashboard/")
    for office in (world.d1, world.d2, world.d3):
        for i in range(8):
            make_case("service_request", office, now=NOW + timedelta(minutes=10 + i))
    many = _queries(client, "/dashboard/")
    assert many == few



@pytest.mark.parametrize("path, budget", [
    ("/cases/", 2), ("/cases/?size=50&q=Case", 2), ("/cases/?view=office", 2),
    # a kind's view: its rows as cases, with their office, category, assignee, raising
    # office and raiser loaded once for the page (one statement each)
    ("/cases/?view=doorstep", 7),
    ("/cases/counts", 2), ("/cases/counts?view=doorstep", 2),  # every view's count: one statement
])
def test_queue_page_stays_within_its_statement_budget(client, auth, world, path, budget):
    """The signed-in user with roles and office is one statement; the queue's rows with
    the assignee's name one more. The inbox's default view is the office queue (its fast
    path); the counts of the views are fetched by the page afterwards (/cases/counts), so
    the page's own budget did not move."""
    _add_rows(world, 6, 0)
    auth.login(world.d1_op.login_id)
    db.session.expire_all()
    assert _queries(client, path) <= budget


@pytest.mark.parametrize("kind, budget", [("service_request", 4), ("complaint", 11)])
def test_case_page_stays_within_its_statement_budget(client, auth, world, kind, budget):
    """User (1); the case with its offices, category and assignee (1); the timeline with
    who and where and its attachments (1); the case it possibly repeats and those that
    possibly repeat it, in one statement (issue 27) (1). A doorstep request's panel shows
    its pincode's post office, read with the case (`Case.pincode_office`: none more).
    A complaint being worked adds the action
    forms' choices (transfer offices, external authorities, colleagues with roles) and
    the complaint panel (related case, closure review)."""
    case = make_case(kind, world.d1)
    cases.act(case, "start", actor=world.d1_op, now=NOW + timedelta(hours=1))
    auth.login(world.d1_op.login_id)
    db.session.expire_all()
    assert _queries(client, f"/cases/{case.reference}") <= budget


def test_raising_a_doorstep_request_stays_within_its_statement_budget(client, world):
    """With the reference data cached in the process (`app.services.read_models.refcache`): the
    generation's token (1); the submission key and the reference's uniqueness (1); the
    case, its counter, its day counter (the dashboard's trend) (3); its timeline row and
    the outbox rows, one plain INSERT each (2); the open cases of the same mobile or
    e-mail about the service, shown before sending (1), the look-up of an earlier case it
    may repeat and its league counter (2) (issue 27) — 10. The confirmation's reference
    is kept, not read back after the commit.

    The first raise after a change of reference data also reads the pincode with its
    Division, the SLA matrix, the holidays, the office's contacts and the wording of each
    language among the requester and the office's staff (1 or 2; the test's office has
    staff reading two languages)."""
    from tests.citizen_support import add_services, form_data

    services = add_services(world)
    first = form_data(services[0], pincode="570001")
    second = form_data(services[0], pincode="570001", submission_key="key-" + "w" * 20)
    client.get("/request")  # the service list
    db.session.remove()  # as in a worker, each request starts with an empty session
    with count_queries() as cold:
        r = client.post("/request", data=first)
    assert r.status_code == 303
    db.session.remove()
    with count_queries() as warm:
        r = client.post("/request", data=second)
    assert r.status_code == 303
    assert warm["n"] <= 10
    assert cold["n"] <= 16, "\n".join(s.replace("\n", " ") for s in cold["sql"])


def test_the_timeline_gives_each_event_its_own_attachments_in_one_statement(app, world):
    from app.models import Attachment, CaseEvent
    from app.services.read_models import queues

    case = make_case("complaint", world.d1)
    cases.act(case, "start", actor=world.d1_op, now=NOW + timedelta(hours=1))
    cases.act(case, "note", actor=world.d1_op, now=NOW + timedelta(hours=2), text="internal")
    cases.act(case, "reply", actor=world.d1_op, now=NOW + timedelta(hours=3), text="public")
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                .order_by(CaseEvent.id)).all()
    note = next(e for e in events if e.type == "note")
    reply = next(e for e in events if e.type == "reply")
    other = make_case("complaint", world.d1)  # another case's attachment never shows here

    def attach(c, event_id, name):
        db.session.add(Attachment(case_id=c.id, event_id=event_id, original_name=name, stored_name=name,
                                  content_type="text/plain", size=10, sha256="0" * 64))

    attach(case, reply.id, "b.txt")
    attach(case, reply.id, "a.txt")
    attach(case, note.id, "secret.txt")
    attach(case, None, "loose.txt")  # on no event: the timeline has nowhere to show it
    attach(other, reply.id, "elsewhere.txt")
    db.session.commit()

    db.session.expire_all()
    assert case.id  # the case is loaded already when the page asks for its timeline
    with count_queries() as seen:
        full = queues.timeline(case, internal=True).events
    assert seen["n"] == 1
    assert [e.id for e in full] == [e.id for e in events]  # each event once, in order
    names = {e.type: [a.original_name for a in e.attachments] for e in full}
    assert names["reply"] == ["b.txt", "a.txt"]  # in the order they were added
    assert names["note"] == ["secret.txt"]
    assert all(not e.attachments for e in full if e.type not in ("reply", "note"))
    public = queues.timeline(case, internal=False).events
    assert "note" not in {e.type for e in public}
    assert [a.original_name for e in public for a in e.attachments] == ["b.txt", "a.txt"]
