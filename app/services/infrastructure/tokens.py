"""Signed links for requesters (closure confirmation, information, feedback)."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.serializer import Serializer


class _LinkSerializer(URLSafeTimedSerializer):
    """itsdangerous's URL-safe timed serializer, without its attempt to compress.

    The stock one runs zlib over every payload and keeps the result only when it is
    shorter, which a case's reference and id (about 40 bytes) never are: setting up zlib
    was more than half of signing a link (67 against 29 µs), and the timer sweep signs one
    for every case it closes. The token is the same text the stock serializer makes for
    such a payload, and reading is unchanged, so links already sent keep working."""

    def dump_payload(self, obj) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


def signing_keys(app=None) -> tuple[str, ...]:
    """Every key a signature may have been made with, the current one (SECRET_KEY) last:
    itsdangerous signs with the last and accepts any (SECRET_KEY_FALLBACKS are the old keys
    of a rotation, as for Flask's sessions)."""
    config = (app or current_app).config
    return (*(config.get("SECRET_KEY_FALLBACKS") or ()), config["SECRET_KEY"])


def serializer(salt: str) -> URLSafeTimedSerializer:
    """itsdangerous's timed serializer over `signing_keys()` (new tokens: the current key)."""
    return _stock_serializer_for(signing_keys(), salt)


@lru_cache(maxsize=16)
def _stock_serializer_for(keys: tuple[str, ...], salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(keys), salt=salt)


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return _serializer_for(signing_keys(), purpose)


@lru_cache(maxsize=16)
def _serializer_for(keys: tuple[str, ...], purpose: str) -> URLSafeTimedSerializer:
    """Made once per set of keys and purpose: the sweep signs a link for every case it closes."""
    return _LinkSerializer(list(keys), salt=f"case-{purpose}")


def make_case_token(case, purpose: str) -> str:
    """A token naming the case and its version at issue time."""
    return _serializer(purpose).dumps({"ref": case.reference, "id": case.id})


def load_case_token(token: str, purpose: str, max_age: int = 30 * 24 * 3600) -> dict | None:
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
