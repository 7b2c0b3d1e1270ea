"""Issue 22 item 2: one safe-target check (`app.inputs.safe_next`) for every
client-supplied redirect target (`next` of the language switcher and of sign-in)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from app.inputs import safe_next
from tests.factories import PASSWORD

HOSTILE = [
    "//evil.example", "///evil.example", "//evil.example/x", "/\\evil.example", "/\\/evil.example",
    "\\\\evil.example", "\\/evil.example", "/\t/evil.example", "/\n/evil.example", "/\r/evil.example",
    "\t//evil.example", " //evil.example", "/\x0b/evil.example",
    "/\x00/evil.example", "/\x1f/evil.example", "/\x7f/evil.example", "/\x85/evil.example",
    "http://evil.example", "https://evil.example/", "HTTPS://evil.example", "https:evil.example",
    "https:/evil.example", "ftp://evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>", "%2F%2Fevil.example", "/%2F/evil.example",
    "/%2f%2fevil.example", "/%5Cevil.example", "/%5cevil.example", "/%09/evil.example",
    "/%0A/evil.example", "/%252F/evil.example", "/%25252F%25252F/evil.example",
    "／／evil.example", "/／evil.example", "/＼evil.example", "/\u2028/evil.example",
    "/\u202e/elpmaxe.live", "/\u2066/evil.example", "evil.example", "cases/", "", None, 42,
    "/" + "a" * 5000, "/%E0%A4",
]
LOCAL = ["/", "/cases/", "/cases/?status=closed&kind=service_request", "/track/SR-2026-000001",
         "/dashboard/?office=3&days=7", "/cases/?q=%D8%B1%D8%B6%D8%A7", "/cases/?q=रवि",
         "/cases/?q=می\u200cخواهم"]


@pytest.mark.parametrize("target", HOSTILE, ids=repr)
def test_hostile_targets_are_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", LOCAL)
def test_local_paths_are_kept(target):
    assert safe_next(target) == target


def _is_local(location: str) -> bool:
    parts = urlsplit(location)
    return not parts.scheme and not parts.netloc and location.startswith("/") \
        and not location.startswith("//") and "\\" not in location


@pytest.mark.parametrize("target", [t for t in HOSTILE if isinstance(t, str) and "\x00" not in t], ids=repr)
def test_language_switcher_never_leaves_the_site(client, target):
    r = client.post("/language", data={"lang": "hi", "next": target})
    assert r.status_code == 303
    assert r.headers["Location"] == "/"


def test_the_reported_tab_trick(client):
    r = client.post("/language", data={"lang": "fa", "next": "/\t/evil.example"})
    assert r.headers["Location"] == "/"  # was //evil.example


def test_language_switcher_keeps_a_local_page(client):
    r = client.post("/language", data={"lang": "fa", "next": "/track?reference=X"})
    assert r.headers["Location"] == "/track?reference=X"


@pytest.mark.parametrize("target", [t for t in HOSTILE if isinstance(t, str) and "\x00" not in t
                                    and "\n" not in t and "\r" not in t], ids=repr)
def test_sign_in_next_never_leaves_the_site(client, world, target):
    r = client.post(f"/auth/login?next={quote(target, safe='')}",
                    data={"login_id": world.d1_op.login_id, "password": PASSWORD})
    assert r.status_code in (302, 303)
    assert r.headers["Location"] == "/"


def test_sign_in_next_keeps_a_local_page(client, world):
    r = client.post("/auth/login?next=%2Fcases%2F%3Fstatus%3Dclosed",
                    data={"login_id": world.d1_op.login_id, "password": PASSWORD})
    assert r.headers["Location"] == "/cases/?status=closed"


@pytest.mark.parametrize("path", ["/%09/evil.example", "/%5C/evil.example", "/%0D/evil.example",
                                  "/%EF%BC%8F/evil.example"])
def test_a_404_page_offers_no_foreign_target(client, path):
    """One click on a language button of a 404 page must not leave the site."""
    r = client.get(path)
    assert r.status_code == 404
    values = re.findall(r'name="next" value="([^"]*)"', r.get_data(as_text=True))
    assert values
    for value in map(html.unescape, values):
        assert value == "" or safe_next(value) == value
        back = client.post("/language", data={"lang": "hi", "next": value})
        assert _is_local(back.headers["Location"]), back.headers["Location"]


APP = Path(__file__).resolve().parent.parent / "app"
TARGET_NAMES = r"next|back|return_to|returnTo|redirect_to|redirect|continue|came_from|url"


def test_every_redirect_target_from_the_client_goes_through_safe_next():
    """No view reads a `next`-style value or the Referer without `safe_next`."""
    bad = []
    for path in APP.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            reads_target = re.search(rf"""(args|form|values)(\.get\(|\[)["'](?:{TARGET_NAMES})["']""", line)
            if (reads_target and "safe_next(" not in line) or "referrer" in line or "Referer" in line:
                bad.append(f"{path.relative_to(APP.parent)}:{n}: {line.strip()}")
    assert bad == []
