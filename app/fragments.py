"""Table rows, and other fragments, rendered once for the values they show.

A queue is reloaded again and again (paging back, a filter undone, htmx refreshing the
list) and shows the same rows each time; rendering the rows was most of such a page's
work. A row read as a plain named tuple, with the page's language, time zone and mount
point, is everything its template may use (it is rendered with nothing else in its
context), so its HTML is kept under exactly those values: a changed case is a different
key, and a kept row cannot be stale. Rows that are ORM objects (identity, not value) are
rendered every time, with the page's context.

`memo` does the same for one fragment of a page, a template rendered from one plain
tuple (a case page's header and its timeline).

`kept` does the same for a fragment of a page (`{% call kept("name", values…) %}…{% endcall %}`),
where the template names the values the fragment depends on, as with a `{% cache %}` tag.

The rule that makes this safe: **a kept fragment depends on nothing but its key** — never
on the signed-in user, the clock or the request (`current_user`, `now`, `request`, the
session, a CSRF token) unless that value is in the key. `tests/test_fragment_purity.py`
reads every template these three are given (and what it includes or imports) and fails
when one reads any of them.

The caches are per worker, bounded and least-recently-used (`cachetools.LRUCache`, each
behind a lock: a worker may run threads).
"""

from __future__ import annotations

import threading
from itertools import repeat

from cachetools import LRUCache
from flask import request
from jinja2 import pass_context
from markupsafe import Markup

ROWS_KEPT = 2048  # about 40 pages of 50 rows: 2–3 MB
PAGES_KEPT = 32  # and as many pages again, joined: about 2 MB more
FRAGMENTS_KEPT = 256
# A fragment longer than this (a very long timeline) is rendered each time rather than
# kept, so a few of them cannot fill a worker's memory: at most FRAGMENTS_KEPT × this
# (and about as much again for the values in the keys).
MEMO_MAX_CHARS = 16_384


def _render_alone(env, template_name: str, value: tuple, lang: str, zone, script_root: str) -> str:
    # script_root is in the key, not in the call: links read it from the request.
    return env.get_template(template_name).render(c=value, html_lang=lang, page_zone=zone)


_rows: LRUCache = LRUCache(ROWS_KEPT)
_rows_lock = threading.Lock()
# Whole pages of rows, as they were joined: a queue reloaded with the same rows (paging
# back, htmx refreshing the list) is one lookup instead of one per row.
_pages: LRUCache = LRUCache(PAGES_KEPT)


@pass_context
def memo_rows(ctx, template_name: str, rows) -> Markup:
    """`{% for c in rows %}{% include template_name %}{% endfor %}`, each row's HTML kept
    for the next page that shows the same row in the same language, zone and mount point
    (and the whole page's, for the next page that shows the same rows).
    The row template sees only `c`, `html_lang` and `page_zone` (and the globals).

    The page's rows are looked up under one lock, the missing ones rendered outside it and
    stored under one more: `cachetools.cached` around each row (a Python-level key and
    lock per call) cost 80 µs more than `functools.lru_cache` for 50 rows; this, 10."""
    env = ctx.environment
    lang, zone, root = ctx.get("html_lang"), ctx.get("page_zone"), request.script_root
    rows = tuple(rows)
    plain = all(map(isinstance, rows, repeat(tuple)))  # no Python frame per row
    page_key = (env, template_name, rows, lang, zone, root) if plain else None
    if page_key is not None:
        with _rows_lock:
            html = _pages.get(page_key)
        if html is not None:
            return html
    keys = [(env, template_name, row, lang, zone, root) if isinstance(row, tuple) else None for row in rows]
    out = [None] * len(keys)
    with _rows_lock:  # `_rows[key]`, not `.get`, which looks the key up once more
        for i, key in enumerate(keys):
            if key is not None:
                try:
                    out[i] = _rows[key]
                except KeyError:
                    pass
    rendered = {}
    for i, (row, key) in enumerate(zip(rows, keys, strict=True)):
        if out[i] is not None:
            continue
        if key is None:  # an ORM object: identity, not value — rendered with the page
            out[i] = env.get_template(template_name).render(c=row, html_lang=lang, page_zone=zone)
        else:
            out[i] = rendered[key] = _render_alone(env, template_name, row, lang, zone, root)
    html = Markup("\n".join(out))  # noqa: S704 - rendered by autoescaped templates
    with _rows_lock:
        _rows.update(rendered)
        if page_key is not None:
            _pages[page_key] = html
    return html


# Fragments of a page (`memo`, `kept`): larger than rows (a case's timeline is a few
# kilobytes) and fewer, one map of their own. Keys start with "memo" or "kept".
_fragments: LRUCache = LRUCache(FRAGMENTS_KEPT)
_fragments_lock = threading.Lock()


def _get(key):
    with _fragments_lock:
        return _fragments.get(key)


def _put(key, html: str) -> None:
    if len(html) <= MEMO_MAX_CHARS:
        with _fragments_lock:
            _fragments[key] = html


@pass_context
def memo(ctx, template_name: str, value) -> Markup:
    """`{% include template_name %}` with `c` = `value` (a tuple of plain, hashable values) and
    nothing else, its HTML kept for the next page that shows the same values in the same
    language, zone and mount point (unless it is longer than MEMO_MAX_CHARS)."""
    lang, zone, root = ctx.get("html_lang"), ctx.get("page_zone"), request.script_root
    key = ("memo", ctx.environment, template_name, value, lang, zone, root)
    html = _get(key)
    if html is None:
        html = _render_alone(ctx.environment, template_name, value, lang, zone, root)
        _put(key, html)
    return Markup(html)  # noqa: S704 - rendered by an autoescaped template


@pass_context
def kept(ctx, name: str, *values, caller) -> Markup:
    """`{% call kept("name", v1, v2) %}…{% endcall %}`: the block's HTML, rendered once per
    (values, language, time zone, mount point). The block must depend on nothing else:
    the values are its whole key (hashable: strings, numbers, None, tuples)."""
    key = ("kept", ctx.environment, name, values, ctx.get("html_lang"), ctx.get("page_zone"), request.script_root)
    html = _get(key)
    if html is None:
        html = Markup(caller())  # noqa: S704 - the block is autoescaped
        _put(key, html)
    return html


def clear() -> None:
    """Forget every kept row and fragment (a test that changes translations or templates)."""
    with _rows_lock:
        _rows.clear()
        _pages.clear()
    with _fragments_lock:
        _fragments.clear()


def init_app(app) -> None:
    app.jinja_env.globals.update(memo_rows=memo_rows, memo=memo, kept=kept)
