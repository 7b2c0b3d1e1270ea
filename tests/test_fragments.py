"""Queue rows kept per worker for the values they show (app/fragments.py): a kept row is
never stale, follows the page's language, and the cache is bounded."""

import pytest

from app import fragments
from app.extensions import db
from app.services.engine import cases
from tests.conftest import NOW
from tests.factories import make_case


@pytest.fixture(autouse=True)
def _empty_cache():
    fragments.clear()
    yield
    fragments.clear()


def _row_of(page: str, reference: str) -> str:
    start = page.index(f'<a href="/cases/{reference}">')
    return page[page.rindex("<tr", 0, start):page.index("</tr>", start)]


def test_rows_are_kept_and_served_again(client, auth, world, monkeypatch):
    sr = make_case("service_request", world.d1)
    other = make_case("complaint", world.d1)
    auth.login(world.d1_op.login_id)
    rendered = _count_renders(monkeypatch)
    first = client.get("/cases/").get_data(as_text=True)
    assert rendered == ["cases/_case_row.html"] * 2
    second = client.get("/cases/").get_data(as_text=True)
    assert len(rendered) == 2  # both rows served from the kept HTML
    assert _row_of(first, sr.reference) == _row_of(second, sr.reference)
    assert _row_of(first, other.reference) == _row_of(second, other.reference)
    assert "Doorstep service request" in _row_of(second, sr.reference)


def test_a_changed_case_is_shown_changed(client, auth, world):
    sr = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    before = _row_of(client.get("/cases/").get_data(as_text=True), sr.reference)
    assert ">Open<" in before
    cases.act(sr, "start", actor=world.d1_op, now=NOW, text="On the way")
    db.session.commit()
    after = _row_of(client.get("/cases/").get_data(as_text=True), sr.reference)
    assert ">In progress<" in after and ">Open<" not in after


def test_the_same_row_in_another_language(client, auth, world):
    sr = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    english = _row_of(client.get("/cases/").get_data(as_text=True), sr.reference)
    client.post("/language", data={"lang": "fa", "next": "/cases/"})
    persian = _row_of(client.get("/cases/").get_data(as_text=True), sr.reference)
    assert english != persian
    assert "Doorstep service request" not in persian
    assert "status-open" in persian


def test_text_in_a_kept_row_is_escaped(client, auth, world):
    sr = make_case("service_request", world.d1, subject="<script>alert(1)</script>")
    auth.login(world.d1_op.login_id)
    for _ in range(2):  # rendered, then served from the cache
        row = _row_of(client.get("/cases/").get_data(as_text=True), sr.reference)
        assert "<script>" not in row and "&lt;script&gt;" in row


def test_the_caches_are_bounded_least_recently_used_maps():
    # cachetools' LRUCache (its eviction is the library's, tested there).
    from cachetools import LRUCache

    assert isinstance(fragments._rows, LRUCache) and fragments._rows.maxsize == fragments.ROWS_KEPT
    assert isinstance(fragments._fragments, LRUCache) and fragments._fragments.maxsize == fragments.FRAGMENTS_KEPT
    assert isinstance(fragments._pages, LRUCache) and fragments._pages.maxsize == fragments.PAGES_KEPT


def test_a_page_of_rows_is_kept_whole_and_made_again_when_a_row_changes(client, auth, world, monkeypatch):
    """The same rows again are one kept page; a new or changed row makes a new page from
    the kept rows and renders only that row."""
    first = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    rendered = _count_renders(monkeypatch)
    client.get("/cases/")
    assert len(fragments._pages) == 1 and len(rendered) == 1
    client.get("/cases/")
    assert len(fragments._pages) == 1 and len(rendered) == 1
    second = make_case("complaint", world.d1)
    page = client.get("/cases/").get_data(as_text=True)
    assert len(fragments._pages) == 2 and len(rendered) == 2  # only the new row rendered
    assert second.reference in page and first.reference in page
    cases.act(first, "start", actor=world.d1_op, now=NOW, text="On the way")
    db.session.commit()
    page = client.get("/cases/").get_data(as_text=True)
    assert ">In progress<" in _row_of(page, first.reference) and len(rendered) == 3


def test_kept_fragments_forget_the_least_recently_used_first(client, auth, world, monkeypatch):
    # Through `kept` itself, with room for two fragments: the one used least recently goes.
    from cachetools import LRUCache

    # Room for three: the list of views (the same on every request) and two filter blocks.
    monkeypatch.setattr(fragments, "_fragments", LRUCache(3))
    auth.login(world.d1_op.login_id)
    for query in ("", "?status=closed", "", "?kind=complaint"):
        assert client.get(f"/cases/{query}").status_code == 200
    # the (status, kind) chosen in each kept filter block
    kept = [key[3][-2:] for key in fragments._fragments.keys() if key[2] == "queue-filter-selects"]
    assert kept == [(None, None), (None, "complaint")]  # "?status=closed" was the least recent


def _selects(page: str) -> str:
    return page[page.index('id="field-status"'):page.index('<button type="submit">')]


def test_kept_filter_selects_follow_their_values_and_language(client, auth, world):
    auth.login(world.d1_op.login_id)
    plain = _selects(client.get("/cases/").get_data(as_text=True))
    closed = _selects(client.get("/cases/?status=closed&kind=complaint").get_data(as_text=True))
    again = _selects(client.get("/cases/").get_data(as_text=True))
    assert plain == again and "All statuses" in plain
    assert 'selected value="closed"' not in plain
    assert 'selected value="closed"' in closed and 'selected value="complaint"' in closed
    client.post("/language", data={"lang": "hi", "next": "/cases/"})
    hindi = _selects(client.get("/cases/").get_data(as_text=True))
    assert "All statuses" not in hindi and 'value="closed"' in hindi


# ---- a case page's header and timeline (`fragments.memo`) ------------------------------

def _between(page: str, start: str, end: str) -> str:
    i = page.index(start)
    return page[i:page.index(end, i) + len(end)]


def _header(page: str) -> str:
    return _between(page, '<header class="case-header">', "</header>")


def _timeline(page: str) -> str:
    return _between(page, '<ol class="timeline"', "</ol>")


def _count_renders(monkeypatch) -> list:
    rendered = []
    real = fragments._render_alone

    def counting(env, template_name, *args):
        rendered.append(template_name)
        return real(env, template_name, *args)

    monkeypatch.setattr(fragments, "_render_alone", counting)
    return rendered


def test_a_case_pages_header_and_timeline_are_kept_and_served_again(client, auth, world, monkeypatch):
    sr = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    rendered = _count_renders(monkeypatch)
    first = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert sorted(rendered) == ["cases/_case_header.html", "cases/_timeline.html"]
    second = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert len(rendered) == 2  # served from the kept HTML
    assert _header(first) == _header(second) and _timeline(first) == _timeline(second)
    assert sr.reference in _header(second) and "event-created" in _timeline(second)


def test_a_very_long_timeline_is_rendered_each_time_not_kept(client, auth, world, monkeypatch):
    sr = make_case("service_request", world.d1)
    cases.act(sr, "start", actor=world.d1_op, now=NOW, text="Long remark. " * 2000)  # 26 KB
    db.session.commit()
    auth.login(world.d1_op.login_id)
    rendered = _count_renders(monkeypatch)
    for _ in range(2):
        assert "Long remark." in _timeline(client.get(f"/cases/{sr.reference}").get_data(as_text=True))
    assert rendered.count("cases/_timeline.html") == 2
    assert rendered.count("cases/_case_header.html") == 1
    assert all(len(html) <= fragments.MEMO_MAX_CHARS for html in fragments._fragments.values())


def test_a_changed_case_page_shows_the_change(client, auth, world):
    sr = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    before = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert ">Open<" in _header(before) and "On the way" not in _timeline(before)
    cases.act(sr, "start", actor=world.d1_op, now=NOW, text="On the way")
    db.session.commit()
    after = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert ">In progress<" in _header(after) and ">Open<" not in _header(after)
    assert "On the way" in _timeline(after)


def test_a_renamed_office_shows_renamed_on_a_kept_case_page(client, auth, world):
    sr = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    client.get(f"/cases/{sr.reference}")  # kept under the old name
    world.d1.name = "Renamed Division"
    db.session.commit()
    page = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert "Renamed Division" in _header(page)


def test_a_kept_timeline_never_shows_internal_notes_to_those_who_may_not_see_them(client, auth, world):
    ticket = make_case("office_ticket", world.d1, actor=world.so1_user)
    cases.act(ticket, "note", actor=world.d1_op, now=NOW, text="Secret internal remark")
    db.session.commit()
    auth.login(world.d1_op.login_id)
    assert "Secret internal remark" in _timeline(client.get(f"/cases/{ticket.reference}").get_data(as_text=True))
    auth.logout()
    auth.login(world.so1_user.login_id)  # the raising office: public entries only
    for _ in range(2):
        assert "Secret internal remark" not in client.get(f"/cases/{ticket.reference}").get_data(as_text=True)


def test_a_kept_case_header_follows_the_language(client, auth, world):
    sr = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    english = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    client.post("/language", data={"lang": "hi", "next": "/cases/"})
    hindi = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert ">Open<" in _header(english) and ">Open<" not in _header(hindi)
    assert "Status" in _header(english) and "Status" not in _header(hindi)
    assert _timeline(english) != _timeline(hindi)


def test_text_in_a_kept_case_header_and_timeline_is_escaped(client, auth, world):
    sr = make_case("service_request", world.d1, subject="<script>alert(1)</script>")
    cases.act(sr, "start", actor=world.d1_op, now=NOW, text="<img src=x onerror=alert(2)>")
    db.session.commit()
    auth.login(world.d1_op.login_id)
    for _ in range(2):  # rendered, then served from the cache
        page = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
        assert "<script>" not in _header(page) and "&lt;script&gt;" in _header(page)
        assert "<img" not in _timeline(page) and "&lt;img" in _timeline(page)


def test_the_fragment_cache_is_bounded():
    assert fragments._fragments.maxsize == fragments.FRAGMENTS_KEPT


def test_a_partners_name_and_a_rating_show_on_the_timeline(client, auth, world):
    # Both come out of an event's data, which the kept timeline reads as plain values.
    from app.models import CaseEvent

    sr = make_case("service_request", world.d1)
    db.session.add_all([
        CaseEvent(case_id=sr.id, at=NOW, type="external_update", actor_kind="partner", public=True,
                  text="Parcel found", data={"partner": "Speed Post <Hub>"}),
        CaseEvent(case_id=sr.id, at=NOW, type="rate", actor_kind="requester", public=True, data={"rating": 4}),
    ])
    db.session.commit()
    auth.login(world.d1_op.login_id)
    timeline = _timeline(client.get(f"/cases/{sr.reference}").get_data(as_text=True))
    assert "Partner system" in timeline and "(<span dir=\"auto\">Speed Post &lt;Hub&gt;</span>)" in timeline
    assert "Rating: 4/5" in timeline
