"""The timer sweep's set-based path: one action taken on a batch of cases with a
handful of statements instead of an ORM flush of every case.

It is the same engine, not a second copy of the rules. The transition comes from the
workflow table (`wf.find`, per case, as `cases.act` does); its column changes from
`effects.apply_to_row`, the office an escalation goes to from
`routing.escalation_target` (with the parents of the batch's offices read in one query),
the timeline row from `cases.event_fields` and the messages from `cases._notify` — the
code the per-case path runs. What is set-based is only how
the results reach the database (`bulk_sql`): one locked read of the batch, an UPDATE
per shape of change (each row guarded by its version), one INSERT of the timeline rows,
one of the outbox rows, and the dashboard counters moved with `tallies.apply`.

A transition qualifies when every effect is a column effect, a move one level up or
a message (`set_based`); anything else (a target chosen by a person, a text, a rating)
is left to the caller's per-case path, and so is a case that has no level to go up to.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from app.domain import workflow as wf
from app.domain.errors import WorkflowError
from app.extensions import db
from app.models import Case, CaseEvent, Notification, OrgUnit, User
from app.services.engine import cases, effects, flow, notify, routing
from app.services.front_doors import bulk_sql
from app.services.read_models import tallies

NOTIFY_EFFECTS = frozenset({"notify_requester", "notify_office"})

# What a case's messages and counters read, next to what its effects read.
_READ = tuple(dict.fromkeys((
    "id", "version", "reference", "status", "category_id", "current_office_id", "data",
    "requester_email", "requester_mobile", "raised_by_id", "raising_office_id", "created_at",
    "subject",  # the messages' %(subject)s (`notify.case_context`)
    *effects.COLUMNS, *tallies.KEY_COLUMNS, *tallies.DAY_COLUMNS, *flow.FLOW_COLUMNS)))
_CASE = Case.__table__


def set_based(t: wf.Transition) -> bool:
    """Can `t` be taken on many cases at once: no text, no target chosen by a person,
    and every effect a column effect, a move one level up or a message?"""
    return (t.needs is None and not t.needs_text
            and all(e in effects.COLUMN_EFFECTS or e in effects.ROUTING_EFFECTS
                    or e in NOTIFY_EFFECTS for e in t.effects))


def may_apply(action: str, as_: str = wf.SYSTEM) -> bool:
    """Is any transition of `action` taken by `as_` set-based (worth trying this path)?"""
    return any(set_based(t) for t in wf.all_rows() if t.action == action and as_ in t.who)


class Refused(Exception):
    """A guarded UPDATE matched fewer rows than expected; nothing of the batch is kept."""


def act_set(versions: dict[int, int], action: str, *, now: datetime,
            as_: str = wf.SYSTEM) -> tuple[int, list[int]]:
    """Take `action` on the cases `versions` names ({id: version seen when found due}).
    The caller owns the transaction and wraps this in a SAVEPOINT: on `Refused` the
    whole batch is undone. Returns (cases changed, ids left for the per-case path).

    A case whose version differs from the one seen (changed meanwhile by a person or
    another sweeper), or for which the action does not exist any more, is skipped, as
    `cases.act` would refuse it. The rows are read FOR UPDATE (PostgreSQL; SQLite holds
    its write lock for the whole batch), so nobody changes them between read and write."""
    rows = db.session.execute(
        select(*(_CASE.c[c] for c in _READ)).where(_CASE.c.id.in_(list(versions)))
        .order_by(_CASE.c.id).with_for_update()).all()
    offices = _by_id(OrgUnit, {r.current_office_id for r in rows})
    users = _by_id(User, {r.raised_by_id for r in rows if r.raised_by_id is not None})
    rest: list[int] = []
    parents = None  # {office id: next office up}, read once when the batch escalates
    supervisors = None  # {office id: its supervisors}, for the offices and those above them
    found: dict[tuple, wf.Transition | None] = {}  # wf.find per kind, state and office kind
    done = []  # (row, transition, column changes, timeline row)
    for row in rows:
        if row.version != int(versions[row.id]):
            continue
        office = offices[row.current_office_id]
        facts = wf.facts_of(row)
        key = (row.kind, row.status, office.kind, facts)
        if key not in found:
            try:
                found[key] = wf.find(row.kind, row.status, action, {as_}, office_kind=office.kind,
                                     facts=facts)
            except WorkflowError:
                found[key] = None
        t = found[key]
        if t is None:
            continue
        if not set_based(t):
            rest.append(row.id)
            continue
        target, reach = None, ()
        if any(e in effects.ROUTING_EFFECTS for e in t.effects):
            if parents is None:
                parents = routing.parents_in_chain(list(offices.values()))
                supervisors = routing.supervisors_of(
                    {i for o in offices.values() for i in (o.id, *o.ancestor_ids())})
            case = effects.RowView(row)
            case.changes["current_office"] = office
            exclude = routing.escalation_exclude(case)
            target = routing.escalation_target(case, parents, supervisors, exclude)
            if target is None:  # no higher level: the per-case path refuses it
                rest.append(row.id)
                continue
            offices.setdefault(target.id, target)
            reach = cases.escalation_reach(case, target, exclude, supervisors)
        changes, moved = effects.apply_to_row(row, t, now, target, reach)
        changes.update(status=t.target or row.status, updated_at=now)
        event = cases.event_fields(row.id, row.status, t, now=now, as_=as_)
        event.update(from_office_id=moved.get("from_office_id"), to_office_id=moved.get("to_office_id"))
        event["data"].update(moved.get("data", {}))
        done.append((row, t, changes, event))
    if not done:
        return 0, rest
    _update(done)
    bulk_sql.insert_rows(CaseEvent.__table__, [event for *_, event in done])
    _tallies(done)
    _messages(done, offices, users, now)
    return len(done), rest


def _by_id(model, ids: set) -> dict:
    if not ids:
        return {}
    return {o.id: o for o in db.session.scalars(select(model).where(model.id.in_(ids)))}


def _update(done: list) -> None:
    """One UPDATE per set of changed columns, each row guarded by the version it was
    read at (and moved on by one, as the ORM's version counter does)."""
    shapes = defaultdict(list)
    for row, _t, changes, _event in done:
        shapes[tuple(sorted(changes))].append({**changes, "id": row.id, "version": row.version})
    for columns, rows in shapes.items():
        matched = bulk_sql.update_rows(_CASE, rows, columns)
        if matched != len(rows):
            raise Refused(f"{matched} of {len(rows)} cases updated")


def _tallies(done: list) -> None:
    """Move each case's count from its old key to its new one (the ORM flush hook does
    this for the per-case path; these UPDATEs bypass it)."""
    moves = []
    for row, _t, changes, _event in done:
        old = tallies.key_of(getattr(row, c) for c in tallies.KEY_COLUMNS)
        new = tallies.key_of(changes.get(c, getattr(row, c)) for c in tallies.KEY_COLUMNS)
        if old != new:
            moves.append((row.id, old, new))
    if moves:
        tallies.apply(db.session.connection(), {}, moves)
    # and the per-day counters (a case closed by the sweep counts on its closing day)
    days = [(old, new) for old, new in
            (([getattr(row, c) for c in tallies.DAY_COLUMNS],
              [changes.get(c, getattr(row, c)) for c in tallies.DAY_COLUMNS]) for row, _t, changes, _e in done)
            if old != new]
    if days:
        tallies.apply_days(db.session.connection(), days)
    # and the league's counters (a case closed or breached by the sweep)
    flow.apply(db.session.connection(), [
        (row.id, tuple(getattr(row, c) for c in flow.FLOW_COLUMNS),
         tuple(changes.get(c, getattr(row, c)) for c in flow.FLOW_COLUMNS)) for row, _t, changes, _e in done])


def _messages(done: list, offices: dict, users: dict, now: datetime) -> None:
    """The outbox rows of the transitions' messages, rendered by `cases._notify` from
    the case as it is after the change, inserted in one statement."""
    notify.load_office_contacts(changes.get("current_office_id", row.current_office_id)
                                for row, t, changes, _e in done if "notify_office" in t.effects)
    with notify.collect() as outbox:
        for row, t, changes, fields in done:
            event = _Event(fields["data"])
            effects_to_notify = [e for e in t.effects if e in NOTIFY_EFFECTS]
            if not effects_to_notify:
                continue
            case = effects.RowView(row)
            case.changes.update(changes)
            case.changes.update(current_office=offices[changes.get("current_office_id", row.current_office_id)],
                                raised_by=users.get(row.raised_by_id), assignee=None)
            for effect in effects_to_notify:
                cases._notify(effect, case, t, event, now, None)
    bulk_sql.insert_rows(Notification.__table__, outbox)


class _Event:
    """The timeline row as `cases._notify` reads it: the sweep writes no text; its data
    names the supervisors an escalation that stays in the office goes to."""

    text = ""

    def __init__(self, data: dict) -> None:
        self.data = data
