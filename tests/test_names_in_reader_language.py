"""Issue 25 item 1: an office's name is read in the reader's language wherever it is
shown — the case timeline, the partner API (by Accept-Language), the messages sent (in
the recipient's language) and the league table — English only where it has no other."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.services.engine import cases, notify
from tests.api_support import bearer, new_key
from tests.conftest import NOW
from tests.factories import make_case

H = timedelta(hours=1)


def _name_offices(world):
    world.d1.name_fa, world.d1.name_hi = "ناحیه یک", "मंडल एक"
    world.r1.name_fa, world.r1.name_hi = "منطقه یک", "क्षेत्र एक"
    db.session.commit()


def test_the_timeline_names_offices_in_the_readers_language(client, auth, world):
    _name_offices(world)
    case = make_case("complaint", world.d1)
    cases.act(case, "transfer", now=NOW + H, actor=world.d1_sup, target_office=world.r1,
              text="For the Region.")
    auth.login(world.r1_op.login_id)
    page = {}
    for lang in ("fa", "hi", "en"):
        client.set_cookie("lang", lang)
        html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
        # the timeline alone (the header names the holding office too)
        start = html.index('<ol class="timeline" id="timeline">')
        page[lang] = html[start:html.index("</ol>", start)]
    assert "منطقه یک" in page["fa"] and "क्षेत्र एक" not in page["fa"]
    assert "क्षेत्र एक" in page["hi"] and "منطقه یک" not in page["hi"]
    assert "منطقه یک" not in page["en"] and "क्षेत्र एक" not in page["en"]


def test_the_api_names_offices_in_the_accept_language(client, world):
    _name_offices(world)
    case = make_case("complaint", world.d1)
    key = new_key("C1")
    en = client.get(f"/api/v1/cases/{case.reference}", headers=bearer(key))
    fa = client.get(f"/api/v1/cases/{case.reference}", headers={**bearer(key), "Accept-Language": "fa"})
    assert en.json["office"] == {"code": "D1", "name": "D1", "kind": "division"}
    assert fa.json["office"] == {"code": "D1", "name": "ناحیه یک", "kind": "division"}


def test_a_message_names_the_office_in_the_recipients_language(app, world):
    _name_offices(world)
    case = make_case("complaint", world.d1)
    with app.test_request_context("/"):
        assert notify.case_context(case, "fa")["office"] == "ناحیه یک"
        assert notify.case_context(case, "hi")["office"] == "मंडल एक"
        assert notify.case_context(case, "en")["office"] == "D1"
