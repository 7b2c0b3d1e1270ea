"""What a case page's header shows, as plain values.

The header is rendered through `fragments.memo` with nothing but these values (and the
page's language, time zone and mount point), which key its kept HTML: a changed case, a
renamed office or a new assignee is a different key, so a kept header is never stale.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime

from app.domain import sla
from app.models import Case, CatalogueName

CaseHeader = namedtuple("CaseHeader", "reference kind subject status resolution overdue office_name "
                                      "office_kind escalation_level assignee_name priority category "
                                      "created_at raising_office_name requester_name requester_mobile "
                                      "response_due confirmation_due info_due related_reference description "
                                      "resolution_due repeat_of repeated_by")


def header(case: Case, now: datetime | None = None) -> CaseHeader:
    """The header's values of `case`: its subject as typed ("" when the subject is its
    catalogue row) and the row's three names (`CatalogueName`), which the template names
    in the page's language (the `subject` and `label` filters); offices are named in the
    request's language.
    `overdue` is judged at `now` (`app.domain.sla.is_overdue`), against the due times
    the header shows: the response due time while nobody has answered, and the
    resolution due time. `repeat_of` and `repeated_by` are the references of the case this
    one possibly repeats and of those that possibly repeat it (`app.services.front_doors.intake`)."""
    office, raising, related = case.current_office, case.raising_office, case.related_case
    from app.services.front_doors import intake

    before, after = intake.related(case)  # possible repeats: one statement
    return CaseHeader(
        case.reference, case.kind, case.subject, case.status, case.resolution,
        sla.is_overdue(case, now or datetime.utcnow()),
        office.label(), office.kind, case.escalation_level,
        case.assignee.name if case.assignee is not None else None,
        case.priority, CatalogueName.of(case.category),
        case.created_at, raising.label() if raising is not None else None,
        case.requester_name, case.requester_mobile,
        # a closed case is due nothing; an answered one no response
        None if case.is_closed or case.first_response_at is not None else case.response_due,
        case.confirmation_due, case.info_due,
        related.reference if related is not None else None, case.description,
        None if case.is_closed else case.resolution_due,
        before.reference if before is not None else None, tuple(r.reference for r in after))


def panel_values(case: Case, user) -> dict | None:
    """What the kind's panel on the case page shows besides the case itself: the
    registry's `CaseKind.panel_values` ("module:function", called with the case and the
    signed-in user), or None when the kind has none."""
    from importlib import import_module

    from app.domain import kinds

    name = kinds.get(case.kind).panel_values
    if not name:
        return None
    module, function = name.split(":")
    return getattr(import_module(module), function)(case, user)
