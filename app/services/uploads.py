"""Attachments: checked by content (magic bytes), kept under `instance/uploads/` by a
random name, served only after an access check."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from datetime import datetime
from pathlib import Path

from flask import current_app

from app.extensions import db
from app.models import Attachment

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


def upload_dir() -> Path:
    path = Path(current_app.config.get("UPLOAD_FOLDER") or Path(current_app.instance_path) / "uploads")
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(case, event, upload, actor, now: datetime) -> Attachment:
    """Store an already-read upload `(filename, bytes)` for `case`/`event`."""
    filename, data = upload
    ctype = check_upload(data)
    stored = f"{secrets.token_hex(16)}{EXTENSIONS[ctype]}"
    (upload_dir() / stored).write_bytes(data)
    att = Attachment(
        case_id=case.id, event_id=event.id if event is not None else None,
        original_name=safe_name(filename, ctype), stored_name=stored, content_type=ctype,
        size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=getattr(actor, "id", None), created_at=now,
    )
    db.session.add(att)
    return att


def read_file_storage(fs) -> tuple[str, bytes] | None:
    """Read a werkzeug FileStorage, at most one byte past the limit."""
    if fs is None or not getattr(fs, "filename", ""):
        return None
    data = fs.stream.read(current_app.config["UPLOAD_MAX_BYTES"] + 1)
    return (fs.filename, data)


def path_of(att: Attachment) -> Path:
    return upload_dir() / att.stored_name


def error_message(code: str) -> str:
    """The translated sentence for an UploadRejected code."""
    from flask_babel import gettext as _

    messages = {
        "empty": _("The file is empty."),
        "too_large": _("The file is larger than %(kb)s KB.",
                       kb=current_app.config["UPLOAD_MAX_BYTES"] // 1024),
        "bad_type": _("Only JPEG images and PDF documents are accepted."),
        "polyglot": _("This file is not a plain JPEG or PDF and was refused."),
    }
    return messages.get(code, messages["bad_type"])


def read_checked(fs) -> tuple[tuple[str, bytes] | None, str | None]:
    """Read an uploaded FileStorage and check it: (upload, None) when it is fine or
    absent ((None, None)), (None, translated message) when it is refused. Every form with
    an attachment field uses this, so the rules and messages are the same everywhere."""
    upload = read_file_storage(fs)
    if upload is None:
        return None, None
    try:
        check_upload(upload[1])
    except UploadRejected as exc:
        return None, error_message(exc.code)
    return upload, None
