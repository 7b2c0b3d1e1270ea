"""What the workflow table's column effects do to a case's row: one definition, used by
the per-case engine (`cases._apply`, on an ORM `Case`) and by the set-based sweep
(`bulk`, on a plain row), so the two paths cannot drift apart.

An effect here reads only the case's own columns and the clock, and returns the column
values it sets. The routing effects (`ROUTING_EFFECTS`: one level up) also need the
office the case goes to, found by `routing.escalation_target`; what they change is
`escalation`. Effects that need more (a target office or user chosen by a person, a
rating, notifications) are carried out by `cases._apply` itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from app.domain import workflow as wf
from app.services.engine import sla

COLUMN_EFFECTS = frozenset({
    "clear_assignee", "pause_external", "pause_customer", "resume_clock", "set_info_due",
    "clear_info_due", "set_confirmation_due", "clear_confirmation_due", "first_response",
    "close", "renew_due", "mark_breached", "restart_clock",
})

# Moving the case one level up; the office comes from `routing.escalation_target`.
ROUTING_EFFECTS = frozenset({"move_up", "escalate"})

# Every column an effect above reads or writes (what the set-based path loads).
COLUMNS = ("kind", "priority", "assignee_id", "paused_since", "paused_for", "external_seconds",
           "customer_seconds", "resolution_due", "response_due", "first_response_at", "info_due",
           "confirmation_due", "closed_at", "resolution", "sla_breached", "current_office_id",
           "escalation_level")


def column_changes(effect: str, case, t: wf.Transition, now: datetime) -> dict:
    """The column values `effect` sets on `case` (an ORM Case or any object with its
    attributes, seen with the transition's earlier effects already applied)."""
    cfg = current_app.config
    if effect == "clear_assignee":
        return {"assignee_id": None}
    if effect in ("pause_external", "pause_customer"):
        if case.paused_since is not None:
            return {}
        return {"paused_since": now, "paused_for": effect.removeprefix("pause_")}
    if effect == "resume_clock":
        return _resume(case, now)
    if effect == "set_info_due":
        return {"info_due": now + timedelta(days=cfg["INFO_RESPONSE_DAYS"])}
    if effect == "clear_info_due":
        return {"info_due": None}
    if effect == "set_confirmation_due":
        return {"confirmation_due": now + timedelta(hours=cfg["CONFIRMATION_HOURS"])}
    if effect == "clear_confirmation_due":
        return {"confirmation_due": None}
    if effect == "first_response":
        return {"first_response_at": now} if case.first_response_at is None else {}
    if effect == "close":
        return {"closed_at": now, "resolution": t.resolution}
    if effect == "renew_due":
        # The level that receives an overdue case gets a fresh window of its own.
        response_due, resolution_due = sla.due_times(case.kind, case.priority, now)
        return {"response_due": response_due, "resolution_due": resolution_due}
    if effect == "mark_breached":
        return {"sla_breached": True}
    if effect == "restart_clock":
        # A helpdesk ticket reaching the team of its escalation path (seed 002: the
        # response time counts "once it reaches" them): a clock of its own, from now —
        # fresh due times, no first response yet, no breach yet (L1's lateness stays
        # in the timeline, as the `sla_escalate` row that moved it).
        response_due, resolution_due = sla.due_times(case.kind, case.priority, now)
        return {"response_due": response_due, "resolution_due": resolution_due,
                "first_response_at": None, "sla_breached": False}
    raise ValueError(f"{effect} is not a column effect")  # pragma: no cover - caller checks


def escalation(case, target, reach=()) -> tuple[dict, dict]:
    """A routing effect: `case` moves up to the office `target`. Returns the case's
    column changes and what its timeline row records (office columns, and the new
    level under "data"; with `reach`, the ids of the supervisors an escalation that
    stays in the office goes to — `routing.escalation_supervisors` —, under
    "supervisors": the office's message goes to them)."""
    level = case.escalation_level + 1
    data = {"level": level}
    if reach:
        data["supervisors"] = [s.id for s in reach]
    return ({"current_office_id": target.id, "escalation_level": level},
            {"from_office_id": case.current_office_id, "to_office_id": target.id, "data": data})


def _resume(case, now: datetime) -> dict:
    """Stop the other party's clock: add the time to its counter and push our own due
    times back by the same amount, so the SLA counts only our time."""
    if case.paused_since is None:
        return {}
    waited = now - case.paused_since
    seconds = int(waited.total_seconds())
    out: dict = {"paused_since": None, "paused_for": None}
    if case.paused_for == "external":
        out["external_seconds"] = case.external_seconds + seconds
    else:
        out["customer_seconds"] = case.customer_seconds + seconds
    if case.resolution_due is not None:
        out["resolution_due"] = case.resolution_due + waited
    if case.response_due is not None and case.first_response_at is None:
        out["response_due"] = case.response_due + waited
    return out


class RowView:
    """A row seen through the changes made to it so far: what `column_changes` reads
    on the set-based path, where there is no ORM object to set attributes on."""

    __slots__ = ("_row", "changes")

    def __init__(self, row) -> None:
        self._row = row
        self.changes: dict = {}

    def __getattr__(self, name: str):  # only called for names that are not slots
        if name in self.__slots__:  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        changes = self.changes
        if name in changes:
            return changes[name]
        return getattr(self._row, name)


def apply_to_row(row, t: wf.Transition, now: datetime, target=None, reach=()) -> tuple[dict, dict]:
    """Every column change of `t`'s column and routing effects on `row`, in the table's
    order, and the timeline row's fields they set (`escalation`). `target` is the
    office a routing effect moves the case to, `reach` the supervisors it goes to."""
    view = RowView(row)
    event: dict = {}
    for effect in t.effects:
        if effect in COLUMN_EFFECTS:
            view.changes.update(column_changes(effect, view, t, now))
        elif effect in ROUTING_EFFECTS:
            columns, event = escalation(view, target, reach)
            view.changes.update(columns)
    return view.changes, event
