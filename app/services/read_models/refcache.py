"""Reference data cached across requests in each process, dropped when it changes.

What every raise reads and administrators rarely change — the doorstep service list,
pincode entries, the SLA matrix and holidays, notification wording, an office's staff
contacts — is kept per process (per app) under a *generation token*:

* `ref_generation` holds one row. A `before_flush` hook gives it a fresh random token
  in the same flush (so the same transaction) as any ORM change to the tables the
  cached values come from: `Category`, `PincodeEntry`, `OrgUnit`, `SlaRule`, `Holiday`,
  `NotificationTemplate`, and `User` rows created or deleted or whose contact columns
  (`email`, `active`, `office_id`, `locale`) change — a sign-in does not count.
* Each transaction reads the token once, and each request (one one-row statement). A process whose cache
  was filled under another token drops the cache. Since the new token and the new data
  commit together, whoever sees the token also sees the data: every worker picks up an
  administrator's change on its next transaction, without a restart.
* A transaction that changed reference data itself (or has such changes pending) reads
  the database directly until it ends, so it sees its own changes and never stores
  uncommitted data in the cache. So does a database without the row (it is recreated,
  with a fresh token, by the next change).

Tokens are random, not counted, so a database restored from a backup, or emptied and
filled again, cannot come back to a token a process cached different data under.
Writes that bypass the ORM (bulk Core statements) must call `bump()` themselves.

Cached values must be immutable snapshots (tuples, frozen dataclasses, strings), never
ORM instances: those belong to one session and would be expired by its commit.
"""

from __future__ import annotations

import secrets
import threading

from cachetools import LRUCache
from flask import current_app, has_request_context, request
from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    Category,
    Holiday,
    NotificationTemplate,
    OrgUnit,
    PincodeEntry,
    RefGeneration,
    SlaRule,
    User,
)

WATCHED = (Category, PincodeEntry, OrgUnit, SlaRule, Holiday, NotificationTemplate)
USER_CONTACT_COLUMNS = ("email", "active", "office_id", "locale")
MAX_ENTRIES = 4096  # pincodes and offices are many; the least recently used go first

_SEEN = "refcache.generation"  # session.info and the environ: the token read in this transaction
_CHANGED = "refcache.changed"  # session.info: this transaction changed reference data
_EXT = "seva.refcache"  # app.extensions: (token, LRUCache {key: value})
_UNSET = object()

_READ = select(RefGeneration.token).where(RefGeneration.id == 1)
# The same plain SQL for PostgreSQL and SQLite (both have ON CONFLICT).
_BUMP = text("INSERT INTO ref_generation (id, token) VALUES (1, :token) "
             "ON CONFLICT (id) DO UPDATE SET token = excluded.token")


def _user_contact_changed(user: User) -> bool:
    attrs = inspect(user).attrs
    return any(attrs[c].history.has_changes() for c in USER_CONTACT_COLUMNS)


def changes_reference(session: Session) -> bool:
    """Does the session hold unflushed changes to data the cache is built from?"""
    for obj in session.new:
        if isinstance(obj, (*WATCHED, User)):
            return True
    for obj in session.deleted:
        if isinstance(obj, (*WATCHED, User)):
            return True
    for obj in session.dirty:
        if isinstance(obj, WATCHED) and session.is_modified(obj, include_collections=False):
            return True
        if isinstance(obj, User) and _user_contact_changed(obj):
            return True
    return False


def bump(connection=None) -> None:
    """Give the generation a fresh token in the current transaction: every process
    drops its cache once this commits. The flush hook calls it; so must bulk writes."""
    if connection is None:
        connection = db.session.connection()
        db.session.info[_CHANGED] = True
    connection.execute(_BUMP, {"token": secrets.randbits(62)})


@event.listens_for(Session, "before_flush")
def _bump_on_change(session: Session, _flush_context, _instances) -> None:
    if changes_reference(session):
        # Before the flush's own writes: the generation row is locked first.
        session.info[_CHANGED] = True
        bump(session.connection())


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_SEEN, None)
        session.info.pop(_CHANGED, None)


def token() -> int | None:
    """The generation token, read once per transaction and request (a test's or a CLI
    command's session may outlive a request), or None when the cache must not be used
    (this transaction changed reference data; no generation row)."""
    session = db.session()
    info = session.info
    if info.get(_CHANGED):
        return None
    seen = info.get(_SEEN)
    env = request.environ if has_request_context() else None
    if seen is not None and (env is None or env.get(_SEEN) is seen[0]):
        return seen[1]
    tok = session.execute(_READ).scalar()  # autoflush first: pending changes bump
    if info.get(_CHANGED):
        return None
    marker = object()  # lives as long as this request's environ: never mistaken for another's
    if env is not None:
        env[_SEEN] = marker
    info[_SEEN] = (marker, tok)
    return tok


def cached(key: tuple, compute):
    """`compute()`'s value for `key`, computed once per process and generation. The
    value must be immutable (see the module's docstring)."""
    session = db.session()
    if session.info.get(_CHANGED) or changes_reference(session):
        return compute()  # its own query autoflushes the pending changes, as before
    tok = token()
    if tok is None:
        return compute()
    ext = current_app.extensions
    entry = ext.get(_EXT)
    if entry is None or entry[0] != tok:
        entry = (tok, LRUCache(MAX_ENTRIES))
        ext[_EXT] = entry
    data = entry[1]
    with _lock:
        value = data.get(key, _UNSET)
    if value is _UNSET:
        value = compute()
        with _lock:
            data[key] = value
    return value


_lock = threading.Lock()  # cachetools' caches are not thread-safe; a worker may run threads


def clear() -> None:
    """Drop this process's cache (tests; the next use reads the token again)."""
    current_app.extensions.pop(_EXT, None)
