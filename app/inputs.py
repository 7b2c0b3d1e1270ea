"""Small input-cleaning helpers shared by the blueprints and services."""

from __future__ import annotations

import re

from werkzeug.routing import BaseConverter, ValidationError

_ID = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1  # INTEGER columns (PostgreSQL int4)

# Persian (U+06F0-06F9), Arabic-Indic (U+0660-0669) and Devanagari (U+0966-096F) digits:
# what a keyboard in fa, ar or hi types. Other Unicode digits ("²", full-width) are left
# alone, so the fields' own checks refuse them.
ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩०१२३४५६७८९",
                             "012345678901234567890123456789")


def ascii_digits(text) -> str:
    """THE normaliser of typed digits: Persian, Arabic-Indic and Devanagari → 0-9, on
    everything a person types as a number or a code (login ids, mobiles, pincodes,
    one-time codes, searches, references, codes in admin forms, API bodies and query
    strings). Free text (descriptions, names) keeps its digits. Not for URL path ids:
    `as_id` refuses anything but ASCII there."""
    return text.translate(ASCII_DIGITS) if isinstance(text, str) else ""


def digits(value):
    """WTForms filter of a typed number or code: the digits normalised, spaces around
    stripped. `filters=[digits]` on every such field (web forms and, through them, the API)."""
    return ascii_digits(value).strip() if isinstance(value, str) else value


def typed_number(value) -> int | None:
    """A small number a person typed (a year, a count of days, a page size, a limit) as
    an int, or None: `as_id` after `ascii_digits`, so ۲۰۲۶ and २०२६ are 2026 while "²"
    and endless digit strings are still refused."""
    return as_id(ascii_digits(value)) if isinstance(value, str) else as_id(value)


def search_text(value, limit: int = 100) -> str:
    """A typed search: digits normalised (a reference, a mobile or an Employee ID typed
    in Persian or Hindi digits finds the row), stripped, at most `limit` characters."""
    return ascii_digits(value).strip()[:limit]


def as_id(value) -> int | None:
    """An id, version, cursor or small count from a URL path, query string, form or JSON
    as an int, or None. THE parser for them: never `int()` of a request value, an int
    type for a query argument or Werkzeug's int converter (use `<id:...>`, below). Only
    ASCII digits count: `"²".isdigit()` is true but `int("²")` fails (a 500), and an
    endless digit string overflows the database's integer column (OverflowError, a 500)."""
    if type(value) is int:  # a value this application built itself
        return value if 0 <= value <= MAX_ID else None
    text = value.strip() if isinstance(value, str) else ""
    if not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


class IdConverter(BaseConverter):
    """`<id:name>` in a route: ASCII digits that fit the id column, else no match (404).
    Werkzeug's int converter accepts any length (an OverflowError in the database driver,
    a 500) and any Unicode decimal digit."""

    regex = r"[0-9]+"
    weight = 50  # as Werkzeug's number converters: a static segment still wins
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = as_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


# ---- redirect targets -----------------------------------------------------------------

_MAX_TARGET = 2048


def _bad_char(ch: str) -> bool:
    r"""Control characters (C0, DEL, C1), line/paragraph separators and bidi controls.
    Browsers drop tab and newline inside a URL and strip leading controls, and Python's
    urlsplit drops tab/CR/LF too: `/\t/evil.example` becomes `//evil.example`.
    Zero-width (non-)joiners stay allowed: Persian text uses them."""
    import unicodedata

    code = ord(ch)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return True
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return True
    return unicodedata.category(ch) in ("Zl", "Zp", "Cc")


def _local_path(text: str) -> bool:
    from urllib.parse import urlsplit

    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return False
    if any(_bad_char(ch) for ch in text):
        return False
    parts = urlsplit(text)
    return not parts.scheme and not parts.netloc and parts.path.startswith("/") \
        and not parts.path.startswith("//")


def safe_next(target) -> str | None:
    r"""`target` when it is a path on this site (for `next`, `back`, `return_to` and the
    like), else None. THE check for every redirect to a client-supplied place.

    Refused: anything with a scheme or host, a protocol-relative `//host`, a backslash
    (browsers read `/\host` as `//host`), control characters (`/\t/host`), and the same
    after percent-decoding and Unicode NFKC normalisation (`/%2F/host`, a full-width
    solidus), since a proxy or a later redirect may decode what we pass on."""
    import unicodedata
    from urllib.parse import unquote

    if not isinstance(target, str) or not target or len(target) > _MAX_TARGET:
        return None
    seen, text = set(), target
    while text not in seen:  # every decoding of the target must be a local path
        seen.add(text)
        if not _local_path(text) or not _local_path(unicodedata.normalize("NFKC", text)):
            return None
        if len(seen) > 5:
            return None
        try:
            text = unquote(text, errors="strict") if "%" in text else text
        except UnicodeDecodeError:
            return None
    return target


class MaxLength:
    """`Length(max=n)` that ends the field's validation when it fails. WTForms runs every
    validator even after one has failed, and the e-mail syntax check (email_validator)
    takes time quadratic in the input: a 1 MB "e-mail" kept a worker busy for 20 s to
    several minutes. Put this *before* `Email()`."""

    def __init__(self, limit: int, message=None):
        self.limit = limit
        self.message = message

    def __call__(self, form, field):
        from wtforms.validators import Length, StopValidation, ValidationError

        try:
            Length(max=self.limit, message=self.message)(form, field)
        except ValidationError as exc:
            raise StopValidation(exc.args[0]) from None


def query_args(**overrides) -> dict:
    """The current query string for a link (`url_for(endpoint, **query_args(after=...))`),
    without url_for's own keywords (`_anchor`, `_method`, `_scheme`, `_external`) and
    without the view's path variables: `url_for(..., **request.args)` turned a
    `?_method=x` into a BuildError, i.e. a 500. A Jinja global."""
    from flask import request

    view_args = request.view_args or {}
    args = {k: v for k, v in request.args.items() if not k.startswith("_") and k not in view_args}
    args.update(overrides)
    return args
