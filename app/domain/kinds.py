"""The registry of case kinds: for each kind, everything the rest of the application used
to keep in a list of its own — reference prefix, names, raise form, queue, case-page
panel, notification templates, SLA policy, routing, access rules, the workflow rows it
follows and its administration catalogue.

Every other module asks the registry (`get(code)`, `all()`, `codes()`) instead of naming
kinds; `tests/test_kinds_registry.py` fails when a module branches on a kind outside the
registry and the documented allow-list. Adding a kind is one `register(CaseKind(...))`,
its form, its panel template, its translations and its tests (docs/architecture.md,
"Adding a case kind").

Pure data: this module imports only `lazy_gettext` (the names are translated when shown);
the workflow table (`app.domain.workflow`) reads it, never the other way round at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from flask_babel import lazy_gettext as _l

# Codes of the built-in kinds (`app.domain.workflow` re-exports them as wf.COMPLAINT, ...).
SERVICE_REQUEST = "service_request"
OFFICE_TICKET = "office_ticket"
COMPLAINT = "complaint"
INTERACTION = "interaction"
HELPDESK = "helpdesk"

# Relations to a case (the same strings as app.domain.workflow's REQUESTER, HANDLER,
# SUPERVISOR; the workflow table imports this module, so they are spelled here).
_REQUESTER, _HANDLER, _SUPERVISOR = "requester", "handler", "supervisor"

# How an escalation climbs (`app.services.engine.routing.escalation_target`):
CLIMB = "climb"  # one level up the office chain each time (office tickets)
SUPERVISORS_FIRST = "supervisors_first"  # level 1: the holding office's supervisors; then up
# The category's escalation path first (seed 002: L1 → the category's team), then the
# supervisors of the team holding it, each time; up the tree only when nobody supervises.
PATH = "path"

# The notification sent on each event, unless a kind says otherwise (`CaseKind.template`).
# A kind may also name a template per workflow action (a doorstep request's "complete").
DEFAULT_TEMPLATES = MappingProxyType({
    "created": "case_created",  # to the requester, when raised
    "received": "office_received",  # to the office that now holds it
    "assigned": "assigned",  # to the named assignee
    "answered": "requester_answered",  # to the handlers, when the requester answers
    "updated": "case_updated",  # to the requester, any other public change
    "info": "info_requested",  # to the requester: information needed (clock paused)
    "confirmation": "confirmation_requested",  # to the requester: accept the resolution?
    "closed": "case_closed",  # to the requester, when the case closes
})
# Events whose link, for a requester without an account, is the signed answer page.
RESPOND_EVENTS = ("info", "confirmation", "closed")

# Due times when the SLA matrix (`SlaRule`, data) has no row for a kind and priority:
# (response, resolution) business days.
DEFAULT_SLA = MappingProxyType({"P1": (1, 2), "P2": (2, 4), "P3": (2, 7), "P4": (2, 10)})


@dataclass(frozen=True)
class Column:
    """A column of a kind's queue: a code (what it shows) and its heading."""
    code: str
    label: object  # lazy string


@dataclass(frozen=True)
class CaseKind:
    code: str
    prefix: str  # two capital letters: the reference's first part (`app.domain.references`)
    name: object  # lazy string: "Complaint"
    plural: object  # lazy string: "Complaints"
    # The rows of the workflow table it follows (`app.domain.workflow`): a built-in kind's
    # code (None: its own), plus rows of its own (`wf.Transition`s naming its code).
    workflow: str | None = None
    rows: tuple = ()
    # Which relations may act on it. Without "supervisor", supervisors act only as the
    # handlers they are (doorstep requests: the owning Division; tickets: the level reached).
    relations: frozenset = frozenset({_REQUESTER, _HANDLER, _SUPERVISOR})
    # Who is its requester besides the customer: the employee who raised it (not so for a
    # complaint, registered at a counter for a customer who answers by signed link), and
    # the raising office as a whole (office tickets).
    raiser_is_requester: bool = True
    raising_office_is_requester: bool = False
    # May be addressed to a named colleague (`data["addressed_to"] == "colleague"`): then it
    # is theirs, not their whole office's (interactions).
    addressable: bool = False
    # Once escalated, handled by the office's supervisors only, not its operators (complaints).
    escalated_to_supervisors: bool = False
    routing: str = SUPERVISORS_FIRST  # how `escalate` climbs (CLIMB / SUPERVISORS_FIRST / PATH)
    # Front door: where a case is raised (endpoint, and its form as "module:Class"), its
    # handlers' view of the inbox (a slug of `app.services.read_models.views`) and the columns the
    # inbox shows for it, and where an employee follows one (the link in their messages).
    raise_endpoint: str | None = None
    form: str | None = None
    # Who may raise one on the generic raise page (`/cases/new/<kind>`): "module:function",
    # called with the signed-in user, True when they may; None: any active employee with an
    # office. Checked by `app.services.engine.access.may_raise`.
    may_raise: str | None = None
    queue_view: str | None = None
    queue_columns: tuple = ()
    page_endpoint: str = "cases.detail"
    # The one case page (`/cases/<ref>`, `cases/_case_panel.html`) includes the kind's
    # panel under the header, with the values `panel_values` ("module:function", called
    # with the case and the signed-in user) returns as `panel`.
    panel: str | None = None
    panel_values: str | None = None
    # The kind's own inputs of an action's form ({action: template}), posted with the
    # action to the one `act` endpoint (a helpdesk ticket's classification, the survey).
    action_fields: Mapping = field(default_factory=dict)
    # Notification template per event (DEFAULT_TEMPLATES) or per workflow action.
    templates: Mapping = field(default_factory=dict)
    # Wordings of its own templates ({name: (subject, body, sms)}, lazy strings), for a kind
    # whose messages are not among `app.services.engine.notify.TEMPLATES`.
    messages: Mapping = field(default_factory=dict)
    # SLA: due times when the matrix has no row ({priority: (response, resolution)} business
    # days). What the sweep does with its overdue or unanswered cases is in its workflow
    # rows (`timers`).
    sla: Mapping = field(default_factory=lambda: DEFAULT_SLA)
    # Administration catalogue: the category levels it has ({level: parent level or None});
    # whether each subject belongs to a department; whether a category routes to a team.
    catalog: Mapping = field(default_factory=dict)
    category_department: bool = False
    category_routes: bool = False
    # Its own names of workflow actions ({action: label, or {qualifier: label}} where a
    # qualifier is a fact the row requires (`wf.WITH_DESK`) or the kind of the office that
    # holds the case, and "*" the rest). The button, the flash message after it and the
    # timeline row use the same words (`app.i18n.case_action_label`).
    action_labels: Mapping = field(default_factory=dict)
    # Monitoring: the office levels whose staff, whatever their role, watch this kind on the
    # dashboard (its numbers over their subtree, read-only; `access.dashboard_kinds`). The
    # oversight roles (supervisor, monitor, admin) watch every kind anyway.
    watched_from: frozenset = frozenset()

    @property
    def family(self) -> str:
        """The kind whose rows of the workflow table it follows."""
        return self.workflow or self.code

    @property
    def supervised(self) -> bool:
        return _SUPERVISOR in self.relations

    def template(self, event: str) -> str:
        """The notification template of `event` (a DEFAULT_TEMPLATES key or an action)."""
        return self.templates.get(event) or DEFAULT_TEMPLATES[event]

    @property
    def timers(self) -> frozenset:
        """The system actions (timers) the workflow table takes on this kind."""
        from app.domain import workflow as wf

        return frozenset(t.action for t in wf.rows_of(self.code) if wf.SYSTEM in t.who)


_REGISTRY: dict[str, CaseKind] = {}
_generation = [0]  # bumped on every change, for caches of derived tables


def register(kind: CaseKind) -> CaseKind:
    """Add `kind` (its code and prefix must be new). Returns it."""
    if kind.code in _REGISTRY:
        raise ValueError(f"kind {kind.code} is already registered")
    if not (len(kind.prefix) == 2 and kind.prefix.isascii() and kind.prefix.isupper()):
        raise ValueError(f"prefix {kind.prefix!r}: two capital letters")
    if kind.prefix in prefixes():
        raise ValueError(f"prefix {kind.prefix} is taken")
    if kind.workflow is not None and kind.workflow not in _REGISTRY:
        raise ValueError(f"{kind.code} follows the rows of unknown kind {kind.workflow}")
    if kind.routing not in (CLIMB, SUPERVISORS_FIRST, PATH):
        raise ValueError(f"unknown routing {kind.routing}")
    _REGISTRY[kind.code] = kind
    _generation[0] += 1
    return kind


def unregister(code: str) -> None:
    """Remove a kind (tests: a throwaway kind)."""
    if any(k.workflow == code for k in _REGISTRY.values() if k.code != code):
        raise ValueError(f"other kinds follow {code}")
    del _REGISTRY[code]
    _generation[0] += 1


def get(code: str) -> CaseKind:
    """The kind `code`; KeyError when there is none."""
    return _REGISTRY[code]


def find(code) -> CaseKind | None:
    return _REGISTRY.get(code)


def all() -> tuple[CaseKind, ...]:  # noqa: A001 - the registry's own vocabulary
    """Every kind, in the order registered (the order of filters, tables and reports)."""
    return tuple(_REGISTRY.values())


def codes() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def generation() -> int:
    return _generation[0]


def prefixes() -> dict[str, str]:
    """{prefix: kind code}."""
    return {k.prefix: k.code for k in _REGISTRY.values()}


def family_of(code: str) -> str:
    """The kind whose workflow rows `code` follows (an unknown code: itself)."""
    kind = _REGISTRY.get(code)
    return kind.family if kind is not None else code


def following(families) -> frozenset:
    """The registered kinds that follow the rows written for any of `families`."""
    return frozenset(k.code for k in _REGISTRY.values() if k.family in families)


# ---- the built-in kinds ----------------------------------------------------------------

_THREE_LEVELS = MappingProxyType({"category": None, "service": "category", "type": "service"})

register(CaseKind(
    code=SERVICE_REQUEST, prefix="SR",
    name=_l("Doorstep service request"), plural=_l("Doorstep service requests"),
    # Updated by the owning Division alone, never by its supervisors over the subtree.
    relations=frozenset({_REQUESTER, _HANDLER}),
    raise_endpoint="citizen.new_request", form="app.blueprints.citizen.forms:ServiceRequestForm",
    queue_view="doorstep",
    queue_columns=(Column("reference", _l("Reference")), Column("category", _l("Type of service")),
                   Column("requester_name", _l("Name")), Column("pincode", _l("Pincode")),
                   Column("requester_mobile", _l("Mobile number")), Column("status", _l("Status")),
                   Column("created_at", _l("Raised")), Column("office", _l("Division"))),
    templates={"complete": "service_completed", "not_served": "service_not_served"},
    catalog=MappingProxyType({"service": None}),
    # Seed 001 §4: "Circles and Regions can access the dashboard for monitoring purpose".
    watched_from=frozenset({"region", "circle", "cept"}),
    panel="citizen/_case_panel.html", panel_values="app.blueprints.citizen.office:panel_values",
    # The Division's update: the details (or the reason) for the citizen, and remarks
    # kept as an internal note, in one form.
    action_fields=MappingProxyType({"start": "citizen/_remarks_field.html",
                                    "complete": "citizen/_remarks_field.html",
                                    "not_served": "citizen/_remarks_field.html"}),
    action_labels=MappingProxyType({
        # The status words of seed 001's "update the status with the details".
        "start": _l("In progress"),
        "complete": _l("Completed"),
        "not_served": _l("Could not be served"),
    }),
))
register(CaseKind(
    code=OFFICE_TICKET, prefix="TK",
    name=_l("Office ticket"), plural=_l("Office tickets"),
    # Worked by the level it reached, not by supervisors over the subtree (seed 000).
    relations=frozenset({_REQUESTER, _HANDLER}),
    raising_office_is_requester=True,
    routing=CLIMB,
    raise_endpoint="tickets.new", form="app.blueprints.tickets.forms:TicketForm",
    queue_view="tickets-pending",
    queue_columns=(Column("reference", _l("Complaint ID")), Column("subject", _l("Subject")),
                   Column("category", _l("Category")), Column("raising_office", _l("Raised by")),
                   Column("office", _l("With office")), Column("status", _l("Status")),
                   Column("created_at", _l("Raised")), Column("updated_at", _l("Updated"))),
    templates={"closed": "ticket_closed"},
    catalog=_THREE_LEVELS,
    action_labels=MappingProxyType({
        # Office tickets climb one level per escalation: the step is named after where it goes.
        "escalate": MappingProxyType({"division": _l("Assign to Region"),
                                      "region": _l("Escalate to Circle"),
                                      "circle": _l("Assign to CEPT")}),
        "accept": _l("Confirm solved"),  # the raising office confirms the ticket solved
    }),
))
register(CaseKind(
    code=COMPLAINT, prefix="CM",
    name=_l("Complaint"), plural=_l("Complaints"),
    raiser_is_requester=False,
    escalated_to_supervisors=True,
    raise_endpoint="complaints.register", form="app.blueprints.complaints.forms:ComplaintForm",
    queue_view="complaints",
    queue_columns=(Column("reference", _l("Reference")), Column("subject", _l("Subject")),
                   Column("requester_name", _l("Customer")), Column("status", _l("Status")),
                   Column("office", _l("With office")), Column("created_at", _l("Raised")),
                   Column("resolution_due", _l("Due"))),
    panel="complaints/_case_extras.html",
    templates={"closed": "case_closed"},
    catalog=_THREE_LEVELS,
))
register(CaseKind(
    code=INTERACTION, prefix="IN",
    name=_l("Staff interaction"), plural=_l("Staff interactions"),
    addressable=True,
    raise_endpoint="interactions.new", form="app.blueprints.interactions.forms:NewInteractionForm",
    queue_view="cartable",
    queue_columns=(Column("reference", _l("Request number")), Column("subject", _l("Request subject")),
                   Column("raised_by", _l("Sent by")), Column("office", _l("Sent to")),
                   Column("status", _l("Request status")), Column("created_at", _l("Sent on")),
                   Column("assignee", _l("Handled by"))),
    panel="interactions/_case_panel.html", panel_values="app.blueprints.interactions.routes:panel_values",
    action_fields=MappingProxyType({"rate": "interactions/_survey_fields.html"}),
    # Seed 004's words («اختصاص داده شود به», "Assign to", is the common label).
    action_labels=MappingProxyType({
        "created": _l("Request sent"),
        "propose_resolution": _l("Answer the request"),
        "accept": _l("It is resolved"),
        "reject": _l("It is not resolved"),
        "rate": _l("Satisfaction survey"),
    }),
    templates={"closed": "interaction_closed"},
    catalog=MappingProxyType({"subject": None}),
    category_department=True,
))
register(CaseKind(
    code=HELPDESK, prefix="HD",
    name=_l("Helpdesk case"), plural=_l("Helpdesk cases"),
    raise_endpoint="helpdesk.new", form="app.blueprints.helpdesk.forms:LogCallForm",
    queue_view="helpdesk-queue",
    queue_columns=(Column("reference", _l("Ticket id")), Column("subject", _l("Summary of the issue")),
                   Column("classification", _l("Classification")),
                   Column("priority", _l("Severity / priority")), Column("office", _l("Now with")),
                   Column("status", _l("Ticket status")), Column("resolution_due", _l("Due"))),
    templates={"closed": "helpdesk_closed"},
    panel="helpdesk/_case_panel.html", panel_values="app.blueprints.helpdesk.routes:panel_values",
    action_fields=MappingProxyType({"classify": "helpdesk/_classify_fields.html"}),
    # Seed 002's words; while the desk holds the ticket (L1) it resolves or escalates
    # along the path, a team closes or goes to its supervisors.
    action_labels=MappingProxyType({
        "reply": _l("Reply to the caller"),
        "assign": _l("Assign to a team mate"),
        "classify": _l("Classify the ticket"),
        "close": MappingProxyType({"with_desk": _l("Resolve at the helpdesk (L1)"),
                                   "*": _l("Close as resolved")}),
        "escalate": MappingProxyType({"with_desk": _l("Escalate along the path"),
                                      "*": _l("Escalate to the supervisors")}),
    }),
    routing=PATH,
    catalog=_THREE_LEVELS,
    category_routes=True,
))
