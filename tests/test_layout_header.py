"""The layout's header kept per kind of user, language and page (nav.layout_header): it
follows every change of what it shows, and carries each session's own CSRF token."""

import re

import pytest

from app import nav
from app.extensions import db
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _empty_cache():
    nav.clear_kept()
    yield
    nav.clear_kept()


def _header(page: str) -> str:
    """The header, its CSRF tokens (signed with the time, so they change) blanked."""
    header = page[page.index('<a class="skip-link"'):page.index("</header>")]
    return re.sub(r'(name="csrf_token" value=")[^"]+', r"\1", header)


def test_header_is_kept_and_served_again(client, auth, world):
    auth.login(world.d1_op.login_id)
    first = _header(client.get("/cases/").get_data(as_text=True))
    hits = nav._header_html.cache_info().hits
    second = _header(client.get("/cases/").get_data(as_text=True))
    assert nav._header_html.cache_info().hits > hits
    assert first == second
    assert world.d1_op.name in second and world.d1.name in second
    assert 'href="/cases/?view=office" aria-current="page"' in second  # the inbox's first view


def test_a_renamed_user_and_office_show_at_once(client, auth, world):
    auth.login(world.d1_op.login_id)
    client.get("/cases/")
    world.d1_op.name = "Renamed Operator"
    world.d1.name = "Renamed Division"
    db.session.commit()
    header = _header(client.get("/cases/").get_data(as_text=True))
    assert "Renamed Operator" in header and "Renamed Division" in header


def test_the_header_follows_the_language_and_the_page(client, auth, world):
    auth.login(world.d1_op.login_id)
    english = _header(client.get("/cases/").get_data(as_text=True))
    assert 'name="next" value="/cases/"' in english
    other = _header(client.get("/cases/?status=closed").get_data(as_text=True))
    assert 'name="next" value="/cases/?status=closed"' in other
    client.post("/language", data={"lang": "fa", "next": "/cases/"})
    persian = _header(client.get("/cases/").get_data(as_text=True))
    assert "Skip to main content" in english and "Skip to main content" not in persian


def test_signed_out_and_signed_in_headers_differ(client, auth, world):
    public = _header(client.get("/").get_data(as_text=True))
    assert "/auth/login" in public and "Sign out" not in public
    auth.login(world.d1_op.login_id)
    staff = _header(client.get("/").get_data(as_text=True))
    assert "Sign out" in staff and world.d1_op.name in staff


def test_each_session_gets_its_own_token_and_it_works(app, world):
    """The kept header holds a placeholder; each page gets its session's real token, and
    signing out with the header's own form succeeds with CSRF protection on."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        tokens = []
        for _ in range(2):
            c = app.test_client()
            page = c.get("/auth/login").get_data(as_text=True)
            login_token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
            c.post("/auth/login", data={"csrf_token": login_token, "login_id": world.d1_op.login_id,
                                        "password": PASSWORD})
            page = c.get("/cases/").get_data(as_text=True)
            header = page[page.index('<a class="skip-link"'):page.index("</header>")]
            assert "@@" not in header
            token = re.search(r'action="/auth/logout" class="inline">\s*<input type="hidden" '
                              r'name="csrf_token" value="([^"]+)"', header).group(1)
            tokens.append(token)
            assert c.post("/auth/logout", data={"csrf_token": token}).status_code in (302, 303)
            assert c.get("/cases/").status_code == 302  # signed out
        assert tokens[0] != tokens[1]
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_the_cache_is_bounded():
    assert nav._header_html.cache_info().maxsize == nav.HEADERS_KEPT
