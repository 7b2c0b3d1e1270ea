"""No kept fragment may depend on the user, the time or the request unless that is part of
its key (issue 24, item 7; app/fragments.py, docs/performance.md).

A fragment kept by `memo_rows`, `memo` or `{% call kept(...) %}` (and the layout's header,
kept by `nav.layout_header`) is served again to the next request with the same key — the
values it is rendered from, the language, the time zone and the mount point. If its
template read the signed-in user, the clock or the request, one person's page would show
another's name, yesterday's "overdue" flag or someone else's CSRF token.

The check reads the templates, not a rendering: every template given to those caches is
parsed, with everything it includes, imports or extends, and the names it reads without
setting them (`jinja2.meta.find_undeclared_variables`) must not be any of FORBIDDEN. The
fragments are found in the templates themselves (each `memo_rows("…")`, `memo("…")` and
`kept` block), so a new one is checked without being listed here; a render of the queue
and a case page confirms that nothing is kept that the scan did not find.
"""

from __future__ import annotations

import pytest
from jinja2 import DictLoader, Environment, meta, nodes

from app import fragments

# Flask's request-bound globals, Flask-Login's user, the clock, and the app's template
# globals that read any of them (a query string, "overdue now", a complaint's clocks).
FORBIDDEN = frozenset({
    "current_user", "request", "session", "g", "now", "utcnow", "csrf_token", "get_flashed_messages",
    "query_args", "list_args", "admin_page_url", "dash_href", "case_overdue", "complaint_extras",
    "layout_header",
})
KEEPERS = ("memo_rows", "memo")  # their first argument is the name of the template they keep
# Kept in Python, not from a template: the layout's header (app/nav.py, `_header_html`).
KEPT_IN_PYTHON = {"_header.html": "app/nav.py: layout_header"}


def _parse(env: Environment, name: str) -> nodes.Template:
    source = env.loader.get_source(env, name)[0]
    return env.parse(source, name)


def _reads(env: Environment, ast: nodes.Template, where: str, seen: set) -> list[str]:
    """What `ast`, and every template it includes, imports or extends, reads of FORBIDDEN."""
    found = [f"{where} reads {name}" for name in sorted(meta.find_undeclared_variables(ast) & FORBIDDEN)]
    for ref in meta.find_referenced_templates(ast):
        if ref is None:
            found.append(f"{where} includes a template whose name is computed: it cannot be checked")
        elif ref not in seen:
            seen.add(ref)
            found += _reads(env, _parse(env, ref), ref, seen)
    return found


def _as_template(env: Environment, body: list) -> nodes.Template:
    t = nodes.Template(body, lineno=1)
    t.set_environment(env)
    return t


def _kept_block(env: Environment, page: nodes.Template, block: nodes.CallBlock, where: str) -> list[str]:
    """A `{% call kept(...) %}` block: its body, the macros of the page it calls, and the
    templates the page imports (the block may call their macros)."""
    body = list(block.body)
    called = {n.name for n in block.find_all(nodes.Name)}
    body += [m for m in page.find_all(nodes.Macro) if m.name in called]
    body += list(page.find_all((nodes.Import, nodes.FromImport)))
    return _reads(env, _as_template(env, body), where, set())


def impure_fragments(env: Environment) -> tuple[set, list[str]]:
    """(the kept templates and blocks found, the forbidden reads in them) for every
    template `env` can list."""
    kept, found = set(), []
    for name in env.list_templates(filter_func=lambda n: n.endswith(".html")):
        page = _parse(env, name)
        for call in page.find_all(nodes.Call):
            if not (isinstance(call.node, nodes.Name) and call.node.name in KEEPERS):
                continue
            if not (call.args and isinstance(call.args[0], nodes.Const)):
                found.append(f"{name}: {call.node.name}() with a computed template name cannot be checked")
                continue
            template = call.args[0].value
            if template not in kept:
                kept.add(template)
                found += _reads(env, _parse(env, template), f"{template} (kept by {name})", {template})
        for block in page.find_all(nodes.CallBlock):
            if isinstance(block.call.node, nodes.Name) and block.call.node.name == "kept":
                label = block.call.args[0].value if block.call.args and isinstance(block.call.args[0], nodes.Const) else "?"
                where = f'{name}: kept("{label}") block'
                kept.add(where)
                found += _kept_block(env, page, block, where)
    for template, keeper in KEPT_IN_PYTHON.items():
        kept.add(template)
        found += _reads(env, _parse(env, template), f"{template} (kept by {keeper})", {template})
    return kept, found


def test_no_kept_fragment_reads_the_user_the_time_or_the_request(app):
    kept, found = impure_fragments(app.jinja_env)
    # The scan finds the fragments the pages keep today (a new one is found the same way).
    assert {"cases/_case_row.html", "cases/_case_header.html", "cases/_timeline.html", "_header.html"} <= kept
    assert any('kept("queue-filter-selects")' in k for k in kept)
    assert found == [], "a kept fragment must depend on its key alone:\n" + "\n".join(found)


def test_every_template_kept_on_the_pages_was_scanned(app, client, auth, world, monkeypatch):
    """Render the queue and a case page, recording what the caches render: all of it was
    found by the scan above."""
    from tests.factories import make_case

    rendered = set()
    real = fragments._render_alone

    def recording(env, template_name, *args):
        rendered.add(template_name)
        return real(env, template_name, *args)

    monkeypatch.setattr(fragments, "_render_alone", recording)
    fragments.clear()
    sr = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    assert client.get("/cases/").status_code == 200
    assert client.get(f"/cases/{sr.reference}").status_code == 200
    assert client.get("/cases/?view=doorstep").status_code == 200
    fragments.clear()
    kept, _found = impure_fragments(app.jinja_env)
    assert rendered and rendered <= kept, rendered - kept


# ---- the check catches a violation --------------------------------------------------------

BAD = {
    # a row that greets the signed-in user, through an include
    "rows.html": '{{ memo_rows("row.html", page.rows) }}',
    "row.html": '<tr><td>{{ c.subject }}</td>{% include "greeting.html" %}</tr>',
    "greeting.html": "<td>{{ current_user.name }}</td>",
    # a memo'd header that says whether the case is overdue *now*
    "page.html": '{{ memo("header.html", header) }}',
    "header.html": "{% if c.due < utcnow() %}Overdue{% endif %}",
    # a kept block that echoes the search box, through a macro imported by the page
    "queue.html": ('{% from "macros.html" import box %}'
                   '{% call kept("filters", form.status.data) %}{{ box() }}{% endcall %}'
                   '{{ request.path }}'),  # outside the block: allowed
    "macros.html": '{% macro box() %}<input value="{{ request.args.q }}">{% endmacro %}',
}
GOOD = {
    "rows.html": '{{ memo_rows("row.html", page.rows) }}{{ current_user.name }}',  # the page itself may
    "row.html": '{% set now = c.at %}<tr><td>{{ c.subject }}</td><td>{{ now|date }}</td></tr>',
    "queue.html": '{% call kept("filters", form.status.data) %}{{ form.status() }}{% endcall %}',
}


def _env(templates: dict) -> Environment:
    env = Environment(loader=DictLoader({**templates, "_header.html": "<header>{{ who.name }}</header>"}))
    env.filters["date"] = str
    return env


def test_the_check_catches_a_template_that_reads_the_user_the_time_or_the_request():
    kept, found = impure_fragments(_env(BAD))
    assert {"row.html", "header.html", 'queue.html: kept("filters") block'} <= kept
    assert "greeting.html reads current_user" in found
    assert "header.html (kept by page.html) reads utcnow" in found
    assert 'macros.html reads request' in found
    assert not any("queue.html" in f and "request" in f and "macros" not in f for f in found)  # outside the block
    assert len(found) == 3


def test_the_check_passes_a_template_that_reads_its_key_alone():
    kept, found = impure_fragments(_env(GOOD))
    assert found == [] and "row.html" in kept


@pytest.mark.parametrize("source", [
    '{{ memo(template_of(c), c) }}',  # which template is kept cannot be known
    '{{ memo_rows("row2.html", rows) }}',
])
def test_the_check_refuses_what_it_cannot_read(source):
    env = _env({"page.html": source, "row2.html": '{% include name_of_part %}'})
    _kept, found = impure_fragments(env)
    assert len(found) == 1 and "cannot be checked" in found[0]
