"""The client's address behind reverse proxies (TRUSTED_PROXIES): believed for exactly
the configured number of hops, never by default (a client could write the header)."""

import pytest
from flask import request

from app import create_app
from app.config import TestConfig


def _app(hops: int):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": "sqlite://", "TRUSTED_PROXIES": hops})
    app.add_url_rule("/_client", "client", lambda: f"{request.remote_addr} {request.scheme}")
    return app


@pytest.mark.parametrize(("hops", "forwarded", "proto", "seen"), [
    (0, "203.0.113.9", "https", "127.0.0.1 http"),  # default: the headers are not believed
    (1, "203.0.113.9", "https", "203.0.113.9 https"),  # nginx in front
    (1, "198.51.100.1, 203.0.113.9", "https", "203.0.113.9 https"),  # a forged hop is ignored
    (2, "198.51.100.1, 203.0.113.9", "https, https", "198.51.100.1 https"),
])
def test_client_address_behind_proxies(hops, forwarded, proto, seen):
    client = _app(hops).test_client()
    r = client.get("/_client", headers={"X-Forwarded-For": forwarded, "X-Forwarded-Proto": proto},
                   environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert r.get_data(as_text=True) == seen
