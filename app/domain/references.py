"""Reference numbers: `PP-YYMM-XXXXXXXC` — a per-kind prefix, the year and month, seven
random Crockford base-32 characters (34 billion per month: not enumerable) and a check
character that catches every mistyped character and every swap of neighbours.

References issued before this check (version 1, `PP-YYMM-XXXXXXC`: six random
characters and a weighted-sum check that missed about one mistyped character in
seventeen) stay valid. The two forms differ in length, so a reference is checked by
exactly one rule: a typing slip (one character changed, or two neighbours swapped)
keeps the length, so it can never turn a new reference into a valid old one."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from app.domain import kinds as registry

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
# The prefixes are the kinds' (`CaseKind.prefix`, app/domain/kinds.py).
RANDOM_LENGTH = 7  # version 2; version 1 had 6
PATTERN = re.compile(r"^([A-Z]{2})-(\d{4})-([0-9A-Z]{6,7})([0-9A-Z])$")
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


# ---- version 2: the Damm algorithm over GF(32) -----------------------------------------
#
# ISO 7064's hybrid system MOD M+1,M (python-stdnum's `iso7064.mod_37_36`, which takes an
# alphabet) does not fit 32 symbols: its transposition guarantee needs M+1 prime, and
# 33 = 3 x 11 lets about 1 adjacent swap in 600 through (measured). python-stdnum's `damm`
# reads decimal digits only. So: the Damm algorithm with a totally anti-symmetric
# quasigroup of order 32, x * y = A·x + y in the field GF(32) (A not 0 or 1). Each row and
# column of that table is a permutation, so every single substitution changes the result;
# (c*x)*y = A²c + A·x + y differs from (c*y)*x = A²c + A·y + x whenever x != y, because
# (A - 1)(x - y) != 0 in a field, so every adjacent transposition does too — the check
# character included.

_POLY = 0b100101  # x^5 + x^2 + 1, irreducible over GF(2)
_A = 2  # the element x


def _gf_mul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _POLY
    return out


_TIMES_A = tuple(_gf_mul(_A, v) for v in range(32))


def _symbol_values(text: str) -> list[int]:
    """Values 0-31 of the characters: the Crockford alphabet, and the prefix's letters
    (I is not in the alphabet) by their place in A-Z."""
    return [_VALUE[ch] if ch in _VALUE else ord(ch) - ord("A") for ch in text]


def _damm(text: str) -> int:
    interim = 0
    for v in _symbol_values(text):
        interim = _TIMES_A[interim] ^ v  # A·interim + v; addition in GF(2^5) is XOR
    return interim


def check_char(body: str) -> str:
    """The version 2 check character of `body` (prefix, period and random part, no
    dashes): the one that brings the Damm fold of the whole to 0."""
    return ALPHABET[_TIMES_A[_damm(body)]]  # A·i + c = 0  <=>  c = A·i (characteristic 2)


def _check_char_v1(body: str) -> str:
    """Version 1 (six random characters): kept only to accept the references issued
    with it. Weights i+1 modulo 32 miss substitutions at even weights."""
    total = 0
    for i, ch in enumerate(body):
        value = ALPHABET.index(ch) if ch in ALPHABET else ord(ch) % 32
        total += value * (i + 1)
    return ALPHABET[total % 32]


def make_reference(kind: str, now: datetime, randbelow=secrets.randbelow) -> str:
    """A new (version 2) reference for `kind` raised at `now`."""
    prefix = registry.get(kind).prefix
    period = now.strftime("%y%m")
    rand = "".join(ALPHABET[randbelow(32)] for _ in range(RANDOM_LENGTH))
    return f"{prefix}-{period}-{rand}{check_char(f'{prefix}{period}{rand}')}"


def normalize(text: str) -> str:
    """Upper-case, trim, accept Crockford look-alikes (O→0, I/L→1) and missing dashes."""
    t = re.sub(r"[\s\u200c\u200e\u200f]", "", text or "").upper().replace("—", "-")
    t = t.replace("-", "")
    if len(t) in (13, 14):  # version 1, version 2
        head, rest = t[:2], t[2:]
        rest = rest.replace("O", "0").replace("I", "1").replace("L", "1")
        t = f"{head}-{rest[:4]}-{rest[4:]}"
    return t


def is_well_formed(reference: str) -> bool:
    """True when `reference` has the right shape and check character (the length says
    which check: seven random characters, version 2; six, version 1)."""
    m = PATTERN.match(reference or "")
    if not m:
        return False
    prefix, period, rand, check = m.groups()
    if prefix not in registry.prefixes() or any(c not in ALPHABET for c in rand + check):
        return False
    body = f"{prefix}{period}{rand}"
    if len(rand) == RANDOM_LENGTH:
        return check_char(body) == check
    return _check_char_v1(body) == check
