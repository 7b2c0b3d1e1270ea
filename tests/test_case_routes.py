"""The shared case page: access per office and role, htmx partials, actions, conflicts,
attachments."""

import pytest

from app.extensions import db
from app.services.engine import cases
from tests.conftest import NOW
from tests.factories import make_case

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


@pytest.fixture
def sr(world):
    return make_case("service_request", world.d1)


@pytest.mark.parametrize("who,status", [
    ("d1_op", 200), ("r1_op", 200), ("c1_sup", 200), ("admin", 200),
    ("d2_op", 404), ("r2_op", 404), ("c2_sup", 404), ("so3_user", 404),
])
def test_case_page_visibility_by_jurisdiction(client, auth, world, sr, who, status):
    auth.login(getattr(world, who).login_id)
    assert client.get(f"/cases/{sr.reference}").status_code == status


def test_unknown_and_foreign_references_look_the_same(client, auth, world, sr):
    auth.login(world.d2_op.login_id)
    a = client.get(f"/cases/{sr.reference}")
    b = client.get("/cases/SR-2611-ZZZZZZZ")
    assert a.status_code == b.status_code == 404
    assert a.data.replace(sr.reference.encode(), b"X") == b.data.replace(b"SR-2611-ZZZZZZZ", b"X")


def test_region_sees_doorstep_request_read_only(client, auth, world, sr):
    auth.login(world.r1_op.login_id)
    page = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert "There is nothing for you to do on this case now." in page
    r = client.post(f"/cases/{sr.reference}/act", data={"action": "complete", "version": sr.version})
    assert r.status_code == 403
    db.session.refresh(sr)
    assert sr.status == "open"


def test_htmx_gets_the_partial_only(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    full = client.get(f"/cases/{sr.reference}")
    part = client.get(f"/cases/{sr.reference}", headers={"HX-Request": "true"})
    assert b"<html" in full.data and b"<html" not in part.data
    assert b'id="case-panel"' in part.data
    assert "HX-Request" in part.headers["Vary"]


def test_action_then_redirect_and_timeline(client, auth, world, sr):
    auth.login(world.d1_op.login_id)
    r = client.post(f"/cases/{sr.reference}/act",
                    data={"action": "start", "version": sr.version, "text": "Postman on the way"})
    assert r.status_code == 303
    page = client.get(f"/cases/{sr.reference}").get_data(as_text=True)
    assert "Postman on the way" in page and "In progress" in page


def test_stale_version_gets_409_and_keeps_the_text(client, auth, world):
    case = make_case("complaint", world.ho1)
    stale = case.version
    cases.act(case, "reply", actor=world.ho1_sup, now=NOW, text="Someone else answered")
    auth.login(world.ho1_op.login_id)
    r = client.post(f"/cases/{case.reference}/act",
                    data={"action": "reply", "version": stale, "text": "My careful answer"})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "changed by someone else meanwhile" in page
    assert "My careful answer" in page
    assert "Someone else answered" in page


def test_missing_text_is_refused_with_message(client, auth, world):
    case = make_case("complaint", world.ho1)
    auth.login(world.ho1_op.login_id)
    r = client.post(f"/cases/{case.reference}/act", data={"action": "reply", "version": case.version, "text": ""})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    # beside the field (app.failures): the message in the reply form's error slot
    assert 'id="err-text-reply" aria-live="polite">Please write your text.</p>' in page


def test_internal_note_hidden_from_raising_office(client, auth, world):
    ticket = make_case("office_ticket", world.d1, actor=world.so1_user)
    cases.act(ticket, "note", actor=world.d1_op, now=NOW, text="Secret internal remark")
    cases.act(ticket, "reply", actor=world.d1_op, now=NOW, text="Public answer")
    auth.login(world.so1_user.login_id)
    page = client.get(f"/cases/{ticket.reference}").get_data(as_text=True)
    assert "Public answer" in page and "Secret internal remark" not in page
    auth.logout()
    auth.login(world.d1_op.login_id)
    assert "Secret internal remark" in client.get(f"/cases/{ticket.reference}").get_data(as_text=True)


def test_attachment_upload_and_guarded_download(client, auth, world):
    from io import BytesIO

    case = make_case("complaint", world.ho1)
    auth.login(world.ho1_op.login_id)
    r = client.post(f"/cases/{case.reference}/act", content_type="multipart/form-data",
                    data={"action": "reply", "version": case.version, "text": "See receipt",
                          "attachment": (BytesIO(JPEG), "../../etc/receipt.jpg")})
    assert r.status_code == 303
    db.session.refresh(case)
    att = case.attachments[0]
    assert att.original_name == "receipt.jpg"
    r = client.get(f"/cases/{case.reference}/attachments/{att.id}")
    assert r.status_code == 200 and r.data == JPEG
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)  # under its reply
    assert f'href="/cases/{case.reference}/attachments/{att.id}">receipt.jpg</a>' in page
    assert page.index("See receipt") < page.index("receipt.jpg</a>")
    auth.logout()
    auth.login(world.d2_op.login_id)
    assert client.get(f"/cases/{case.reference}/attachments/{att.id}").status_code == 404


def test_renamed_executable_is_refused(client, auth, world):
    from io import BytesIO

    case = make_case("complaint", world.ho1)
    auth.login(world.ho1_op.login_id)
    r = client.post(f"/cases/{case.reference}/act", content_type="multipart/form-data",
                    data={"action": "reply", "version": case.version, "text": "Keep me",
                          "attachment": (BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "photo.jpg")})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Only JPEG images and PDF documents are accepted." in page and "Keep me" in page
    db.session.refresh(case)
    assert case.attachments == [] and all(e.type != "reply" for e in case.events)


def test_queue_lists_office_cases_with_search(client, auth, world):
    a = make_case("service_request", world.d1, subject="Pension delivery")
    make_case("service_request", world.d2, subject="Other division")
    auth.login(world.d1_op.login_id)
    page = client.get("/cases/").get_data(as_text=True)
    assert a.reference in page and "Other division" not in page
    part = client.get("/cases/?q=Pension", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert a.reference in part and "<html" not in part
    assert "No cases match." in client.get("/cases/?q=nothing-like-this").get_data(as_text=True)


def test_queue_pagination_is_keyset(client, auth, world, app):
    from datetime import timedelta

    refs = [make_case("service_request", world.d1, now=NOW + timedelta(minutes=i)).reference for i in range(30)]
    auth.login(world.d1_op.login_id)
    first = client.get("/cases/").get_data(as_text=True)
    assert refs[-1] in first and refs[0] not in first
    after = first.split("after=")[1].split('"')[0].split("&")[0]
    second = client.get(f"/cases/?after={after}").get_data(as_text=True)
    assert refs[0] in second and refs[-1] not in second


def test_error_page_for_htmx_replaces_the_whole_page(client, auth, world):
    auth.login(world.d2_op.login_id)
    r = client.get("/cases/SR-2611-0000000", headers={"HX-Request": "true"})
    assert r.status_code == 404 and r.headers["HX-Retarget"] == "body"
