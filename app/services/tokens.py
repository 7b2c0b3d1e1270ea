"""Signed links for requesters (closure confirmation, information, feedback)."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"], purpose)


@lru_cache(maxsize=16)
def _serializer_for(secret: str, purpose: str) -> URLSafeTimedSerializer:
    """Made once per key and purpose: the sweep signs a link for every case it closes."""
    return URLSafeTimedSerializer(secret, salt=f"case-{purpose}")


def make_case_token(case, purpose: str) -> str:
    """A token naming the case and its version at issue time."""
    return _serializer(purpose).dumps({"ref": case.reference, "id": case.id})


def load_case_token(token: str, purpose: str, max_age: int = 30 * 24 * 3600) -> dict | None:
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
