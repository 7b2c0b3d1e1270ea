"""Complaint registration: counter and public pages, dependent dropdowns, attachments
(type, size, content), attachment access, and a new complaint referring to a closed one."""

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Attachment, Case
from app.services.engine import cases
from tests.complaints_support import EXE, JPEG, PDF, complaint, form_data, make_taxonomy, respond_path
from tests.conftest import NOW


@pytest.fixture
def tax(world):
    return make_taxonomy()


def _post(client, url, data, files=()):
    payload = dict(data)
    if files:
        payload["attachments"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(url, data=payload, content_type="multipart/form-data")


def _only_complaint():
    return db.session.scalar(select(Case).where(Case.kind == wf.COMPLAINT).order_by(Case.id.desc()))


def test_counter_registration_enters_operator_office_queue(client, auth, world, tax, app):
    auth.login(world.ho1_op.login_id)
    r = _post(client, "/complaints/new", form_data(tax), files=[("receipt.jpg", JPEG), ("letter.pdf", PDF)])
    assert r.status_code == 303, r.data
    case = _only_complaint()
    assert r.headers["Location"].endswith(f"/cases/{case.reference}")
    assert case.current_office_id == world.ho1.id and case.status == wf.OPEN
    assert case.category_id == tax.delay.id and case.channel == "counter"
    assert case.requester_mobile == "9876543210" and case.data["article"] == "EE123456789IN"
    atts = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)).all()
    assert sorted(a.content_type for a in atts) == ["application/pdf", "image/jpeg"]
    folder = Path(app.config["UPLOAD_FOLDER"])
    assert all((folder / a.stored_name).exists() for a in atts)
    assert "static" not in str(folder)
    # the customer got the reference by SMS and e-mail
    sent = [n for n in case_notifications(case) if n.template == "case_created"]
    assert {n.channel for n in sent} == {"sms", "email"}
    assert all("/respond/" in n.body and "/cases/" not in n.body for n in sent)  # never a staff link
    page = client.get(f"/cases/{case.reference}")
    assert b"EE123456789IN" in page.data and b"receipt.jpg" in page.data


def case_notifications(case):
    from app.models import Notification

    return db.session.scalars(select(Notification).where(Notification.case_id == case.id)).all()


@pytest.mark.parametrize("name,content,message", [
    ("invoice.pdf", EXE, b"Only JPEG images and PDF documents are accepted."),  # a renamed .exe
    ("photo.jpg", EXE, b"Only JPEG images and PDF documents are accepted."),
    ("notes.txt", b"just some text", b"Only JPEG images and PDF documents are accepted."),
    ("big.jpg", b"\xff\xd8\xff" + b"\x00" * (200 * 1024) + b"\xff\xd9", b"larger than 200 KB"),
    ("empty.pdf", b"", b"The file is empty."),
])
def test_attachment_refusals_keep_what_was_typed(client, auth, world, tax, name, content, message):
    auth.login(world.ho1_op.login_id)
    r = _post(client, "/complaints/new", form_data(tax, description="Typed text stays here, please."),
              files=[(name, content)])
    assert r.status_code == 422
    assert message in r.data and name.encode() + b": " in r.data
    assert b"Typed text stays here, please." in r.data and b"Ravi Kumar" in r.data
    assert _only_complaint() is None


def test_size_limit_is_configurable(client, auth, world, tax, app):
    app.config["UPLOAD_MAX_BYTES"] = 100
    auth.login(world.ho1_op.login_id)
    r = _post(client, "/complaints/new", form_data(tax), files=[("a.jpg", JPEG)])
    assert r.status_code == 422 and b"larger than 0 KB" in r.data


def test_too_many_files(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    r = _post(client, "/complaints/new", form_data(tax), files=[(f"{i}.pdf", PDF) for i in range(4)])
    assert r.status_code == 422 and b"Attach at most 3 files." in r.data


def test_validation_messages_are_translated_next_to_fields(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    client.set_cookie("lang", "hi")
    client.post("/language", data={"lang": "hi", "next": "/"})
    r = _post(client, "/complaints/new", form_data(tax, mobile="12345", pincode="56"))
    assert r.status_code == 422
    assert 'id="err-mobile"' in r.data.decode()
    assert "Enter a 10-digit Indian mobile number." not in r.data.decode()
    assert "10 अंकों का भारतीय मोबाइल नंबर दर्ज करें।" in r.data.decode()


def test_english_validation_messages(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    r = _post(client, "/complaints/new", form_data(tax, mobile="12345", pincode="56", type=""))
    assert r.status_code == 422
    for msg in (b"Enter a 10-digit Indian mobile number.", b"Enter a 6-digit pincode.",
                b"Choose the type of grievance."):
        assert msg in r.data


def test_type_must_belong_to_chosen_service(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    r = _post(client, "/complaints/new", form_data(tax, type=str(tax.dispute.id)))
    assert r.status_code == 422 and _only_complaint() is None


def test_dependent_dropdowns_htmx_partial(client, world, tax):
    r = client.get(f"/complaint/choices?category={tax.mail.id}", headers={"HX-Request": "true"})
    assert r.status_code == 200
    html = r.data.decode()
    assert "<html" not in html and 'id="category-fields"' in html
    assert "Speed Post" in html and "NEFT" not in html
    r = client.get(f"/complaint/choices?category={tax.mail.id}&service={tax.speed.id}")
    assert "Delay in delivery" in r.data.decode() and "Article lost" in r.data.decode()
    # a service that is not under the category is dropped
    r = client.get(f"/complaint/choices?category={tax.fin.id}&service={tax.speed.id}")
    assert "Delay in delivery" not in r.data.decode() and "NEFT / RTGS transfer" in r.data.decode()


def test_dependent_dropdowns_without_javascript(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    r = client.get("/complaints/new")
    assert b"Update choices" in r.data and b">Speed Post</option>" not in r.data
    r = client.post("/complaints/new", data={**form_data(tax, service="", type=""), "refresh": "1"})
    assert r.status_code == 200
    html = r.data.decode()
    assert ">Speed Post</option>" in html and "Ravi Kumar" in html and "field-error" in html
    assert "Please fill in this field." not in html  # a refresh is not a failed submission
    assert _only_complaint() is None


def test_public_registration_routes_by_pincode(client, world, tax):
    r = _post(client, "/complaint/new", form_data(tax), files=[("r.pdf", PDF)])
    assert r.status_code == 303
    case = _only_complaint()
    assert case.current_office_id == world.d1.id and case.raised_by_id is None and case.channel == "web"
    assert r.headers["Location"].startswith("/respond/")
    page = client.get(r.headers["Location"])
    assert case.reference.encode() in page.data


def test_public_registration_unknown_pincode(client, world, tax):
    r = _post(client, "/complaint/new", form_data(tax, pincode="999999"))
    assert r.status_code == 422 and b"This pincode is not in our directory." in r.data


def test_public_page_partial_has_no_layout(client, world, tax):
    r = client.get("/complaint/new")
    assert r.status_code == 200 and b"<html" in r.data and b"Register a complaint" in r.data


def test_resubmission_does_not_duplicate(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    data = form_data(tax, submission_key="k" * 32)
    assert _post(client, "/complaints/new", data).status_code == 303
    assert _post(client, "/complaints/new", data).status_code == 303
    assert db.session.scalar(select(db.func.count()).select_from(Case)) == 1


# ---- attachments are served only to those who may see the complaint ----------------

def test_attachment_download_access(client, auth, world, tax):
    auth.login(world.ho1_op.login_id)
    _post(client, "/complaints/new", form_data(tax), files=[("receipt.jpg", JPEG)])
    case = _only_complaint()
    att = case.attachments[0]
    url = f"/cases/{case.reference}/attachments/{att.id}"
    r = client.get(url)
    assert r.status_code == 200 and r.data == JPEG and r.mimetype == "image/jpeg"
    assert "attachment" in r.headers["Content-Disposition"]
    auth.logout()
    assert client.get(url).status_code in (302, 401)  # anonymous: to sign-in
    for other in (world.d3_op, world.so3_user, world.d2_op):
        auth.login(other.login_id)
        assert client.get(url).status_code == 404, other
        auth.logout()
    auth.login(world.d1_sup.login_id)  # the division above the Head Office
    assert client.get(url).status_code == 200


# ---- no reopen; a new complaint refers to the closed one --------------------------------

def _closed_complaint(world, tax):
    case = complaint(world.ho1, world.ho1_op, category=tax.delay)
    cases.act(case, "close", now=NOW, actor=world.ho1_sup, text="Delivered on 12th.")
    return case


def test_new_complaint_links_closed_one_and_both_pages_show_it(client, auth, world, tax):
    old = _closed_complaint(world, tax)
    auth.login(world.ho1_op.login_id)
    r = _post(client, "/complaints/new", form_data(tax, related=old.reference.lower()))
    assert r.status_code == 303
    new = _only_complaint()
    assert new.related_case_id == old.id and old.status == wf.CLOSED
    assert old.reference.encode() in client.get(f"/cases/{new.reference}").data
    old_page = client.get(f"/cases/{old.reference}").data.decode()
    assert "Referred to by" in old_page and new.reference in old_page


def test_public_link_needs_the_same_mobile(client, world, tax):
    old = _closed_complaint(world, tax)
    r = _post(client, "/complaint/new", form_data(tax, related=old.reference, mobile="9000000001"))
    assert r.status_code == 422
    assert b"No complaint with this reference was found for this mobile number." in r.data
    r = _post(client, "/complaint/new", form_data(tax, related=old.reference))
    assert r.status_code == 303 and _only_complaint().related_case_id == old.id
    # the respond page of the new complaint shows the link too
    assert old.reference.encode() in client.get(r.headers["Location"]).data


def test_cannot_refer_to_an_open_complaint(client, world, tax):
    open_one = complaint(world.ho1, world.ho1_op, category=tax.delay)
    r = _post(client, "/complaint/new", form_data(tax, related=open_one.reference))
    assert r.status_code == 422 and b"A new complaint can refer only to a closed one." in r.data


def test_closed_complaint_is_never_reopened(client, auth, world, tax):
    old = _closed_complaint(world, tax)
    assert cases.available_actions(world.ho1_sup, old) == []
    auth.login(world.ho1_sup.login_id)
    for action in ("start", "reply", "transfer", "escalate", "propose_resolution"):
        r = client.post(f"/cases/{old.reference}/act", data={"action": action, "version": old.version,
                                                            "text": "reopen"})
        assert r.status_code == 409, action  # not possible in its state (app.failures)
    db.session.refresh(old)
    assert old.status == wf.CLOSED
    # nor by the customer: the respond page offers only the rating
    page = client.get(respond_path(old)).data.decode()
    assert "cannot be reopened" in page and 'value="accept"' not in page and 'value="rate"' in page


def test_registration_needs_staff_role(client, auth, world, tax):
    auth.login(world.r1_mon.login_id)  # monitor only
    assert client.get("/complaints/new").status_code == 403
    auth.logout()
    assert client.get("/complaints/new").status_code in (302, 401)


def test_public_page_in_persian_is_rtl(client, world, tax):
    client.set_cookie("lang", "fa")
    r = client.get("/complaint/new")
    html = r.data.decode()
    assert 'dir="rtl"' in html and "ثبت شکایت" in html and "کد پستی" in html


def test_public_registration_needs_csrf_token(app, client, world, tax):
    app.config["WTF_CSRF_ENABLED"] = True
    r = _post(client, "/complaint/new", form_data(tax))
    assert r.status_code == 400 and _only_complaint() is None


def test_allowed_types_are_configurable(client, auth, world, tax, app):
    app.config["UPLOAD_ALLOWED_TYPES"] = ("image/jpeg",)
    auth.login(world.ho1_op.login_id)
    r = _post(client, "/complaints/new", form_data(tax), files=[("letter.pdf", PDF)])
    assert r.status_code == 422 and b"letter.pdf: Only JPEG images" in r.data
    assert _post(client, "/complaints/new", form_data(tax), files=[("photo.jpg", JPEG)]).status_code == 303


def test_rejected_complaint_row_clears_the_assignee():
    from app.domain import workflow as wf_

    t = wf_.find(wf_.COMPLAINT, wf_.AWAITING_CONFIRMATION, "reject", {wf_.REQUESTER})
    assert t.target == wf_.OPEN and "escalate" in t.effects and "clear_assignee" in t.effects
    assert t.needs_text
