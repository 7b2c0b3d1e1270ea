"""Uploads past one machine (issue 28, item 2): an S3-compatible object store (moto's server
mode, a real HTTP server on a local port) or the local disk. A file is in the store before
its row is committed, a store that fails leaves no half-written case and says so beside
the file field, and the orphan sweep removes files no attachment names."""

from __future__ import annotations

import io
import os
import re
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Case, CaseEvent, Category
from app.services.engine import cases
from app.services.infrastructure import uploads
from app.storage import LocalStorage, S3Storage, storage
from tests.conftest import NOW, free_port
from tests.factories import make_case

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STORE_FAILED = "The file could not be saved just now. Please try again in a few minutes."


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def local_files(app) -> list[str]:
    folder = app.config["UPLOAD_FOLDER"]
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


@pytest.fixture(autouse=True)
def own_folder(app, tmp_path):
    """This test's own upload folder (the session's is shared by every test)."""
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")


@pytest.fixture
def sync_category(world):
    cat = Category(kind="office_ticket", code="sync", name_en="Sync", name_hi="सिंक", name_fa="همگام‌سازی")
    db.session.add(cat)
    db.session.commit()
    return cat


def post_ticket(client, category, data=JPEG, name="screen.jpg", subject="Handheld does not sync"):
    return client.post("/tickets/new", content_type="multipart/form-data", data={
        "subject": subject, "category": str(category.id), "description": "Since morning the sync stops at 40%.",
        "submission_key": "k-store", "attachment": (io.BytesIO(data), name)})


def post_reply(client, case, text="See the receipt", data=JPEG, name="receipt.jpg", version=None):
    return client.post(f"/cases/{case.reference}/act", content_type="multipart/form-data", data={
        "action": "reply", "version": case.version if version is None else version, "text": text,
        "attachment": (io.BytesIO(data), name)})


def field_error(html: str, field_id: str) -> str:
    m = re.search(rf'<p class="field-error" id="err-{field_id}"[^>]*>(.*?)</p>', html, re.S)
    assert m, f"no error paragraph for {field_id}"
    return m.group(1).strip()


# ---- the backend is chosen by the configuration ----------------------------------------

def test_local_disk_is_the_default(app):
    store = storage()
    assert isinstance(store, LocalStorage) and str(store.root) == app.config["UPLOAD_FOLDER"]


def test_a_configured_bucket_selects_the_object_store(app, s3):
    store = storage()
    assert isinstance(store, S3Storage) and store.bucket == s3.bucket and store.prefix == "uploads/"


# ---- upload and download through the real pages, on the object store ------------------

def test_ticket_with_attachment_is_raised_and_served_from_the_object_store(client, auth, world, sync_category, s3):
    auth.login(world.so1_user.login_id)
    r = post_ticket(client, sync_category, name="../../screen shot.jpg")
    assert r.status_code == 303
    case = db.session.scalar(select(Case))
    att = db.session.scalar(select(Attachment))
    assert att.case_id == case.id and att.original_name == "screen shot.jpg"
    assert s3.keys() == [f"uploads/{att.stored_name}"] and s3.body(f"uploads/{att.stored_name}") == JPEG
    assert local_files(client.application) == []  # nothing on the local disk
    auth.logout()
    auth.login(world.d1_op.login_id)  # the Division handles the ticket
    r = client.get(f"/cases/{case.reference}/attachments/{att.id}")
    assert r.status_code == 200 and r.data == JPEG
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.headers["Content-Length"] == str(len(JPEG))
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "screen shot.jpg" in r.headers["Content-Disposition"] or "screen%20shot.jpg" in r.headers["Content-Disposition"]
    auth.logout()
    auth.login(world.d2_op.login_id)  # another Division: not found, and nothing read
    assert client.get(f"/cases/{case.reference}/attachments/{att.id}").status_code == 404


def test_reply_with_attachment_on_the_object_store(client, auth, world, s3):
    case = make_case("complaint", world.ho1)
    auth.login(world.ho1_op.login_id)
    r = post_reply(client, case, data=PDF, name="letter.pdf")
    assert r.status_code == 303
    db.session.refresh(case)
    (att,) = case.attachments
    assert att.event.type == "reply" and att.content_type == "application/pdf"
    assert s3.keys() == [f"uploads/{att.stored_name}"]
    r = client.get(f"/cases/{case.reference}/attachments/{att.id}")
    assert r.status_code == 200 and r.data == PDF and r.headers["Content-Type"] == "application/pdf"


def test_download_when_the_object_is_gone_or_the_store_is_down(client, auth, world, s3):
    case = make_case("complaint", world.ho1)
    auth.login(world.ho1_op.login_id)
    assert post_reply(client, case).status_code == 303
    db.session.refresh(case)
    att = case.attachments[0]
    url = f"/cases/{case.reference}/attachments/{att.id}"
    client.application.config["UPLOADS_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    assert client.get(url).status_code == 503  # nobody listens there
    client.application.config["UPLOADS_S3_ENDPOINT_URL"] = s3.url
    s3.client.delete_object(Bucket=s3.bucket, Key=f"uploads/{att.stored_name}")
    assert client.get(url).status_code == 404


# ---- a store that fails: no half-written case, the error beside the field -------------

@pytest.mark.parametrize("failure", ["bucket_missing", "server_down"])
def test_raising_a_ticket_when_the_store_fails_writes_nothing(client, auth, world, sync_category, s3, failure):
    if failure == "bucket_missing":
        s3.client.delete_bucket(Bucket=s3.bucket)
    else:
        client.application.config["UPLOADS_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    auth.login(world.so1_user.login_id)
    r = post_ticket(client, sync_category, subject="Typed subject stays")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert field_error(html, "attachment") == STORE_FAILED
    assert 'value="Typed subject stays"' in html and "Since morning the sync stops at 40%." in html
    assert count(Case) == 0 and count(CaseEvent) == 0 and count(Attachment) == 0


def test_the_store_failure_is_said_in_the_readers_language(client, auth, world, sync_category, s3):
    s3.client.delete_bucket(Bucket=s3.bucket)
    auth.login(world.so1_user.login_id)
    r = client.post("/tickets/new", content_type="multipart/form-data", headers={"Accept-Language": "hi"}, data={
        "subject": "x", "category": str(sync_category.id), "description": "y",
        "attachment": (io.BytesIO(JPEG), "a.jpg")})
    assert "फ़ाइल अभी सहेजी नहीं जा सकी।" in r.get_data(as_text=True)


@pytest.mark.parametrize("failure", ["bucket_missing", "server_down"])
def test_acting_with_an_attachment_when_the_store_fails_changes_nothing(client, auth, world, s3, failure):
    case = make_case("complaint", world.ho1)
    before = (case.status, case.version, len(case.events))
    if failure == "bucket_missing":
        s3.client.delete_bucket(Bucket=s3.bucket)
    else:
        client.application.config["UPLOADS_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    auth.login(world.ho1_op.login_id)
    r = post_reply(client, case, text="My typed answer")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert field_error(html, "file-reply") == STORE_FAILED and "My typed answer" in html
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.status, case.version, len(case.events)) == before and count(Attachment) == 0


def test_a_failed_transaction_deletes_the_object_it_had_put(world, s3, monkeypatch):
    """The object is put first; the commit then fails: no rows, and the object is gone."""
    from app.services.engine import notify

    def boom(*_a, **_k):
        raise RuntimeError("injected")

    case = make_case("complaint", world.ho1)
    monkeypatch.setattr(notify, "enqueue", boom)
    with pytest.raises(RuntimeError):
        cases.act(case, "reply", actor=world.ho1_op, now=NOW, text="x", uploads=[("r.jpg", JPEG)])
    with pytest.raises(RuntimeError):
        cases.raise_case("complaint", office=world.ho1, now=NOW, subject="s", description="d",
                         actor=world.ho1_op, uploads=[("r.jpg", JPEG), ("l.pdf", PDF)])
    assert count(Attachment) == 0 and count(Case) == 1
    assert s3.keys() == []


def test_a_failed_put_of_the_second_file_deletes_the_first(world, s3, monkeypatch):
    real_put = S3Storage.put
    calls = []

    def put_once(self, name, data, ctype):
        calls.append(name)
        if len(calls) > 1:
            raise uploads.StoreError("injected")
        return real_put(self, name, data, ctype)

    monkeypatch.setattr(S3Storage, "put", put_once)
    with pytest.raises(uploads.StoreFailed):
        cases.raise_case("complaint", office=world.ho1, now=NOW, subject="s", description="d",
                         actor=world.ho1_op, uploads=[("r.jpg", JPEG), ("l.pdf", PDF)])
    assert len(calls) == 2 and count(Case) == 0 and s3.keys() == []


def test_a_refused_action_leaves_no_object_behind(client, auth, world, s3):
    """The file was put as the form was read; the action is then refused (the case changed
    meanwhile): the object is deleted before the answer."""
    case = make_case("complaint", world.ho1)
    auth.login(world.ho1_op.login_id)
    r = post_reply(client, case, text="Kept text", version=case.version + 5)
    assert r.status_code == 409 and "Kept text" in r.get_data(as_text=True)
    assert count(Attachment) == 0 and s3.keys() == []


def test_a_form_refused_for_another_field_leaves_no_object_behind(client, auth, world, sync_category, s3):
    auth.login(world.so1_user.login_id)
    r = client.post("/tickets/new", content_type="multipart/form-data", data={
        "subject": "", "category": str(sync_category.id), "description": "d",
        "attachment": (io.BytesIO(JPEG), "a.jpg")})
    assert r.status_code == 422 and count(Case) == 0
    assert s3.keys() == []


def test_a_commit_whose_outcome_is_unknown_keeps_the_object_of_a_stored_row(app, world, s3):
    """`discard` deletes only files that no row names: when the COMMIT reached the
    database but its answer was lost, the attachment exists and so must its file."""
    case = make_case("complaint", world.ho1)
    kept = uploads.keep(("r.jpg", JPEG))
    orphan = uploads.keep(("o.jpg", JPEG))
    uploads.store_upload(case, None, kept, world.ho1_op, NOW)
    db.session.commit()
    uploads.discard([kept, orphan])
    assert s3.keys() == [f"uploads/{kept.stored_name}"]


# ---- the orphan sweep, on both backends -------------------------------------------------

def _attached_and_orphans(world):
    case = make_case("complaint", world.ho1)
    attached = uploads.store_upload(case, None, ("a.jpg", JPEG), world.ho1_op, NOW)
    db.session.commit()
    orphan = uploads.keep(("o.jpg", JPEG)).stored_name  # e.g. a worker killed mid-request
    return attached.stored_name, orphan


def test_orphan_sweep_on_the_object_store(app, world, s3):
    attached, orphan = _attached_and_orphans(world)
    s3.client.put_object(Bucket=s3.bucket, Key="uploads/notes.txt", Body=b"not ours")
    s3.client.put_object(Bucket=s3.bucket, Key="elsewhere/" + orphan, Body=b"outside the prefix")
    now = datetime.utcnow()
    assert uploads.sweep_orphans(now=now) == {"orphans_deleted": 0}  # still within the grace period
    assert uploads.sweep_orphans(now=now + timedelta(hours=25)) == {"orphans_deleted": 1}
    assert s3.keys() == sorted([f"uploads/{attached}", "uploads/notes.txt", f"elsewhere/{orphan}"])


def test_orphan_sweep_on_the_local_disk(app, world):
    attached, orphan = _attached_and_orphans(world)
    folder = app.config["UPLOAD_FOLDER"]
    fresh = uploads.keep(("f.pdf", PDF)).stored_name
    half = ".part-0123456789abcdef-" + "ab" * 16 + ".jpg"  # a write cut short
    for name in (half, "portal.sqlite", "readme.txt"):
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(b"x")
    old = time.time() - 48 * 3600
    for name in (attached, orphan, half, "portal.sqlite", "readme.txt"):
        os.utime(os.path.join(folder, name), (old, old))
    assert uploads.sweep_orphans() == {"orphans_deleted": 2}
    assert local_files(app) == sorted([attached, fresh, "portal.sqlite", "readme.txt"])


def test_uploads_sweep_command(app, runner, world, s3):
    attached, orphan = _attached_and_orphans(world)
    r = runner.invoke(args=["uploads-sweep", "--grace-hours", "0"])
    assert r.exit_code == 0, r.output
    assert "'orphans_deleted': 1" in r.output and s3.keys() == [f"uploads/{attached}"]
    app.config["UPLOADS_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    r = runner.invoke(args=["uploads-sweep"])
    assert r.exit_code == 1 and "the upload store cannot be reached" in r.output


def test_the_scheduler_runs_the_sweep(app, monkeypatch):
    from app.jobs import build_scheduler

    calls = []
    monkeypatch.setitem(app.config, "SCHEDULER_UPLOADS_SECONDS", 900)
    monkeypatch.setattr(uploads, "sweep_orphans", lambda: calls.append(1) or {"orphans_deleted": 0})
    job = {j.id: j for j in build_scheduler(app).get_jobs()}["uploads"]
    assert job.trigger.interval == timedelta(seconds=900)
    job.func()
    assert calls == [1]


def test_local_disk_writes_whole_files_only(app, world):
    """A stored name only ever holds a complete file (written aside, then renamed)."""
    kept = uploads.keep(("a.jpg", JPEG))
    assert local_files(app) == [kept.stored_name]
    assert storage().read(kept.stored_name) == JPEG


def test_local_disk_failure_is_said_beside_the_field(client, auth, world, app):
    folder = app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    in_the_way = os.path.join(folder, "not-a-folder")
    with open(in_the_way, "wb") as fh:  # the upload folder cannot be made: a file is in the way
        fh.write(b"x")
    app.config["UPLOAD_FOLDER"] = in_the_way
    case = make_case("complaint", world.ho1)
    auth.login(world.ho1_op.login_id)
    r = post_reply(client, case, text="Disk full text")
    assert r.status_code == 422 and field_error(r.get_data(as_text=True), "file-reply") == STORE_FAILED
    assert count(Attachment) == 0
