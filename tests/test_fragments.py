"""Queue rows kept per worker for the values they show (app/fragments.py): a kept row is
never stale, follows the page's language, and the cache is bounded."""

import pytest

from app import fragments
from app.extensions import db
from app.services import cases
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


def test_rows_are_kept_and_served_again(client, auth, world):
    sr = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    first = client.get("/cases/").get_data(as_text=True)
    hits = fragments._row_html.cache_info().hits
    second = client.get("/cases/").get_data(as_text=True)
    assert fragments._row_html.cache_info().hits > hits
    assert _row_of(first, sr.reference) == _row_of(second, sr.reference)
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


def test_the_cache_is_bounded():
    assert fragments._row_html.cache_info().maxsize == fragments.ROWS_KEPT


def test_kept_fragments_forget_the_least_recently_used_first():
    # The fragments' map is ours (the rows use functools.lru_cache): its eviction is tested.
    lru = fragments._LRU(2)
    lru.put("a", "A")
    lru.put("b", "B")
    assert lru.get("a") == "A"  # "a" is now the more recently used
    lru.put("c", "C")
    assert lru.get("b") is None and lru.get("a") == "A" and lru.get("c") == "C"
    assert len(lru.data) == 2
    lru.clear()
    assert lru.get("a") is None
    assert fragments._fragments.size == fragments.FRAGMENTS_KEPT


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
