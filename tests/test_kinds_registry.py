"""The registry of case kinds (issue 24, step 1): every registered kind is complete,
a throwaway kind registered in a fixture goes through the engine end to end without
touching any other module, and no module but the registry (and a short, documented
allow-list) keeps a per-kind list or branches on a kind."""

from __future__ import annotations

import ast
import importlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.domain import kinds
from app.domain import workflow as wf
from app.domain.references import is_well_formed, make_reference
from app.extensions import db
from app.i18n import case_action_label, kind_label
from app.models import Case, Notification
from app.services.engine import access, cases, notify, sla, timers
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parent.parent
BUILT_IN = (wf.SERVICE_REQUEST, wf.OFFICE_TICKET, wf.COMPLAINT, wf.INTERACTION, wf.HELPDESK)


# ---- every registered kind is complete -------------------------------------------------

def test_the_built_in_kinds_are_registered_in_order():
    assert kinds.codes()[:5] == BUILT_IN
    assert wf.KINDS == kinds.codes()


def test_prefixes_are_unique_two_letters_and_make_valid_references():
    prefixes = [k.prefix for k in kinds.all()]
    assert len(set(prefixes)) == len(prefixes)
    for k in kinds.all():
        assert re.fullmatch(r"[A-Z]{2}", k.prefix)
        ref = make_reference(k.code, NOW)
        assert ref.startswith(f"{k.prefix}-") and is_well_formed(ref)


@pytest.mark.parametrize("locale", ["hi", "fa"])
def test_names_are_translated(app, locale):
    for k in kinds.all():
        with app.test_request_context():
            english = (str(k.name), str(k.plural))
            assert english[0] != english[1], k.code
            with force_locale(locale):
                # a real translation: neither English word (Hindi may share singular and plural)
                assert str(k.name) not in english and str(k.plural) not in english, (k.code, locale)
                assert kind_label(k.code) == str(k.name)


def test_templates_endpoints_and_forms_exist(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    for k in kinds.all():
        events = {k.template(e) for e in kinds.DEFAULT_TEMPLATES} | set(k.templates.values())
        assert events <= set(notify.TEMPLATES), k.code
        # every message the requester can be sent through the workflow has a wording
        sent = {cases.requester_template(k.code, t) for t in wf.rows_of(k.code)
                if "notify_requester" in t.effects}
        assert sent <= set(notify.TEMPLATES), k.code
        for endpoint in (k.raise_endpoint, k.page_endpoint):
            assert endpoint in endpoints, (k.code, endpoint)
        for name in filter(None, (k.panel,)):
            app.jinja_env.get_template(name)
        module, cls = k.form.split(":")
        assert hasattr(importlib.import_module(module), cls), k.form
        for hook in filter(None, (k.panel_values, k.may_raise)):
            module, function = hook.split(":")
            assert callable(getattr(importlib.import_module(module), function, None)), (k.code, hook)


def test_each_kind_has_its_view_in_the_inbox_with_its_columns():
    """A kind's handlers work it in a view of the inbox (`queue_view`), which shows the
    registry's columns (tests/test_inbox.py renders them)."""
    from app.services.read_models import views

    for k in kinds.all():
        view = views.get(k.queue_view)
        assert view is not None and view.kind == k.code, k.code
        assert view.columns == k.queue_columns and k.queue_columns[0].code == "reference"


def test_every_workflow_row_names_registered_kinds_and_every_kind_has_rows():
    for t in wf.TRANSITIONS:
        assert t.kinds and t.kinds <= set(kinds.codes()), t
    for k in kinds.all():
        assert k.family in kinds.codes()
        assert any(t.action != "note" for t in wf.rows_of(k.code)), k.code
        assert k.relations <= {wf.REQUESTER, wf.HANDLER, wf.SUPERVISOR}


def test_catalogue_levels_and_sla_policy_are_well_formed():
    for k in kinds.all():
        for level, parent in k.catalog.items():
            assert parent is None or parent in k.catalog, (k.code, level)
        assert set(k.sla) == {"P1", "P2", "P3", "P4"}
        assert all(0 <= r <= s for r, s in k.sla.values())
    # what the sweep does with an overdue case comes from the kind's rows
    assert kinds.get(wf.COMPLAINT).timers >= {"sla_escalate", "confirmation_timeout"}
    assert "sla_breach" in kinds.get(wf.OFFICE_TICKET).timers
    assert "sla_escalate" not in kinds.get(wf.OFFICE_TICKET).timers


def test_register_refuses_a_taken_code_or_prefix_and_a_bad_family():
    k = kinds.get(wf.COMPLAINT)
    with pytest.raises(ValueError):
        kinds.register(k)
    with pytest.raises(ValueError):
        kinds.register(kinds.CaseKind(code="x_new", prefix="CM", name="x", plural="xs"))
    with pytest.raises(ValueError):
        kinds.register(kinds.CaseKind(code="x_new", prefix="XQ", name="x", plural="xs", workflow="nope"))
    with pytest.raises(ValueError):
        kinds.register(kinds.CaseKind(code="x_new", prefix="x1", name="x", plural="xs"))
    assert kinds.find("x_new") is None


# ---- a throwaway kind, end to end at the service level ----------------------------------

DRILL = "drill"
# A row of its own: the kind's handlers may stand a drill down (close it) without a reply.
STAND_DOWN = wf.Transition("stand_down", frozenset({DRILL}), frozenset(wf.WORKING), wf.CLOSED,
                           frozenset({wf.HANDLER}), ("close", "notify_requester"), needs_text=True,
                           resolution="resolved")


@pytest.fixture
def drill_kind():
    """A sixth kind registered for one test, and removed after: it follows the rows of
    the staff interactions, brings one row, two messages and an SLA of its own."""
    kind = kinds.register(kinds.CaseKind(
        code=DRILL, prefix="DR", name="Fire drill", plural="Fire drills",
        workflow=wf.INTERACTION, rows=(STAND_DOWN,),
        relations=frozenset({wf.REQUESTER, wf.HANDLER}),
        raise_endpoint="cases.queue",
        templates={"created": "drill_created", "closed": "drill_closed"},
        messages={"drill_created": ("Drill %(ref)s", "Drill %(ref)s is on. %(url)s", "Drill %(ref)s"),
                  "drill_closed": ("Drill over: %(ref)s", "%(ref)s is over.\n\n%(text)s", "Over: %(ref)s")},
        sla={"P1": (1, 1), "P2": (1, 2), "P3": (1, 3), "P4": (2, 5)},
        action_labels={"stand_down": "Stand down"},
    ))
    try:
        yield kind
    finally:
        kinds.unregister(DRILL)
    assert DRILL not in wf.KINDS and "drill_closed" not in notify.TEMPLATES


def _outbox(case):
    return {(n.template, n.recipient) for n in db.session.scalars(
        select(Notification).where(Notification.case_id == case.id))}


def test_a_registered_kind_goes_through_the_engine(app, world, drill_kind):
    w = world
    assert DRILL in wf.KINDS and DRILL not in wf.SUPERVISED_KINDS
    assert kind_label(DRILL) == "Fire drill"

    case = cases.raise_case(DRILL, office=w.team, now=NOW, actor=w.d1_op, subject="Evacuate",
                            requester={"email": "warden@example.org", "locale": "en"})
    # its reference prefix, its SLA (one business day to respond at P3) and its message
    assert case.reference.startswith("DR-") and is_well_formed(case.reference)
    assert case.response_due == sla.due_times(DRILL, "P3", NOW)[0]
    assert case.response_due < sla.due_times(wf.INTERACTION, "P3", NOW)[0]
    assert ("drill_created", "warden@example.org") in _outbox(case)
    created = db.session.scalar(select(Notification).where(Notification.template == "drill_created"))
    assert created.subject == f"Drill {case.reference}"

    # rows of the kind it follows: the team takes it up and replies; supervisors over the
    # subtree do not act on it (its relations)
    assert access.relations(w.team_user, case) == {wf.HANDLER}
    assert access.relations(w.admin, case) == {wf.SUPERVISOR}
    assert cases.available_actions(w.admin, case) == []
    cases.act(case, "start", now=NOW + timedelta(minutes=5), actor=w.team_user)
    cases.act(case, "reply", now=NOW + timedelta(minutes=9), actor=w.team_user, text="On our way")
    assert case.status == wf.IN_PROGRESS
    offered = {t.action for t in cases.available_actions(w.team_user, case)}
    assert {"stand_down", "propose_resolution", "close"} <= offered
    assert case_action_label("stand_down", case) == "Stand down"

    # its own row closes it, with its own closure message
    cases.act(case, "stand_down", now=NOW + timedelta(hours=1), actor=w.team_user, text="All clear")
    assert case.status == wf.CLOSED and case.resolution == "resolved"
    assert ("drill_closed", "warden@example.org") in _outbox(case)


def test_a_registered_kind_is_swept_by_the_timers(app, world, drill_kind):
    w = world
    assert {"sla_breach", "confirmation_timeout", "info_timeout_close"} <= drill_kind.timers
    by_name = {r[0]: r for r in timers.rules(NOW)}
    assert DRILL in by_name["breached"][4] and DRILL not in (by_name["escalated"][4] or ())

    late = cases.raise_case(DRILL, office=w.team, now=NOW, actor=w.d1_op, subject="Late drill")
    counts = timers.sweep(NOW + timedelta(days=30))
    assert counts["breached"] >= 1
    db.session.expire_all()
    late = db.session.get(Case, late.id)
    assert late.sla_breached and late.status == wf.OPEN  # flagged, as the rows it follows say


# ---- no per-kind list outside the registry -----------------------------------------------

# Modules that may name kinds, and why:
ALLOWED_EVERYWHERE = {
    "app/domain/kinds.py": "the registry itself",
    "app/domain/workflow.py": "the workflow table: its rows name the kinds they are written for",
    "app/services/administration/demo.py": "demo data: realistic cases of each built-in kind",
}
# A front door may check that a case (or category) is its own kind, and nothing else.
OWN_KIND = {
    "app/services/front_doors/citizen.py": wf.SERVICE_REQUEST,
    "app/blueprints/citizen/office.py": wf.SERVICE_REQUEST,
    "app/services/front_doors/tickets.py": wf.OFFICE_TICKET,
    "app/blueprints/tickets/routes.py": wf.OFFICE_TICKET,
    "app/services/front_doors/complaints.py": wf.COMPLAINT,
    "app/services/read_models/complaint_reports.py": wf.COMPLAINT,
    "app/services/front_doors/complaint_reviews.py": wf.COMPLAINT,
    "app/blueprints/complaints/routes.py": wf.COMPLAINT,
    "app/services/front_doors/interactions.py": wf.INTERACTION,
    "app/blueprints/interactions/routes.py": wf.INTERACTION,
    "app/services/front_doors/helpdesk.py": wf.HELPDESK,
    "app/services/front_doors/mail_intake.py": wf.HELPDESK,  # the helpdesk's e-mail channel
    "app/blueprints/helpdesk/routes.py": wf.HELPDESK,
}
_CONSTANTS = {"SERVICE_REQUEST": wf.SERVICE_REQUEST, "OFFICE_TICKET": wf.OFFICE_TICKET,
              "COMPLAINT": wf.COMPLAINT, "INTERACTION": wf.INTERACTION, "HELPDESK": wf.HELPDESK}
_SQL_MODELS = {"Case", "Category", "SlaRule"}  # `Case.kind == KIND`: a door selecting its own


def _kind_named(node, own: str | None) -> str | None:
    """The kind code `node` names (a literal, wf.COMPLAINT, KIND), if it names one."""
    if isinstance(node, ast.Constant) and node.value in BUILT_IN:
        return node.value
    if isinstance(node, ast.Attribute) and node.attr in _CONSTANTS:
        return _CONSTANTS[node.attr]
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id == "KIND":
            return own or "KIND"
    return None


def _kinds_named(node, own) -> list[str]:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [k for e in node.elts if (k := _kind_named(e, own))]
    k = _kind_named(node, own)
    return [k] if k else []


def _is_kind_of_something(node) -> bool:
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" and len(node.args) >= 2:
        return isinstance(node.args[1], ast.Constant) and node.args[1].value == "kind"
    if isinstance(node, ast.Attribute) and node.attr == "kind":
        return not (isinstance(node.value, ast.Name) and node.value.id in _SQL_MODELS)
    return isinstance(node, ast.Name) and node.id == "kind"


def _violations(path: Path, source: str) -> list[str]:
    rel = path.relative_to(ROOT).as_posix()
    if rel in ALLOWED_EVERYWHERE:
        return []
    own = OWN_KIND.get(rel)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_kind_of_something(o) for o in operands):
                named = [k for o in operands for k in _kinds_named(o, own)]
                if any(k != own for k in named):
                    found.append(f"{rel}:{node.lineno} branches on kind {named}")
        elif isinstance(node, ast.Dict):
            keys = [k for key in node.keys if key is not None for k in _kinds_named(key, own)]
            if len(keys) >= 2:
                found.append(f"{rel}:{node.lineno} a table per kind {keys}")
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            named = _kinds_named(node, own)
            if len(named) >= 2:
                found.append(f"{rel}:{node.lineno} a list of kinds {named}")
    return found


def test_no_module_but_the_registry_lists_kinds_or_branches_on_one():
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        found += _violations(path, path.read_text(encoding="utf-8"))
    assert found == [], "ask app/domain/kinds.py instead:\n" + "\n".join(found)


def test_no_template_branches_on_a_kind():
    codes = "|".join(BUILT_IN)
    pattern = re.compile(rf"kind\s*(==|!=|in)\s*[\"'(]\s*[\"']?({codes})")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "app" / "templates").rglob("*.html"))
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert found == []


@pytest.mark.parametrize("source,bad", [
    ('if case.kind == "complaint":\n    pass\n', True),
    ("if case.kind in (wf.COMPLAINT, wf.HELPDESK):\n    pass\n", True),
    ('X = {"complaint": 1, "helpdesk": 2}\n', True),
    ("K = (wf.COMPLAINT, wf.INTERACTION)\n", True),
    ("q = select(Case).where(Case.kind == wf.COMPLAINT)\n", False),
    ('ROLES = ("helpdesk", "admin")\n', False),
    ('if getattr(case, "kind", None) == "office_ticket":\n    pass\n', True),
    ("if kinds.get(case.kind).addressable:\n    pass\n", False),
])
def test_the_check_catches_a_new_per_kind_list(source, bad):
    assert bool(_violations(ROOT / "app" / "services" / "new_module.py", source)) is bad
