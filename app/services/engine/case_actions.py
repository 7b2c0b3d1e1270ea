"""One workflow action taken from the one case page (`/cases/<ref>/act`), whatever the
kind: the targets it names, the kind's own inputs of the action (`CaseKind.action_fields`:
a helpdesk ticket's classification, an interaction's survey, a doorstep request's internal
remarks) checked here, then the case engine (`cases.act`). Errors are the engine's
(`app.domain.errors`), each naming the field that is wrong; `app.failures` turns them into
what the page says."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select

from app.domain import kinds
from app.domain import workflow as wf
from app.domain.errors import MissingInput
from app.extensions import db
from app.inputs import as_id
from app.models import Case, CaseEvent, Feedback, OrgUnit, User
from app.services.engine import access, cases
from app.services.front_doors import helpdesk


def available(user: User | None, case: Case) -> list[wf.Transition]:
    """The actions the case page offers `user` now: the workflow table's, less a survey
    the kind has no form for (`CaseKind.action_fields`) or that was already filled in."""
    allowed = cases.available_actions(user, case)
    if any(t.action == "rate" for t in allowed):
        if not kinds.get(case.kind).action_fields.get("rate") or feedback_of(case) is not None:
            allowed = [t for t in allowed if t.action != "rate"]
    return allowed


def feedback_of(case: Case) -> Feedback | None:
    return db.session.scalar(select(Feedback).where(Feedback.case_id == case.id))


def _survey(inputs: Mapping, text: str) -> tuple[dict, str]:
    comment = (inputs.get("comment") or "").strip()
    return {"rating": inputs.get("rating"), "comment": comment}, comment


def _classification(inputs: Mapping, text: str) -> tuple[dict, str]:
    return helpdesk.classification_data(as_id(inputs.get("category")), inputs.get("classification"),
                                        inputs.get("priority")), text


# The inputs an action takes besides its text and target (the data its effect reads).
ACTION_INPUTS = {"rate": _survey, "classify": _classification}


def perform(case: Case, action: str, actor: User, now: datetime, *, version: int | None,
            text: str = "", office_id=None, user_id=None, uploads=(),
            inputs: Mapping | None = None) -> CaseEvent:
    """Take `action` on `case` as `actor` with the page's inputs. With `remarks` (a
    doorstep request's update) an internal note is written first; both are checked
    before anything is written."""
    inputs = inputs or {}
    target_office = db.session.get(OrgUnit, as_id(office_id)) if as_id(office_id) is not None else None
    target_user = db.session.get(User, as_id(user_id)) if as_id(user_id) is not None else None
    data = {}
    if action in ACTION_INPUTS:
        data, text = ACTION_INPUTS[action](inputs, text)
    remarks = (inputs.get("remarks") or "").strip()
    if remarks:
        rels = access.relations(actor, case)
        t = wf.find(case.kind, case.status, action, rels, office_kind=case.current_office.kind,
                    facts=wf.facts_of(case))
        wf.find(case.kind, case.status, "note", rels)
        if t.needs_text and not (text or "").strip():
            raise MissingInput(field="text")
        cases.act(case, "note", actor=actor, now=now, text=remarks, expected_version=version)
        version = case.version
    return cases.act(case, action, actor=actor, now=now, expected_version=version, text=text,
                     target_office=target_office, target_user=target_user, data=data,
                     uploads=uploads)
