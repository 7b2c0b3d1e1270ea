"""Time-based rules, run by the scheduler or `flask run-jobs`: idempotent sweeps that
act through the same workflow as people do, as the actor "system"."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from app.domain import workflow as wf
from app.domain.errors import WorkflowError
from app.extensions import db
from app.models import Case
from app.services.engine import cases, notify, sla
from app.services.front_doors import bulk

BATCH = 500
# Due ids are read this many at a time and then taken BATCH by BATCH: each read scans the
# rule's index range from its start, where the entries of the cases already changed stay
# until VACUUM (a read per batch of 500 scanned 10,000 entries twenty times over).
CHUNK = 20 * BATCH


def _due_query(condition, statuses, kinds, after_id: int, limit: int):
    # SQLite's planner, given ORDER BY id and id > n, walks the whole table in rowid order
    # (a million rows, 0.2-0.4 s a read) instead of the rule's (status, due time) index;
    # "id + 0" is not the rowid to it, so it reads the index and sorts the due rows.
    key = Case.id + 0 if db.session.get_bind().dialect.name == "sqlite" else Case.id
    q = select(Case.id, Case.version).where(Case.status.in_(statuses), condition, key > after_id)
    if kinds:
        q = q.where(Case.kind.in_(kinds))
    return q.order_by(key).limit(limit)


def _due_ids(condition, statuses, kinds, after_id: int, limit: int):
    return db.session.execute(_due_query(condition, statuses, kinds, after_id, limit)).all()


def _begin_batch() -> None:
    """Open the batch's transaction. pysqlite opens one only before its first INSERT or
    UPDATE, so each case's SAVEPOINT would otherwise start (and its RELEASE commit) a
    transaction of its own; BEGIN IMMEDIATE also takes SQLite's write lock before the
    batch is read, so no other writer can slip in between read and write."""
    conn = db.session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _apply(condition, statuses, action: str, now: datetime, kinds=None) -> int:
    """Act on every case that meets `condition`, through the workflow, a batch of cases
    per transaction: set-based (`bulk`) when the transition allows it, else with one
    flush for the batch, case by case (each in a SAVEPOINT) when a case of the batch
    refuses. Only due rows are read: the statuses and due times are indexed; their ids
    and versions CHUNK at a time. A case changed meanwhile (by a person, or by another
    sweeper that got there first) is skipped, so each case is changed once however
    many sweepers run; if it is still due, the next sweep takes it."""
    done, after = 0, 0
    while True:
        found = _due_ids(condition, statuses, kinds, after, CHUNK)
        for start in range(0, len(found), BATCH):
            done += _apply_batch(dict(found[start:start + BATCH]), action, now)
        if len(found) < CHUNK:
            return done
        after = found[-1][0]


def _apply_batch(versions: dict, action: str, now: datetime) -> int:
    """One batch ({id: version seen when found due}) in one transaction."""
    done = 0
    _begin_batch()
    with notify.batch():
        changed, rest = _set_based(versions, action, now)
        done += changed
        if rest:
            batch = db.session.scalars(
                select(Case).where(Case.id.in_(rest)).order_by(Case.id)
                .options(joinedload(Case.current_office))
                .execution_options(populate_existing=True)).all()
            done += _act_on_batch(batch, versions, action, now)
    try:
        db.session.commit()
    except StaleDataError:  # pragma: no cover - flushes happen inside savepoints
        db.session.rollback()
    return done


def _set_based(versions: dict, action: str, now: datetime) -> tuple[int, list[int]]:
    """Take the batch's set-based transitions with a few statements (`bulk.act_set`), in
    a SAVEPOINT; returns (cases changed, ids left for the per-case path). When the
    action has no set-based transition, or a guarded UPDATE misses a row, every case
    is left to the per-case path."""
    if not bulk.may_apply(action):
        return 0, list(versions)
    try:
        with db.session.begin_nested():
            return bulk.act_set(versions, action, now=now)
    except bulk.Refused:
        return 0, list(versions)


def _act_on_batch(batch, versions: dict, action: str, now: datetime) -> int:
    """Apply `action` to the loaded cases of one batch; returns how many were changed."""
    try:
        # Fast path: the whole batch with one flush.
        return cases.act_many([(c, versions[c.id]) for c in batch], action, now=now)
    except cases.BatchRefused:
        # A case of the batch refuses (changed meanwhile, or no higher level to
        # escalate to): take them one by one, each in a SAVEPOINT of its own.
        done = 0
        for case in batch:
            db.session.refresh(case)
            try:
                cases.act(case, action, now=now, as_=wf.SYSTEM, expected_version=versions[case.id],
                          commit=False)
                done += 1
            except WorkflowError:
                pass
        return done


def _rule(name: str, condition, action: str) -> tuple:
    """A timer rule: the states and kinds it sweeps are those in which the workflow
    table lets the system take `action` (one place: `wf.system_scope`). The kinds are
    filtered only when others can be in those states too."""
    kinds, states = wf.system_scope(action)
    if not kinds:  # pragma: no cover - a rule for an action the table does not have
        raise RuntimeError(f"the workflow table has no system action {action}")
    narrow = sorted(kinds) if kinds != wf.kinds_reaching(states) else None
    return (name, condition, sorted(states), action, narrow)


def rules(now: datetime) -> list[tuple]:
    """The timeouts due at `now`, in the order the sweep applies them: (name, condition,
    statuses, action, kinds or None)."""
    policy = current_app.config.get("INFO_TIMEOUT_POLICY", "close")
    # Overdue is one definition (`app.domain.sla.is_overdue`, in SQL `sla.due_passed`
    # with the running-clock states from the table): overdue complaints and helpdesk
    # cases climb one level and the receiving level gets a fresh window (effect
    # renew_due), so the next climb waits for its own breach; the other kinds are
    # flagged once.
    overdue = sla.due_passed(now)
    return [
        _rule("auto_closed", Case.confirmation_due <= now, "confirmation_timeout"),
        _rule("info_timeout", Case.info_due <= now,
              "info_timeout_escalate" if policy == "escalate" else "info_timeout_close"),
        _rule("escalated", overdue, "sla_escalate"),
        _rule("breached", overdue & Case.sla_breached.is_(False), "sla_breach"),
    ]


def sweep(now: datetime) -> dict:
    """Apply every timeout that is due at `now`. Returns counts per rule."""
    return {name: _apply(condition, statuses, action, now, kinds=kinds)
            for name, condition, statuses, action, kinds in rules(now)}
