"""Office tickets (seed 000, DARPAN HDMS): a Sub or Head Office raises a ticket about
the field application; it goes to the office's Division and climbs Region → Circle →
CEPT. Raising, the out-of-scope hint, the queues and the bulk actions live here; every
status change goes through `app.services.engine.cases`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from app.domain import workflow as wf
from app.domain.errors import WorkflowError
from app.extensions import db
from app.inputs import as_id
from app.models import Case, Category, OrgUnit, User
from app.services.engine import access, cases
from app.services.read_models import queues

KIND = wf.OFFICE_TICKET


# ---- out of scope: systems with helpdesks of their own -------------------------------

@dataclass(frozen=True)
class OutOfScope:
    system: str  # short code shown as is (CBS, CSI, PLI/RPLI, IPPB)
    name: object  # lazy label
    where: object  # lazy sentence: where to go instead
    keywords: tuple[str, ...]


OUT_OF_SCOPE: tuple[OutOfScope, ...] = (
    OutOfScope("CBS", _l("Core Banking Solution (Savings Bank, Finacle)"),
               _l("Raise it with the CBS helpdesk (Finacle) through your Division's CBS cell."),
               ("cbs", "finacle", "core banking", "savings bank", "sb account", "sb a/c")),
    OutOfScope("CSI", _l("Core System Integration (SAP: Mail Operations, accounts)"),
               _l("Raise it with the CSI (SAP) helpdesk through your Division's system administrator."),
               ("csi", "sap", "mail operations", "point of sale", "pos terminal")),
    OutOfScope("PLI/RPLI", _l("Postal Life Insurance and Rural Postal Life Insurance"),
               _l("Raise it with the PLI/RPLI helpdesk (McCamish) through your Division's PLI cell."),
               ("pli", "rpli", "mccamish", "life insurance", "insurance premium")),
    OutOfScope("IPPB", _l("India Post Payments Bank"),
               _l("Raise it with the IPPB helpdesk or your IPPB branch; IPPB runs its own support."),
               ("ippb", "payments bank", "aeps", "micro atm", "microatm")),
)

_PATTERNS = [(o, re.compile(r"(?<![\w/])(" + "|".join(re.escape(k) for k in o.keywords) + r")(?![\w/])",
                            re.IGNORECASE)) for o in OUT_OF_SCOPE]


def out_of_scope(subject: str = "", description: str = "", category_code: str | None = None) -> list[OutOfScope]:
    """The out-of-scope systems the subject, description or category points to."""
    text = f"{subject or ''}\n{description or ''}"
    found = []
    for o, pattern in _PATTERNS:
        if (category_code and category_code.lower() in {o.system.lower(), *o.system.lower().split("/")}) \
                or pattern.search(text):
            found.append(o)
    return found


# ---- raising --------------------------------------------------------------------------

class NoDivision(WorkflowError):
    """The raising office has no Division above it."""

    code = "no_division"


def categories() -> list[Category]:
    return list(db.session.scalars(
        select(Category).where(Category.kind == KIND, Category.active.is_(True))
        .order_by(Category.sort_order, Category.id)))


def category_by_id(cat_id) -> Category | None:
    if as_id(cat_id) is None:
        return None
    cat = db.session.get(Category, as_id(cat_id))
    return cat if cat is not None and cat.kind == KIND and cat.active else None


def raise_ticket(user: User, *, subject: str, description: str, category: Category | None,
                 now: datetime, uploads=(), submission_key: str | None = None) -> Case:
    """Raise a ticket from the user's (Sub/Head) office into its Division's queue."""
    office = user.office
    division = office.ancestor_of_kind("division")
    if division is None:
        raise NoDivision()
    return cases.raise_case(KIND, office=division, now=now, actor=user, raising_office=office,
                            subject=subject, description=description, category=category,
                            uploads=uploads, submission_key=submission_key, channel="web")


# ---- queues ---------------------------------------------------------------------------

AGES = {  # code -> (min days, max days)
    "1d": (0, 1),
    "3d": (1, 3),
    "7d": (3, 7),
    "old": (7, None),
}
LEVELS = ("here", "any", *access.TICKET_LEVEL_KINDS)


@dataclass
class Filters:
    q: str = ""
    status: str = ""  # "" = active, "all", or a status code
    level: str = ""  # "" = default of the page, "any", or an office kind
    age: str = ""
    category: str = ""


def pending_query(user: User, f: Filters, now: datetime) -> Select:
    """The queue of a handling level. By default what the user's office holds; with a
    level, the tickets of the user's jurisdiction now at that level (read-only view)."""
    if f.level in ("", "here"):
        q = access.ticket_queue(user)
    else:
        q = access.tickets_in_jurisdiction(user)
    return _apply(q, f, now)


def mine_query(user: User, f: Filters, now: datetime) -> Select:
    """The tickets the user's office raised, wherever they are now."""
    return _apply(access.tickets_raised_by_office(user), f, now)


def _apply(q: Select, f: Filters, now: datetime) -> Select:
    q = queues.apply_search(q, f.q)
    if f.status == "all":
        pass
    elif f.status in wf.STATES:
        q = q.where(Case.status == f.status)
    else:
        q = q.where(Case.status != wf.CLOSED)
    if f.level in access.TICKET_LEVEL_KINDS:
        holder = aliased(OrgUnit)
        q = q.join(holder, Case.current_office_id == holder.id).where(holder.kind == f.level)
    if as_id(f.category) is not None:
        q = q.where(Case.category_id == as_id(f.category))
    if f.age in AGES:
        lo, hi = AGES[f.age]
        q = q.where(Case.created_at <= now - timedelta(days=lo))
        if hi is not None:
            q = q.where(Case.created_at > now - timedelta(days=hi))
    return q


# ---- bulk actions ---------------------------------------------------------------------

BULK_ACTIONS = ("escalate", "close")


@dataclass
class BulkResult:
    reference: str
    ok: bool
    error: str | None = None  # an error code (see app.i18n.ERROR_MESSAGES) when refused


def bulk_actions_for(user: User) -> list[str]:
    """The bulk actions the user's level may take at all (the row decides per ticket)."""
    kind = user.office.kind
    out = []
    for action in BULK_ACTIONS:
        rows = [t for t in wf.TRANSITIONS if t.action == action and KIND in t.kinds]
        if any(wf.allowed_at(t, kind) for t in rows):
            out.append(action)
    return out


def parse_selection(values) -> list[tuple[str, int | None]]:
    """Checkbox values "REFERENCE@version" → (reference, version); duplicates dropped."""
    seen: dict[str, int | None] = {}
    for v in values:
        ref, _, ver = (v or "").strip().partition("@")
        ref = ref.strip().upper()
        if ref and ref not in seen:
            seen[ref] = as_id(ver)
    return list(seen.items())


def bulk_act(user: User, selection, action: str, *, text: str, now: datetime) -> list[BulkResult]:
    """Take `action` on each selected ticket through the engine, one transaction per
    ticket: each one is either fully done or left unchanged, with the reason."""
    results: list[BulkResult] = []
    for reference, version in selection:
        case = access.get_case_for(user, reference)
        if case is None or case.kind != KIND:
            results.append(BulkResult(reference, False, "not_found"))
            continue
        if action not in BULK_ACTIONS:
            results.append(BulkResult(reference, False, "invalid_transition"))
            continue
        try:
            cases.act(case, action, actor=user, now=now, text=text, expected_version=version)
        except WorkflowError as exc:
            db.session.rollback()
            results.append(BulkResult(reference, False, exc.code))
        else:
            results.append(BulkResult(reference, True))
    return results
