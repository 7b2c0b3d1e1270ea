"""Reference numbers (issue 22, item 17): the check character catches every single
substitution and every adjacent transposition, at every position, and references
issued under the old (version 1) check are still accepted."""

from __future__ import annotations

import random
import string
from datetime import datetime

from app.domain import kinds
from app.domain.references import ALPHABET, is_well_formed, make_reference, normalize

PREFIXES = {k.code: k.prefix for k in kinds.all()}  # the registry's (app/domain/kinds.py)

NOW = datetime(2026, 12, 7, 10, 0)
LETTERS = string.ascii_uppercase


def _sample(n=150, seed=22):
    rng = random.Random(seed)
    refs = []
    for i in range(n):
        kind = list(PREFIXES)[i % len(PREFIXES)]
        when = datetime(rng.randrange(2024, 2031), rng.randrange(1, 13), 1)
        refs.append(make_reference(kind, when, randbelow=rng.randrange))
    # and the extremes: all zeros, all Z
    refs.append(make_reference("interaction", NOW, randbelow=lambda n: 0))
    refs.append(make_reference("helpdesk", NOW, randbelow=lambda n: 31))
    return refs


def _dashed(compact: str) -> str:
    return f"{compact[:2]}-{compact[2:6]}-{compact[6:]}"


def _compact(ref: str) -> str:
    return ref.replace("-", "")


def _v1(prefix: str, period: str, rand: str) -> str:
    """A version 1 reference, written from the old rule (weights i+1 modulo 32)."""
    body = prefix + period + rand
    total = sum((ALPHABET.index(ch) if ch in ALPHABET else ord(ch) % 32) * (i + 1)
                for i, ch in enumerate(body))
    return f"{prefix}-{period}-{rand}{ALPHABET[total % 32]}"


def test_new_references_have_seven_random_characters_and_are_well_formed():
    for ref in _sample():
        assert is_well_formed(ref), ref
        assert len(_compact(ref)) == 14 and ref[2] == "-" and ref[7] == "-"
        assert all(ch in ALPHABET for ch in ref[8:])


def test_every_single_substitution_is_caught_at_every_position():
    tried = caught = 0
    for ref in _sample():
        compact = _compact(ref)
        for pos, original in enumerate(compact):
            symbols = LETTERS if pos < 2 else ALPHABET  # the prefix is letters
            for ch in symbols:
                if ch == original:
                    continue
                typo = _dashed(compact[:pos] + ch + compact[pos + 1:])
                tried += 1
                caught += not is_well_formed(typo)
    assert tried > 50_000
    assert caught == tried  # 100 %


def test_every_adjacent_transposition_is_caught_at_every_position():
    tried = caught = 0
    for ref in _sample():
        compact = _compact(ref)
        for pos in range(len(compact) - 1):
            a, b = compact[pos], compact[pos + 1]
            if a == b:
                continue
            typo = _dashed(compact[:pos] + b + a + compact[pos + 2:])
            tried += 1
            caught += not is_well_formed(typo)
    assert tried > 1_500
    assert caught == tried  # 100 %


def test_every_substitution_and_swap_of_the_random_part_and_check_exhaustively():
    """All 32 x 32 pairs of neighbouring symbols at each place of the random part and
    the check character, for one body of each kind."""
    for kind in PREFIXES:
        ref = _compact(make_reference(kind, NOW, randbelow=lambda n: 7))
        for pos in range(6, len(ref) - 1):
            for a in ALPHABET:
                for b in ALPHABET:
                    if a == b:
                        continue
                    left = ref[:pos] + a + b + ref[pos + 2:]
                    right = ref[:pos] + b + a + ref[pos + 2:]
                    assert not (is_well_formed(_dashed(left)) and is_well_formed(_dashed(right)))


def test_typing_slips_that_normalize_repairs_are_not_errors():
    ref = make_reference("service_request", NOW, randbelow=lambda n: 0)  # SR-2612-0000000C
    assert normalize(ref.replace("-", "").lower().replace("0", "o")) == ref
    assert is_well_formed(normalize(" sr 2612 " + ref[8:].replace("0", "O")))


def test_references_issued_under_the_old_check_are_still_accepted():
    rng = random.Random(5)
    for prefix in PREFIXES.values():
        for _ in range(50):
            rand = "".join(rng.choice(ALPHABET) for _ in range(6))
            old = _v1(prefix, f"{rng.randrange(24, 27):02d}{rng.randrange(1, 13):02d}", rand)
            assert is_well_formed(old), old
            assert normalize(old.replace("-", "").lower()) == old
            # a wrong old check character is still refused
            wrong = old[:-1] + ALPHABET[(ALPHABET.index(old[-1]) + 1) % 32]
            assert not is_well_formed(wrong)


def test_old_check_missed_substitutions_the_new_one_catches():
    """The reason for the change: version 1 let some single substitutions through."""
    missed = 0
    rng = random.Random(1)
    for _ in range(50):
        compact = _compact(_v1("IN", "2612", "".join(rng.choice(ALPHABET) for _ in range(6))))
        for pos in range(6, 12):
            for ch in ALPHABET:
                if ch != compact[pos]:
                    missed += is_well_formed(_dashed(compact[:pos] + ch + compact[pos + 1:]))
    assert missed > 0


def test_malformed_references_refused():
    good = make_reference("complaint", NOW)
    for bad in ("", "CM-2612", good + "X", "XX" + good[2:], good.replace("-", "+"),
                good[:8] + "U" + good[9:], good[:-1] + "I"):
        assert not is_well_formed(bad), bad
