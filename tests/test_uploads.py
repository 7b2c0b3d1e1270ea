"""Uploads are judged by content, stored under random names, named safely."""

import pytest

from app.services.infrastructure.uploads import UploadRejected, check_upload, safe_name, store_upload
from tests.conftest import NOW
from tests.factories import make_case

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize("data,code", [
    (b"", "empty"),
    (b"MZ\x90\x00" + b"\x00" * 64, "bad_type"),          # a Windows executable named .jpg
    (b"\x7fELF" + b"\x00" * 64, "bad_type"),
    (b"PK\x03\x04" + b"\x00" * 64, "bad_type"),          # zip/docx
    (b"GIF89a" + b"\x00" * 64, "bad_type"),
    (b"<svg onload=alert(1)>", "bad_type"),
    (JPEG[:-2], "bad_type"),                             # truncated JPEG
    (b"\xff\xd8\xff\xe0" + b"%PDF-1.4" + b"\x00" * 16 + b"\xff\xd9", "polyglot"),
    (b"\xff\xd8\xff" + b"\x00" * (200 * 1024), "too_large"),
])
def test_refusals(app, data, code):
    with pytest.raises(UploadRejected) as exc:
        check_upload(data)
    assert exc.value.code == code


def test_accepts_plain_jpeg_and_pdf(app):
    assert check_upload(JPEG) == "image/jpeg"
    assert check_upload(PDF) == "application/pdf"


def test_limit_is_configurable(app):
    app.config["UPLOAD_MAX_BYTES"] = 10
    with pytest.raises(UploadRejected):
        check_upload(JPEG)


@pytest.mark.parametrize("name,ctype,expected", [
    ("../../etc/passwd.jpg", "image/jpeg", "passwd.jpg"),
    ("C:\\Users\\x\\evil.exe", "application/pdf", "evil.pdf"),
    ("report.pdf.exe", "application/pdf", "report.pdf.pdf"),
    ("", "image/jpeg", "attachment.jpg"),
    ("رسید پرداخت.jpg", "image/jpeg", "رسید پرداخت.jpg"),
    ("a\x00b<script>.jpg", "image/jpeg", "a_b_script.jpg"),
])
def test_safe_names(name, ctype, expected):
    assert safe_name(name, ctype) == expected


def test_same_name_uploads_do_not_collide(app, world):
    case = make_case("complaint", world.ho1)
    a = store_upload(case, None, ("receipt.jpg", JPEG), None, NOW)
    b = store_upload(case, None, ("receipt.jpg", JPEG + b"\x00"), None, NOW)
    assert a.stored_name != b.stored_name and a.original_name == b.original_name
    from app.services.infrastructure.uploads import path_of

    assert path_of(a).read_bytes() == JPEG and path_of(b).read_bytes() == JPEG + b"\x00"
    assert ".." not in a.stored_name and "/" not in a.stored_name
