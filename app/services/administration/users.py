"""Employee accounts."""

from __future__ import annotations

import re

EMPLOYEE_ID = re.compile(r"^[0-9]{8}$")  # ASCII: "\d" also matches Devanagari digits
FACILITY_ID = re.compile(r"^[A-Z]{2}[0-9]{11}$")


def valid_login_id(value: str) -> bool:
    """An 8-digit Employee ID, or a Facility ID (two letters and eleven digits)."""
    v = (value or "").strip().upper()
    return bool(EMPLOYEE_ID.match(v) or FACILITY_ID.match(v))
