"""Reference numbers: `PP-YYMM-XXXXXXC` — a per-kind prefix, the year and month, six
random Crockford base-32 characters (a billion per month: not enumerable) and a check
character that catches a mistyped character or a swap of neighbours."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
PREFIXES = {
    "service_request": "SR",
    "office_ticket": "TK",
    "complaint": "CM",
    "interaction": "IN",
    "helpdesk": "HD",
}
PATTERN = re.compile(r"^([A-Z]{2})-(\d{4})-([0-9A-Z]{6})([0-9A-Z])$")


def _check_char(body: str) -> str:
    total = 0
    for i, ch in enumerate(body):
        value = ALPHABET.index(ch) if ch in ALPHABET else ord(ch) % 32
        total += value * (i + 1)
    return ALPHABET[total % 32]


def make_reference(kind: str, now: datetime, randbelow=secrets.randbelow) -> str:
    """A new reference for `kind` raised at `now`."""
    prefix = PREFIXES[kind]
    period = now.strftime("%y%m")
    rand = "".join(ALPHABET[randbelow(32)] for _ in range(6))
    body = f"{prefix}{period}{rand}"
    return f"{prefix}-{period}-{rand}{_check_char(body)}"


def normalize(text: str) -> str:
    """Upper-case, trim, accept Crockford look-alikes (O→0, I/L→1) and missing dashes."""
    t = re.sub(r"[\s\u200c\u200e\u200f]", "", text or "").upper().replace("—", "-")
    t = t.replace("-", "")
    if len(t) == 13:
        head, rest = t[:2], t[2:]
        rest = rest.replace("O", "0").replace("I", "1").replace("L", "1")
        t = f"{head}-{rest[:4]}-{rest[4:]}"
    return t


def is_well_formed(reference: str) -> bool:
    """True when `reference` has the right shape and check character."""
    m = PATTERN.match(reference or "")
    if not m:
        return False
    prefix, period, rand, check = m.groups()
    if prefix not in PREFIXES.values() or any(c not in ALPHABET for c in rand):
        return False
    return _check_char(f"{prefix}{period}{rand}") == check
