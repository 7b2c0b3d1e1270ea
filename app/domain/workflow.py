"""The one state machine for every kind of case.

The table `TRANSITIONS` is the whole workflow: for each action, which kinds of case
it applies to, from which states, to which state, who may take it and which effects
the case service carries out. Nothing else in the application changes a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain import kinds as registry
from app.domain.errors import InvalidTransition, NotAllowed, NotAtThisLevel, NotYet
from app.domain.kinds import COMPLAINT, HELPDESK, INTERACTION, OFFICE_TICKET, SERVICE_REQUEST

# Kinds of case: the registry (`app.domain.kinds`). The rows below are written for the
# built-in kinds; a registered kind follows the rows of one of them (`CaseKind.workflow`)
# and may bring rows of its own (`CaseKind.rows`). `KINDS` and `SUPERVISED_KINDS` are read
# from the registry when asked (module `__getattr__`, below).

# States
OPEN = "open"
IN_PROGRESS = "in_progress"
AWAITING_INFO = "awaiting_info"
PENDING_EXTERNAL = "pending_external"
AWAITING_CONFIRMATION = "awaiting_confirmation"
CLOSED = "closed"
STATES = (OPEN, IN_PROGRESS, AWAITING_INFO, PENDING_EXTERNAL, AWAITING_CONFIRMATION, CLOSED)
ACTIVE_STATES = frozenset(STATES) - {CLOSED}
WORKING = frozenset({OPEN, IN_PROGRESS})

# Who may act (a user's relation to a case, computed by app.services.engine.access)
REQUESTER = "requester"  # raised it (citizen by token, employee, or the raising office)
HANDLER = "handler"  # works in the office that holds it, or is its assignee
SUPERVISOR = "supervisor"  # supervisor role over the holding office's subtree
SYSTEM = "system"  # timers
PARTNER = "partner"  # an authenticated partner system (external authority updates)

# Every built-in kind: the rows' "all kinds" (a registered kind follows one of them).
ALL = frozenset(registry.codes())
STAFF = frozenset({HANDLER, SUPERVISOR})

# Facts about a case a row may require besides its state (`Transition.requires`), as
# `facts_of` reads them from the case.
ANSWERED = "answered"  # a reply or a proposed resolution has been given (first response)
# A helpdesk ticket still with the desk that logged it (L1, seed 002): never escalated and
# held by the raising office.
WITH_DESK = "with_desk"


def facts_of(case) -> frozenset[str]:
    """The facts of `case` (any object with its columns) that rows may require."""
    facts = set()
    if getattr(case, "first_response_at", None) is not None:
        facts.add(ANSWERED)
    if (getattr(case, "kind", None) == HELPDESK and not getattr(case, "escalation_level", 0)
            and getattr(case, "raising_office_id", None) is not None
            and case.raising_office_id == getattr(case, "current_office_id", None)):
        facts.add(WITH_DESK)
    return frozenset(facts)


@dataclass(frozen=True)
class Transition:
    action: str
    kinds: frozenset
    sources: frozenset
    target: str | None  # None: the state does not change
    who: frozenset
    effects: tuple = ()
    public: bool = True  # is the timeline row shown to the requester?
    needs_text: bool = False
    needs: str | None = None  # "office" | "user" | "external"
    resolution: str | None = None  # recorded when the transition closes the case
    requires: str | None = None  # a fact of `facts_of` that must hold (else NotYet)
    extra: dict = field(default_factory=dict)


def _t(action, kinds, sources, target, who, effects=(), **kw) -> Transition:
    return Transition(
        action, frozenset(kinds), frozenset(sources), target, frozenset(who), tuple(effects), **kw
    )


TRANSITIONS: tuple[Transition, ...] = (
    # --- taking up and answering -------------------------------------------------
    _t("start", ALL - {SERVICE_REQUEST}, {OPEN}, IN_PROGRESS, STAFF, ["assign_actor"]),
    _t("start", {SERVICE_REQUEST}, {OPEN}, IN_PROGRESS, {HANDLER}, ["assign_actor", "notify_requester"]),
    _t("reply", ALL - {SERVICE_REQUEST}, WORKING, IN_PROGRESS, STAFF,
       ["first_response", "notify_requester"], needs_text=True),
    _t("note", ALL, ACTIVE_STATES, None, STAFF, [], public=False, needs_text=True),
    _t("assign", ALL - {SERVICE_REQUEST}, WORKING, IN_PROGRESS, STAFF,
       ["assign_target", "notify_assignee"], public=False, needs="user"),
    # --- helpdesk L1 (seed 002) ----------------------------------------------------
    # While the desk that logged a ticket holds it (WITH_DESK) the desk resolves it — the
    # fix recorded, the caller told: "resolved at first contact" — or escalates it along
    # the path its category names (`routing.helpdesk_path`); the receiving team's SLA clock
    # starts then. These rows come before the general ones: the first ready row is taken.
    _t("close", {HELPDESK}, WORKING, CLOSED, STAFF, ["close", "notify_requester"],
       needs_text=True, resolution="first_contact", requires=WITH_DESK),
    _t("escalate", {HELPDESK}, WORKING, OPEN, STAFF,
       ["escalate_path", "restart_clock", "clear_assignee", "notify_office"], needs_text=True,
       requires=WITH_DESK),
    _t("sla_escalate", {HELPDESK}, WORKING, OPEN, {SYSTEM},
       ["escalate_path", "restart_clock", "clear_assignee", "notify_office"], requires=WITH_DESK),
    _t("classify", {HELPDESK}, WORKING, None, STAFF, ["classify"], public=False, requires=WITH_DESK),
    # A caller's answer by e-mail (app.services.front_doors.mail_intake) is added to the timeline.
    _t("requester_reply", {HELPDESK}, WORKING | {AWAITING_CONFIRMATION}, None, {REQUESTER},
       ["notify_handlers"], needs_text=True),
    # --- moving between offices --------------------------------------------------
    _t("transfer", {COMPLAINT, HELPDESK, INTERACTION}, WORKING, OPEN, STAFF,
       ["move_to_target", "clear_assignee", "notify_office"], needs_text=True, needs="office"),
    # Office tickets climb Division → Region → Circle → CEPT; CEPT is the top (seed 000).
    _t("escalate", {OFFICE_TICKET}, WORKING, OPEN, {HANDLER},
       ["move_up", "clear_assignee", "notify_office"], needs_text=True,
       extra={"not_at": frozenset({"cept"})}),
    _t("escalate", {COMPLAINT, HELPDESK}, WORKING, OPEN, STAFF,
       ["escalate", "clear_assignee", "notify_office"], needs_text=True),
    # --- external authorities (clock with them kept apart) -----------------------
    _t("refer_external", {COMPLAINT}, WORKING, PENDING_EXTERNAL, STAFF,
       ["set_external", "pause_external"], needs_text=True, needs="external"),
    _t("external_update", {COMPLAINT}, {PENDING_EXTERNAL}, None, STAFF | {PARTNER}, [],
       public=False, needs_text=True),
    _t("recall_external", {COMPLAINT}, {PENDING_EXTERNAL}, IN_PROGRESS, STAFF,
       ["resume_clock"], needs_text=True),
    # --- asking the requester for information (clock paused) ---------------------
    _t("request_info", {COMPLAINT, INTERACTION, HELPDESK}, WORKING, AWAITING_INFO, STAFF,
       ["first_response", "set_info_due", "pause_customer", "notify_requester"], needs_text=True),
    _t("provide_info", {COMPLAINT, INTERACTION, HELPDESK}, {AWAITING_INFO}, IN_PROGRESS, {REQUESTER},
       ["clear_info_due", "resume_clock", "notify_handlers"], needs_text=True),
    _t("info_timeout_close", {COMPLAINT, INTERACTION, HELPDESK}, {AWAITING_INFO}, CLOSED, {SYSTEM},
       ["clear_info_due", "resume_clock", "close", "notify_requester"], resolution="no_response"),
    _t("info_timeout_escalate", {COMPLAINT, INTERACTION, HELPDESK}, {AWAITING_INFO}, OPEN, {SYSTEM},
       ["clear_info_due", "resume_clock", "escalate", "notify_office"]),
    # --- proposing a resolution and the requester's answer -----------------------
    _t("propose_resolution", {COMPLAINT, INTERACTION, HELPDESK}, WORKING, AWAITING_CONFIRMATION,
       STAFF, ["first_response", "set_confirmation_due", "pause_customer", "notify_requester"],
       needs_text=True),
    _t("accept", {COMPLAINT, INTERACTION, HELPDESK}, {AWAITING_CONFIRMATION}, CLOSED, {REQUESTER},
       ["clear_confirmation_due", "resume_clock", "close"], resolution="accepted"),
    # The raising office confirms a ticket solved only once a level has answered it.
    _t("accept", {OFFICE_TICKET}, ACTIVE_STATES, CLOSED, {REQUESTER}, ["close", "notify_handlers"],
       resolution="confirmed", requires=ANSWERED),
    # A rejected complaint goes to the supervisors (escalated queue), not back to its handler.
    _t("reject", {COMPLAINT}, {AWAITING_CONFIRMATION}, OPEN, {REQUESTER},
       ["clear_confirmation_due", "resume_clock", "escalate", "clear_assignee", "notify_office"],
       needs_text=True),
    _t("reject", {INTERACTION, HELPDESK}, {AWAITING_CONFIRMATION}, IN_PROGRESS, {REQUESTER},
       ["clear_confirmation_due", "resume_clock", "notify_handlers"], needs_text=True),
    _t("clarify", {COMPLAINT}, {AWAITING_CONFIRMATION}, IN_PROGRESS, {REQUESTER},
       ["clear_confirmation_due", "resume_clock", "notify_handlers"], needs_text=True),
    _t("confirmation_timeout", {COMPLAINT, INTERACTION, HELPDESK}, {AWAITING_CONFIRMATION}, CLOSED,
       {SYSTEM}, ["clear_confirmation_due", "resume_clock", "close", "notify_requester"],
       resolution="auto_closed"),
    _t("requester_reply", {OFFICE_TICKET}, WORKING, IN_PROGRESS, {REQUESTER}, ["notify_handlers"],
       needs_text=True),
    # --- closing -----------------------------------------------------------------
    # A Division replies or assigns to the Region; Region, Circle and CEPT close (seed 000).
    _t("close", {OFFICE_TICKET}, WORKING, CLOSED, {HANDLER}, ["close", "notify_requester"],
       needs_text=True, resolution="resolved", extra={"not_at": frozenset({"division"})}),
    _t("close", {HELPDESK, INTERACTION}, WORKING, CLOSED, STAFF, ["close", "notify_requester"],
       needs_text=True, resolution="resolved"),
    # Complaints: only a supervisor closes without the customer's confirmation, with a reason.
    _t("close", {COMPLAINT}, ACTIVE_STATES, CLOSED, {SUPERVISOR},
       ["clear_confirmation_due", "clear_info_due", "resume_clock", "close", "notify_requester"],
       needs_text=True, resolution="closed_by_supervisor"),
    _t("complete", {SERVICE_REQUEST}, WORKING, CLOSED, {HANDLER}, ["close", "notify_requester"],
       resolution="completed"),
    _t("not_served", {SERVICE_REQUEST}, WORKING, CLOSED, {HANDLER}, ["close", "notify_requester"],
       needs_text=True, resolution="not_served"),
    # --- timers ------------------------------------------------------------------
    _t("sla_escalate", {COMPLAINT, HELPDESK}, WORKING, OPEN, {SYSTEM},
       ["mark_breached", "escalate", "renew_due", "clear_assignee", "notify_office"]),
    _t("sla_breach", {SERVICE_REQUEST, OFFICE_TICKET, INTERACTION}, WORKING, None, {SYSTEM},
       ["mark_breached"], public=False),
    # --- after closure -----------------------------------------------------------
    _t("rate", {COMPLAINT, INTERACTION, HELPDESK, SERVICE_REQUEST}, {CLOSED}, None, {REQUESTER},
       ["feedback"], public=True),
)


def __getattr__(name: str):
    # Read from the registry when asked, so a kind registered later is included.
    if name == "KINDS":
        return registry.codes()
    if name == "SUPERVISED_KINDS":
        # Supervisors act over their subtree only on these kinds (`CaseKind.relations`);
        # doorstep requests are updated by the owning Division alone and office tickets by
        # the level they reached (seeds 001, 000).
        return frozenset(k.code for k in registry.all() if k.supervised)
    raise AttributeError(name)


SYSTEM_ACTIONS = frozenset(t.action for t in TRANSITIONS if SYSTEM in t.who)


def _rows_with_kinds():
    """Every row of the table and the kinds' own rows, each with the registered kinds it
    applies to."""
    for t in TRANSITIONS:
        yield t, registry.following(t.kinds)
    for k in registry.all():
        for t in k.rows:
            yield t, frozenset({k.code}) & t.kinds


def all_rows() -> list[Transition]:
    """The table's rows and the rows the registered kinds bring (`CaseKind.rows`)."""
    return [t for t, _kinds in _rows_with_kinds()]


def rows_of(kind: str) -> list[Transition]:
    """The rows that apply to `kind`: those of the kind it follows, then its own."""
    family = registry.family_of(kind)
    own = registry.find(kind)
    return [t for t in TRANSITIONS if family in t.kinds] + \
        [t for t in (own.rows if own is not None else ()) if kind in t.kinds]


def system_scope(action: str) -> tuple[frozenset, frozenset]:
    """(kinds, states) in which the system (the timers) takes `action`, from the rows
    above: what a timer rule sweeps (`app.services.engine.timers.rules`)."""
    rows = [(t, kinds) for t, kinds in _rows_with_kinds() if t.action == action and SYSTEM in t.who]
    return (frozenset().union(*(kinds for _t, kinds in rows)),
            frozenset().union(*(t.sources for t, _kinds in rows)))


def kinds_reaching(states) -> frozenset:
    """The kinds of case that can be in any of `states`: every kind starts open; a
    kind reaches another state through a row of the table."""
    states = frozenset(states)
    found = set(registry.codes()) if OPEN in states else set()
    for t, kinds in _rows_with_kinds():
        if t.target in states:
            found |= kinds
    return frozenset(found)


def _effective(kind: str, relations) -> set[str]:
    rel = set(relations)
    found = registry.find(kind)
    if found is None or not found.supervised:
        rel.discard(SUPERVISOR)
    return rel


def transitions_for(kind: str, state: str) -> list[Transition]:
    """All transitions that exist for `kind` in `state`, whoever takes them."""
    return [t for t in rows_of(kind) if state in t.sources]


def allowed_at(t: Transition, office_kind: str | None) -> bool:
    """False when the row says the action is not taken at this kind of office
    (`extra["not_at"]`); an unknown office kind (None) is not restricted."""
    return office_kind is None or office_kind not in t.extra.get("not_at", ())


def ready(t: Transition, facts) -> bool:
    """Does the case (its `facts_of`) have what the row requires?"""
    return t.requires is None or t.requires in facts


def available(kind: str, state: str, relations: set[str] | frozenset[str],
              office_kind: str | None = None, facts=frozenset()) -> list[Transition]:
    """The transitions an actor with `relations` may take now (first row per action),
    at a case held by an office of `office_kind` when given, with `facts` (`facts_of`;
    a row that requires a fact not given is not offered)."""
    seen: dict[str, Transition] = {}
    relations = _effective(kind, relations)
    for t in transitions_for(kind, state):
        if not allowed_at(t, office_kind) or not ready(t, facts):
            continue
        if t.action not in seen and t.who & set(relations):
            seen[t.action] = t
    return list(seen.values())


def find(kind: str, state: str, action: str, relations: set[str] | frozenset[str],
         office_kind: str | None = None, facts=frozenset()) -> Transition:
    """The transition `action` for an actor with `relations` on a case with `facts`.

    Raises InvalidTransition when the action does not exist for this kind and state,
    NotAtThisLevel when it exists but not at an office of `office_kind`, NotAllowed
    when it exists but not for this actor, NotYet when the actor's row requires a fact
    the case does not have.
    """
    relations = _effective(kind, relations)
    candidates = [t for t in transitions_for(kind, state) if t.action == action]
    if not candidates:
        raise InvalidTransition(f"{action} is not possible for a {kind} in state {state}",
                                action=action, state=state, kind=kind)
    here = [t for t in candidates if allowed_at(t, office_kind)]
    if not here:
        raise NotAtThisLevel(f"{action} on a {kind} is not taken at a {office_kind}",
                             action=action, state=state, kind=kind, office_kind=office_kind)
    mine = [t for t in here if t.who & set(relations)]
    if not mine:
        raise NotAllowed(f"{action} on a {kind} in state {state} is not allowed for {sorted(relations)}",
                         action=action, state=state, kind=kind)
    for t in mine:
        if ready(t, facts):
            return t
    raise NotYet(f"{action} on a {kind} requires {mine[0].requires}", action=action, state=state,
                 kind=kind, requires=mine[0].requires)
