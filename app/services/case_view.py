"""What a case page's header shows, as plain values.

The header is rendered through `fragments.memo` with nothing but these values (and the
page's language, time zone and mount point), which key its kept HTML: a changed case, a
renamed office or a new assignee is a different key, so a kept header is never stale.
"""

from __future__ import annotations

from collections import namedtuple

from app.models import Case

CaseHeader = namedtuple("CaseHeader", "reference kind subject status resolution sla_breached office_name "
                                      "office_kind escalation_level assignee_name priority category_label "
                                      "created_at raising_office_name requester_name requester_mobile "
                                      "response_due confirmation_due info_due related_reference description")


def header(case: Case) -> CaseHeader:
    """The header's values of `case` (its category named in the request's language)."""
    office, raising, related = case.current_office, case.raising_office, case.related_case
    return CaseHeader(
        case.reference, case.kind, case.subject, case.status, case.resolution, case.sla_breached,
        office.name, office.kind, case.escalation_level,
        case.assignee.name if case.assignee is not None else None,
        case.priority, case.category.label() if case.category is not None else None,
        case.created_at, raising.name if raising is not None else None,
        case.requester_name, case.requester_mobile,
        None if case.is_closed else case.response_due,  # a closed case is due nothing
        case.confirmation_due, case.info_due,
        related.reference if related is not None else None, case.description)
