"""Small input-cleaning helpers shared by the blueprints and services."""

from __future__ import annotations

import re

_ID = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1  # INTEGER columns (PostgreSQL int4)


def as_id(value) -> int | None:
    """A posted id, version or cursor as an int, or None. Only ASCII digits count:
    `"²".isdigit()` is true but `int("²")` fails, and an endless digit string would
    overflow the database's integer column."""
    text = value.strip() if isinstance(value, str) else ""
    if not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


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
