"""The one mapping from a workflow error (`app.domain.errors`) to what the user is told:
an HTTP status, the form field the message stands beside (None: the page's alert) and
the translated message. Every caller that takes a workflow action — the one case page's
`act` endpoint and the JSON API — answers with it, so the same refusal reads the same
and carries the same status wherever it happens.

| error | status | beside |
|---|---|---|
| `ChangedMeanwhile` | 409 | the page (the text typed is kept in the form) |
| `InvalidTransition`, `NotYet`, `NotAtThisLevel` (not possible in the case's state now) | 409 | the page |
| `AlreadyDone` (a once-only step, the rating) | 409 | the field it names, else the page |
| `NotAllowed` | 403 | the page |
| `MissingInput`, `BadTarget` | 422 | the field they name (`exc.info["field"]`), else the action's text |
| any other `WorkflowError` | 422 | the action's text |

409 is a conflict with the case's state (changed meanwhile, not possible now, already
done), 403 a relation the workflow table does not allow, 422 an input to correct. The web
page shows a field's message beside it when its form is on the page, else in the alert;
the API answers the same status with the message, or `fields` for a field.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.domain.errors import (
    AlreadyDone,
    BadTarget,
    ChangedMeanwhile,
    InvalidTransition,
    MissingInput,
    NotAllowed,
    NotAtThisLevel,
    WorkflowError,
)
from app.i18n import error_message

# What is said beside a field an action's input lacks or got wrong.
FIELD_MESSAGES = {
    "text": _l("Please write your text."),
    "user": _l("Choose a colleague of the office that holds this request."),
    "office": _l("Choose the office from the list."),
    "category": _l("Choose a category from the list."),
    "classification": _l("Choose a classification, priority and channel from the lists."),
    "priority": _l("Choose a classification, priority and channel from the lists."),
    "rating": _l("Choose a rating from 1 to 5."),
    "remarks": _l("Please write the remarks."),
    # A helpdesk ticket escalated along the path of a category that has none.
    "path": _l("This ticket's category has no escalation path: set its category (or ask an "
               "administrator to give the category a path)."),
}
ALREADY_DONE = {"rating": _l("You have already rated this case. Thank you.")}
# Where a field's message goes when the form has no such field: beside the action's text.
SHOWN_BESIDE = {"path": "text"}


@dataclass(frozen=True)
class Failure:
    status: int
    field: str | None  # the input the message stands beside; None: the page's alert
    message: str


def failure(exc: WorkflowError) -> Failure:
    """What to answer for `exc` (see the table above)."""
    if isinstance(exc, (ChangedMeanwhile, InvalidTransition, NotAtThisLevel)):
        return Failure(409, None, error_message(exc))
    if isinstance(exc, NotAllowed):
        return Failure(403, None, error_message(exc))
    field = (getattr(exc, "info", None) or {}).get("field")
    if isinstance(exc, AlreadyDone):
        text = ALREADY_DONE.get(field)
        return Failure(409, field if text else None, str(text) if text else error_message(exc))
    if isinstance(exc, (MissingInput, BadTarget)) and field in FIELD_MESSAGES:
        return Failure(422, SHOWN_BESIDE.get(field, field), str(FIELD_MESSAGES[field]))
    return Failure(422, "text", error_message(exc))
