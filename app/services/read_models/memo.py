"""Per-request memo for values a request needs several times (URL prefixes built once),
and a per-batch memo for what a batch of case changes (a sweep transaction, a raise)
looks up for every case. Reference data shared by requests is cached across them by
`app.services.read_models.refcache`."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

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


_batch_cache: ContextVar[dict | None] = ContextVar("memo_batch_cache", default=None)


@contextmanager
def batch():
    """Within a batch of changes made in one go (a transaction of the timer sweep, a
    raise), compute what `per_batch` is asked for once, not once per case: template
    wording, office contacts, SLA due times."""
    if _batch_cache.get() is not None:  # already inside a batch: share its lookups
        yield
        return
    token = _batch_cache.set({})
    try:
        yield
    finally:
        _batch_cache.reset(token)


def in_batch() -> bool:
    return _batch_cache.get() is not None


def per_batch(key: tuple, compute):
    """`compute()` once per `batch()` for `key`; outside a batch, every time."""
    cache = _batch_cache.get()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]
