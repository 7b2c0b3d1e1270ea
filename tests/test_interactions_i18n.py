"""Staff interaction pages in Persian: right-to-left, the seed's words, and none of
this area's English labels left untranslated (Hindi catalogue checked too)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.services.front_doors import interactions
from tests.conftest import NOW
from tests.test_interactions_flow import build_org

ROOT = Path(__file__).resolve().parent.parent
AREA_FILES = ("app/blueprints/interactions/", "app/templates/interactions/",
              "app/blueprints/helpdesk/", "app/templates/helpdesk/")


def area_messages(lang: str):
    """(msgid, msgstr, fuzzy) of every message used only by this area's files."""
    with open(ROOT / f"translations/{lang}/LC_MESSAGES/messages.po", "rb") as f:
        cat = read_po(f, locale=lang)
    for m in cat:
        if m.id and m.locations and all(loc.startswith(AREA_FILES) for loc, _ in m.locations):
            yield m.id, m.string, m.fuzzy


def english_labels(prefixes) -> list[str]:
    """This area's English labels long enough not to be confused with data."""
    with open(ROOT / "translations/fa/LC_MESSAGES/messages.po", "rb") as f:
        cat = read_po(f, locale="fa")
    out = []
    for m in cat:
        if not isinstance(m.id, str) or "%" in m.id or " " not in m.id.strip() or len(m.id) < 10:
            continue
        if any(loc.startswith(prefixes) for loc, _ in m.locations):
            out.append(m.id)
    return out


def visible_text(body: bytes) -> str:
    text = body.decode()
    text = re.sub(r"<script.*?</script>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return html.unescape(text)


def assert_persian_page(body: bytes, labels, must=()):
    text = body.decode()
    assert 'dir="rtl"' in text and 'lang="fa"' in text
    shown = visible_text(body)
    left = [label for label in labels if label in shown]
    assert not left, f"untranslated: {left}"
    for word in must:
        assert word in shown, word


@pytest.mark.parametrize("lang", ["fa", "hi"])
def test_every_area_string_is_translated(lang):
    msgs = list(area_messages(lang))
    assert len(msgs) > 100
    missing = [i for i, s, fuzzy in msgs if not s or fuzzy]
    assert not missing


@pytest.fixture
def org(world):
    return build_org(world)


def test_interaction_pages_in_persian(client, auth, org):
    labels = english_labels(("app/templates/interactions/", "app/blueprints/interactions/"))
    assert "It is not resolved" in labels and "Send the request to" in labels
    case = interactions.raise_to_department(org.d1_op, org.dept, org.it_subjects[0], "قفل شده", NOW)
    interactions.act(case, "propose_resolution", org.dept_user, NOW, text="باز شد")
    client.set_cookie("lang", "fa")
    auth.login(org.d1_op.login_id)
    r = client.get("/interactions/new")
    assert_persian_page(r.data, labels, must=("تعاملات سازمانی", "ثبت جدید", "دپارتمان", "همکار",
                                              "موضوع درخواست", "گیرنده", "نوع درخواست", "اولویت",
                                              "توضیحات"))
    r = client.post("/interactions/new", data={"addressed_to": "colleague", "description": ""})
    assert r.status_code == 422
    assert_persian_page(r.data, labels, must=("لطفاً این قسمت را تکمیل کنید.",))
    r = client.get("/cases/?view=interactions-mine")
    assert_persian_page(r.data, labels, must=("تعاملات من",))
    r = client.get(f"/cases/{case.reference}")
    assert_persian_page(r.data, labels, must=("حل شده است", "حل نشده است"))
    interactions.act(case, "accept", org.d1_op, NOW)
    r = client.get(f"/cases/{case.reference}")
    assert_persian_page(r.data, labels, must=("نظرسنجی",))
    auth.logout()
    auth.login(org.dept_user.login_id)
    r = client.get("/cases/?view=cartable&status=all")
    assert_persian_page(r.data, labels, must=("کارتابل",))
    case2 = interactions.raise_to_department(org.d1_op, org.dept, org.it_subjects[1], "x", NOW)
    r = client.get(f"/cases/{case2.reference}")
    assert_persian_page(r.data, labels, must=("اختصاص داده شود به",))
