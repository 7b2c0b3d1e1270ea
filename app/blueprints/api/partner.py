"""Partner API (key in `Authorization: Bearer` or `X-API-Key`): list and read the cases
of the key's office subtree, post an external authority's update on a complaint."""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.blueprints.api.common import (
    ApiError,
    bp,
    clean_reference,
    config_limit,
    form_data,
    json_object,
    key_rate_key,
    now,
    partner_required,
    small_int,
    workflow_error,
)
from app.blueprints.api.serializers import partner_case
from app.domain import workflow as wf
from app.domain.errors import WorkflowError
from app.domain.references import normalize
from app.extensions import db, limiter
from app.inputs import typed_number
from app.models import Case, CaseEvent
from app.services.engine import access, cases
from app.services.read_models import queues

MAX_LIMIT = 100


def partner_limits(view):
    """Per key and per IP (configurable: API_KEY_RATE_LIMIT, API_IP_RATE_LIMIT)."""
    view = limiter.limit(config_limit("API_IP_RATE_LIMIT", "1200 per hour"), scope="api-partner-ip")(view)
    return limiter.limit(config_limit("API_KEY_RATE_LIMIT", "600 per hour"), key_func=key_rate_key,
                         scope="api-partner-key")(view)


def _case_in_scope(reference: str) -> Case:
    """The case when the key's office subtree covers it; 404 otherwise (as for a case
    that does not exist, so existence never leaks)."""
    ref = normalize(clean_reference(reference) or "")
    case = db.session.scalar(select(Case).where(Case.reference == ref)) if ref else None
    if case is None or not access.partner_can_view(g.api_key.office, case):
        raise ApiError(404)
    return case


def _query_errors() -> tuple[int, str | None, str | None, str | None]:
    args, errors = request.args, {}
    limit = 25
    raw = args.get("limit")
    if raw is not None:
        typed = typed_number(raw)  # ۲۵ and २५ are 25
        if typed is None or not 1 <= typed <= MAX_LIMIT:
            errors["limit"] = [_("Give a number from 1 to %(max)s.", max=MAX_LIMIT)]
        else:
            limit = typed
    after = args.get("after")
    if after is not None and small_int(after) is None:
        errors["after"] = [_("Use the next_cursor of the previous page.")]
    kind = args.get("kind")
    if kind is not None and kind not in wf.KINDS:
        errors["kind"] = [_("Unknown kind of case.")]
    status = args.get("status")
    if status is not None and status not in wf.STATES:
        errors["status"] = [_("Unknown status.")]
    if errors:
        raise ApiError(400, fields=errors)
    return limit, after, kind, status


@bp.route("/cases")
@partner_limits
@partner_required
def cases_list():
    """Cases in the key's scope, newest first, keyset-paginated (`after` = next_cursor)."""
    limit, after, kind, status = _query_errors()
    q = queues.apply_filters(select(Case).where(access.partner_filter(g.api_key.office)),
                             status=status, kind=kind)
    page = queues.page(q, after, size=limit)
    return jsonify({"items": [partner_case(c) for c in page.rows], "next_cursor": page.next_cursor})


def _partner_events(case: Case) -> list:
    return list(db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id,
                                or_(CaseEvent.public.is_(True), CaseEvent.type == "external_update"))
        .order_by(CaseEvent.id)))


@bp.route("/cases/<reference>")
@partner_limits
@partner_required
def case_detail(reference):
    """One case in scope, with its public timeline and the external updates."""
    case = _case_in_scope(reference)
    return jsonify(partner_case(case, events=_partner_events(case)))


@bp.route("/cases/<reference>/external-updates", methods=["POST"])
@partner_limits
@partner_required
def external_update(reference):
    """Record an external authority's update on a complaint pending with it."""
    case = _case_in_scope(reference)
    data = json_object()
    values = form_data(data, ("text", "version"))
    text = (values.get("text") or "").strip()
    if len(text) > 5000:
        raise ApiError(422, fields={"text": [_("Please shorten this to at most 5000 characters.")]})
    version = values.get("version")
    if version is not None and small_int(version) is None:
        raise ApiError(422, fields={"version": [_("Use the version of the case you read.")]})
    try:
        cases.act(case, "external_update", now=now(), as_=wf.PARTNER, text=text,
                  expected_version=small_int(version),
                  data={"partner": g.api_key.name, "key": g.api_key.prefix})
    except WorkflowError as exc:
        raise workflow_error(exc) from None
    db.session.refresh(case)
    return jsonify(partner_case(case, events=_partner_events(case))), 201


