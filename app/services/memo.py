"""Per-request memo for values a request needs several times (URL prefixes built once).
Reference data shared by requests is cached across them by `app.services.refcache`."""

from __future__ import annotations

from flask import has_request_context, request

_KEY = "seva.memo"


def per_request(key: tuple, compute):
    """`compute()` once per request for `key`; outside a request (CLI, scheduler), every
    time. Kept in the WSGI environ, which lives exactly as long as the request."""
    if not has_request_context():
        return compute()
    memo = request.environ.setdefault(_KEY, {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]
