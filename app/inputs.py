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
