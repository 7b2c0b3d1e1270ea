"""No page shows a Hindi or Persian reader English of the interface's own (issue 25, item 5).

The walk of `test_page_hygiene` (every demo account, every page reached by links) is made
in hi and in fa, and each page's visible text is read by `tests.english_audit`: a word in
Latin letters that is not user data, a reference, an e-mail, a code on the allow-list or
inside an element marked `lang="en"` fails the test, with the page where it was seen. A
new English string in a template or a message therefore cannot land unnoticed."""

from __future__ import annotations

import pytest

from tests import english_audit as audit
from tests.test_page_hygiene import _seeds, _walk


@pytest.mark.parametrize("html, found", [
    ("<p>नमस्ते <b>Submit</b></p>", ["Submit"]),
    ('<p lang="en" dir="ltr">Network connectivity</p>', []),
    ('<button title="Close window">×</button>', ["Close", "window"]),
    ("<p>شماره SR-5K2M-9QX4-7H3 ثبت شد، a.b@example.in</p>", []),
    ("<script>var Hello = 1</script><code>flask run</code>", []),
    ('<input type="hidden" name="next" value="Anything">', []),
    ("<p>SLA و OTP</p>", []),
])
def test_the_reader_finds_english_of_the_interface(html, found):
    assert audit.english_words(html, set()) == found


def test_user_data_is_not_a_finding():
    assert audit.english_words("<td>Ramesh Kumar</td>", {"ramesh", "kumar"}) == []


@pytest.fixture
def demo(app):
    from app.services.administration import demo

    demo.load(case_count=25)
    return demo


@pytest.mark.parametrize("lang", ["hi", "fa"])
def test_no_page_shows_english_of_the_interface(app, demo, lang):
    from app.extensions import db
    from app.services.administration.demo import DEMO_PASSWORD

    before = audit.data_words(db.session)
    accounts = [None] + [login_id for login_id, _what in demo.demo_logins()]
    found, seeds = {}, _seeds(app)
    for login_id in accounts:
        client = app.test_client()
        client.set_cookie(audit.LOCALE_COOKIE, lang)
        if login_id:
            r = client.post("/auth/login", data={"login_id": login_id, "password": DEMO_PASSWORD})
            assert r.status_code == 302, login_id
            client.post("/language", data={"lang": lang})
        pages, _endpoints = _walk(app, client, seeds, limit=300,
                                  check=lambda html: audit.english_words(html, before))
        for url, words in pages.items():
            found[f"{login_id or 'anonymous'} {url}"] = words
    # What the walk itself wrote (audit rows, sign-ins) is user data too.
    data = before | audit.data_words(db.session)
    found = {page: left for page, words in found.items()
             if (left := [w for w in words if w.lower() not in data])}
    assert found == {}
