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

The caches are per worker, bounded and least-recently-used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

from flask import request
from jinja2 import pass_context
from markupsafe import Markup

ROWS_KEPT = 2048  # about 40 pages of 50 rows: 2–3 MB
FRAGMENTS_KEPT = 256


def _render_alone(env, template_name: str, value: tuple, lang: str, zone, script_root: str) -> str:
    # script_root is in the key, not in the call: links read it from the request.
    return env.get_template(template_name).render(c=value, html_lang=lang, page_zone=zone)


_row_html = lru_cache(maxsize=ROWS_KEPT)(_render_alone)


@pass_context
def memo_rows(ctx, template_name: str, rows) -> Markup:
    """`{% for c in rows %}{% include template_name %}{% endfor %}`, each row's HTML kept
    for the next page that shows the same row in the same language, zone and mount point.
    The row template sees only `c`, `html_lang` and `page_zone` (and the globals)."""
    lang, zone, root = ctx.get("html_lang"), ctx.get("page_zone"), request.script_root
    out = []
    for row in rows:
        if isinstance(row, tuple):
            out.append(_row_html(ctx.environment, template_name, row, lang, zone, root))
        else:
            template = ctx.environment.get_template(template_name)
            out.append(template.render(c=row, html_lang=lang, page_zone=zone))
    return Markup("\n".join(out))  # noqa: S704 - rendered by autoescaped templates


class _LRU:
    """A small least-recently-used map, safe for a threaded worker."""

    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            if len(self.data) > self.size:
                self.data.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.data.clear()


_fragments = _LRU(FRAGMENTS_KEPT)
# Fragments rendered from one value (`memo`) are larger than rows (a case's timeline is a
# few kilobytes) and fewer: a map of their own. A fragment longer than this is rendered
# each time rather than kept, so a few very long timelines cannot fill a worker's memory:
# at most FRAGMENTS_KEPT × (this, and about as much again for the values in the keys).
MEMO_MAX_CHARS = 16_384
_memo_html = _LRU(FRAGMENTS_KEPT)


@pass_context
def memo(ctx, template_name: str, value) -> Markup:
    """`{% include template_name %}` with `c` = `value` (a tuple of plain, hashable values) and
    nothing else, its HTML kept for the next page that shows the same values in the same
    language, zone and mount point (unless it is longer than MEMO_MAX_CHARS)."""
    lang, zone, root = ctx.get("html_lang"), ctx.get("page_zone"), request.script_root
    key = (ctx.environment, template_name, value, lang, zone, root)
    html = _memo_html.get(key)
    if html is None:
        html = _render_alone(ctx.environment, template_name, value, lang, zone, root)
        if len(html) <= MEMO_MAX_CHARS:
            _memo_html.put(key, html)
    return Markup(html)  # noqa: S704 - rendered by an autoescaped template


@pass_context
def kept(ctx, name: str, *values, caller) -> Markup:
    """`{% call kept("name", v1, v2) %}…{% endcall %}`: the block's HTML, rendered once per
    (values, language, time zone, mount point). The block must depend on nothing else:
    the values are its whole key (hashable: strings, numbers, None, tuples)."""
    key = (ctx.environment, name, values, ctx.get("html_lang"), ctx.get("page_zone"), request.script_root)
    html = _fragments.get(key)
    if html is None:
        html = Markup(caller())  # noqa: S704 - the block is autoescaped
        _fragments.put(key, html)
    return html


def clear() -> None:
    """Forget every kept row and fragment (a test that changes translations or templates)."""
    _row_html.cache_clear()
    _memo_html.clear()
    _fragments.clear()


def init_app(app) -> None:
    app.jinja_env.globals.update(memo_rows=memo_rows, memo=memo, kept=kept)
