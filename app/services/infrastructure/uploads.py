"""Attachments: checked by content (magic bytes), kept in the store (`app.storage`: the
folder `instance/uploads/`, or an S3-compatible object store) by a random name, served only
after an access check.

A file is put into the store first, under a fresh name (`keep`, which `read_checked` does
as a form is read, so a store that fails is a message beside the file field); the case
service then writes its row in the case's transaction (`store_upload`), and deletes the
file again when that transaction fails (`discard`). Files that never got their row are
deleted at the end of the request, and in any case by the orphan sweep."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app, g, has_request_context
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment
from app.storage import StoreError, storage

log = logging.getLogger("sevadesk.uploads")
_PENDING = "uploads_pending"  # g: stored names kept in this request, not yet handed to a transaction
SWEEP_BATCH = 1000

SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/pdf": (b"%PDF-",),
}
EXTENSIONS = {"image/jpeg": ".jpg", "application/pdf": ".pdf"}
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"PK\x03\x04", b"\xca\xfe\xba\xbe")


class UploadRejected(ValueError):
    """`code` is one of: empty, too_large, bad_type, polyglot."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are, among the allowed ones."""
    for ctype, magics in SIGNATURES.items():
        if any(data.startswith(m) for m in magics):
            return ctype
    return None


def check_upload(data: bytes) -> str:
    """Validate an upload's bytes; return its content type or raise UploadRejected."""
    cfg = current_app.config
    if not data:
        raise UploadRejected("empty")
    if len(data) > cfg["UPLOAD_MAX_BYTES"]:
        raise UploadRejected("too_large")
    if data.startswith(EXECUTABLE_MAGIC):
        raise UploadRejected("bad_type")
    ctype = sniff(data)
    if ctype is None or ctype not in cfg["UPLOAD_ALLOWED_TYPES"]:
        raise UploadRejected("bad_type")
    # A file that is both (a JPEG with a PDF inside, or the reverse) is refused.
    if ctype == "image/jpeg" and b"%PDF-" in data[:4096]:
        raise UploadRejected("polyglot")
    if ctype == "application/pdf" and b"\xff\xd8\xff" in data[:16]:
        raise UploadRejected("polyglot")
    if ctype == "image/jpeg" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise UploadRejected("bad_type")
    return ctype


def safe_name(name: str, ctype: str) -> str:
    """A display name without paths or control characters, with the checked extension."""
    name = unicodedata.normalize("NFKC", os.path.basename((name or "").replace("\\", "/")))
    stem = re.sub(r"[^\w\-. ]", "_", Path(name).stem, flags=re.UNICODE).strip(" ._")[:80]
    return f"{stem or 'attachment'}{EXTENSIONS[ctype]}"


class StoreFailed(RuntimeError):
    """The store (disk or object store) could not keep or give back a file."""


@dataclass(frozen=True)
class Kept:
    """An upload that passed the checks and is already in the store under a fresh random
    name, not yet named by any attachment row. The case service attaches it in its
    transaction; a kept file that never gets its row is deleted (at the end of the
    request, when the transaction fails, or at the latest by the orphan sweep)."""

    filename: str  # as the user named it (made safe when the row is written)
    stored_name: str
    content_type: str
    size: int
    sha256: str


def upload_dir() -> Path:
    """The local folder of the disk backend (default `instance/uploads/`)."""
    path = Path(current_app.config.get("UPLOAD_FOLDER") or Path(current_app.instance_path) / "uploads")
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep(upload) -> Kept:
    """Check an upload `(filename, bytes)` and put it into the store under a fresh name
    (UploadRejected, StoreFailed). A `Kept` is returned as it is."""
    if isinstance(upload, Kept):
        return upload
    filename, data = upload
    ctype = check_upload(data)
    stored = f"{secrets.token_hex(16)}{EXTENSIONS[ctype]}"
    try:
        storage().put(stored, data, ctype)
    except StoreError as exc:
        log.warning("upload not stored: %s", exc)
        raise StoreFailed(str(exc)) from exc
    kept = Kept(filename=filename, stored_name=stored, content_type=ctype, size=len(data),
                sha256=hashlib.sha256(data).hexdigest())
    if has_request_context():  # deleted at the end of the request unless handed on
        g.setdefault(_PENDING, set()).add(stored)
    return kept


def keep_all(items) -> list[Kept]:
    """`keep` each upload; when one fails, the ones already put are deleted."""
    done: list[Kept] = []
    put_here: list[str] = []
    try:
        for item in items:
            kept = keep(item)
            if kept is not item:
                put_here.append(kept.stored_name)
            done.append(kept)
    except Exception:
        _delete_quietly(put_here)
        raise
    return done


def store_upload(case, event, upload, actor, now: datetime) -> Attachment:
    """The attachment row of an upload for `case`/`event` (a `Kept`, or `(filename,
    bytes)`, which is put into the store first), added to the session. The caller's
    transaction commits it, or calls `discard` when it fails."""
    kept = keep(upload)
    if has_request_context():
        g.get(_PENDING, set()).discard(kept.stored_name)  # the transaction owns it now
    att = Attachment(
        case_id=case.id, event_id=event.id if event is not None else None,
        original_name=safe_name(kept.filename, kept.content_type), stored_name=kept.stored_name,
        content_type=kept.content_type, size=kept.size, sha256=kept.sha256,
        uploaded_by_id=getattr(actor, "id", None), created_at=now,
    )
    db.session.add(att)
    return att


def discard(kept) -> None:
    """After a failed transaction (already rolled back): delete the kept files that no
    attachment row names. A failure whose outcome is unknown (the COMMIT was sent, the
    answer lost) may have stored the rows: they are looked up first, and when the
    database cannot say, the files stay for the orphan sweep."""
    names = [k.stored_name for k in kept]
    if not names:
        return
    try:
        attached = set(db.session.scalars(select(Attachment.stored_name).where(Attachment.stored_name.in_(names))))
        db.session.rollback()  # end the read's transaction
    except Exception:  # noqa: BLE001 - the database is the problem; the sweep comes later
        db.session.rollback()
        log.warning("upload files %s left to the orphan sweep", names)
        return
    _delete_quietly([n for n in names if n not in attached])


def _delete_quietly(names) -> None:
    if not names:
        return
    if has_request_context():
        g.get(_PENDING, set()).difference_update(names)
    try:
        storage().delete(names)
    except StoreError as exc:
        log.warning("upload files %s not deleted (%s); the orphan sweep will", names, exc)


def _forget_pending(_exc=None) -> None:
    """End of a request: files kept for a form that was then refused (another field was
    wrong, the action was not allowed) are deleted."""
    pending = g.pop(_PENDING, None)
    if pending:
        _delete_quietly(sorted(pending))


def init_app(app) -> None:
    app.teardown_request(_forget_pending)


def read_file_storage(fs) -> tuple[str, bytes] | None:
    """Read a werkzeug FileStorage, at most one byte past the limit."""
    if fs is None or not getattr(fs, "filename", ""):
        return None
    data = fs.stream.read(current_app.config["UPLOAD_MAX_BYTES"] + 1)
    return (fs.filename, data)


def path_of(att: Attachment) -> Path:
    """The file of an attachment on the local disk backend."""
    return upload_dir() / att.stored_name


def open_stored(att: Attachment):
    """What `app.exports.send_stored_file` serves for an attachment — a path (disk) or a
    stream (object store) — and its size. FileNotFoundError when the file is gone,
    StoreFailed when the store cannot be reached."""
    try:
        return storage().open(att.stored_name)
    except StoreError as exc:
        log.warning("upload not read: %s", exc)
        raise StoreFailed(str(exc)) from exc


def sweep_orphans(now: datetime | None = None, grace: timedelta | None = None) -> dict:
    """Delete stored files that no attachment row names and that are older than the grace
    period (`UPLOADS_ORPHAN_GRACE_HOURS`): files kept for a request that died before its
    transaction ended, or whose deletion failed. A file younger than that may still be
    on its way to its row, and is left alone."""
    now = now or datetime.utcnow()
    if grace is None:
        grace = timedelta(hours=current_app.config["UPLOADS_ORPHAN_GRACE_HOURS"])
    cutoff = now - grace
    store = storage()
    counts = {"orphans_deleted": 0}
    batch: list[str] = []

    def sweep_batch():
        stored = [n for n in batch if not n.startswith(".")]
        attached = set(db.session.scalars(
            select(Attachment.stored_name).where(Attachment.stored_name.in_(stored)))) if stored else set()
        db.session.rollback()  # a fresh snapshot for the next batch
        orphans = [n for n in batch if n not in attached]
        store.delete(orphans)
        counts["orphans_deleted"] += len(orphans)
        batch.clear()

    try:
        for name, modified in store.listing():
            if modified < cutoff:
                batch.append(name)
                if len(batch) >= SWEEP_BATCH:
                    sweep_batch()
        if batch:
            sweep_batch()
    except StoreError as exc:
        raise StoreFailed(str(exc)) from exc
    return counts


def error_message(code: str) -> str:
    """The translated sentence for an UploadRejected code."""
    from flask_babel import gettext as _

    messages = {
        "empty": _("The file is empty."),
        "too_large": _("The file is larger than %(kb)s KB.",
                       kb=current_app.config["UPLOAD_MAX_BYTES"] // 1024),
        "bad_type": _("Only JPEG images and PDF documents are accepted."),
        "polyglot": _("This file is not a plain JPEG or PDF and was refused."),
        "store_failed": _("The file could not be saved just now. Please try again in a few minutes."),
    }
    return messages.get(code, messages["bad_type"])


def read_checked(fs) -> tuple[Kept | None, str | None]:
    """Read an uploaded FileStorage, check it and put it into the store: (a `Kept`, None)
    when it is fine, (None, None) when absent, (None, translated message) when it is
    refused or the store fails. Every form with an attachment field uses this, so the
    rules and messages are the same everywhere, and a store that is down is said beside
    the field, with the rest of the form kept."""
    upload = read_file_storage(fs)
    if upload is None:
        return None, None
    try:
        return keep(upload), None
    except UploadRejected as exc:
        return None, error_message(exc.code)
    except StoreFailed:
        return None, error_message("store_failed")
