"""Public API: raise a doorstep request or a complaint, track by reference or by a
mobile proved with a one-time code, answer through a notification's signed token.
Validation is the web forms' own (same translated messages, as field errors)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, jsonify, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from app.blueprints.api.common import (
    ApiError,
    bp,
    clean_reference,
    config_limit,
    field_errors,
    form_data,
    json_object,
    masked_mobile_key,
    now,
    small_int,
    workflow_error,
)
from app.blueprints.api.serializers import event_json, iso, public_case, summary
from app.blueprints.citizen.forms import OtpForm, ServiceRequestForm, TrackMobileForm
from app.blueprints.complaints.forms import ComplaintForm
from app.blueprints.complaints.routes import check_registration, fill_choices
from app.blueprints.respond.forms import RespondForm
from app.blueprints.respond.routes import OFFERED
from app.domain import workflow as wf
from app.domain.errors import WorkflowError
from app.extensions import db, limiter
from app.i18n import action_label, current_locale
from app.models import Case, CaseEvent, Feedback
from app.services.engine import cases
from app.services.front_doors import citizen, complaints
from app.services.infrastructure import tokens

NO_CSRF = {"csrf": False}
TRACK_SALT = "api-track-mobile"


def _submission_key(data: dict) -> str | None:
    key = data.get("submission_key")
    return key if isinstance(key, str) and 16 <= len(key) <= 64 else None


def _replayed(key: str | None, kind: str, mobile: str | None) -> Case | None:
    """The case an earlier call with the same key made (a retried call); 409 when the
    key belongs to somebody else's case."""
    if not key:
        return None
    case = db.session.scalar(select(Case).where(Case.submission_key == key))
    if case is not None and (case.kind != kind or case.requester_mobile != mobile):
        raise ApiError(409, _("This submission key was already used for another request."))
    return case


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    from app.blueprints.api.openapi import document

    return jsonify(document())


@bp.route("/services")
def services():
    """The doorstep services a request may ask for (ids for `service`)."""
    return jsonify({"items": [{"id": c.id, "code": c.code, "label": c.label()}
                              for c in citizen.service_types()]})


@bp.route("/complaint-categories")
def complaint_categories():
    """The complaint taxonomy: category → service → type (ids for a complaint)."""
    def node(c, children):
        return {"id": c.id, "code": c.code, "label": c.label(), **children}

    items = []
    for cat in complaints.categories("category"):
        svcs = [node(s, {"types": [node(t, {}) for t in complaints.categories("type", s.id)]})
                for s in complaints.categories("service", cat.id)]
        items.append(node(cat, {"services": svcs}))
    return jsonify({"items": items})


@bp.route("/requests", methods=["POST"])
@limiter.limit(config_limit("CITIZEN_SUBMIT_LIMIT_IP", "10 per hour"), scope="api-submit-ip")
@limiter.limit(config_limit("CITIZEN_SUBMIT_LIMIT_MOBILE", "5 per day"), key_func=masked_mobile_key,
               scope="api-submit-mobile")
def raise_request():
    """Raise a doorstep service request; it goes to the Division serving the pincode."""
    data = json_object()
    form = ServiceRequestForm(formdata=form_data(data, ("name", "address", "pincode", "email", "mobile",
                                                        "service", "details")), meta=NO_CSRF)
    form.set_choices()
    if not form.validate():
        raise ApiError(422, fields=field_errors(form))
    mobile = citizen.normalize_mobile(form.mobile.data)
    key = _submission_key(data)
    case = _replayed(key, citizen.KIND, mobile)
    status = 200
    if case is None:
        try:
            done = citizen.submit_request(
                name=form.name.data, address=form.address.data, pincode=form.pincode.data,
                email=form.email.data, mobile=mobile, service=citizen.service_type(form.service.data),
                details=form.details.data or "", locale=current_locale(), submission_key=key,
                now=now(), channel="api")
        except citizen.NotServed:
            raise ApiError(422, fields={"pincode": [_("We do not know this pincode. Please check it.")]}) \
                from None
        case = done.case
        status = 200 if done.repeat else 201  # the same request still open: that one, not a new one
    body = public_case(case)
    body["track_url"] = url_for("api.track", reference=case.reference)
    return jsonify(body), status, {"Location": body["track_url"]}


@bp.route("/complaints", methods=["POST"])
@limiter.limit("10 per minute; 60 per hour", scope="api-complaint-ip")
def raise_complaint():
    """Register a complaint; it goes to the post office serving the pincode. The answer
    carries the signed token for the requester's answers (as the public page does)."""
    data = json_object()
    fields = ("name", "mobile", "email", "address", "pincode", "category", "service", "type",
              "article", "description", "related")
    form = ComplaintForm(formdata=form_data(data, fields), meta=NO_CSRF)
    fill_choices(form)
    ok = form.validate()
    type_row, office, related = check_registration(form, None)
    if not ok or type_row is None or office is None or form.related.errors:
        raise ApiError(422, fields=field_errors(form))
    key = _submission_key(data)
    case = _replayed(key, complaints.KIND, form.mobile.data)
    status = 200
    if case is None:
        case = complaints.register(
            requester={"name": form.name.data, "mobile": form.mobile.data, "email": form.email.data or None,
                       "address": form.address.data or None, "pincode": form.pincode.data,
                       "locale": current_locale()},
            type_row=type_row, description=form.description.data, now=now(), office=office,
            actor=None, article=form.article.data or "", related=related, channel="api",
            submission_key=key)
        status = 201
    token = tokens.make_case_token(case, "respond")
    body = summary(case)
    body["respond_token"] = token
    body["respond_url"] = url_for("api.respond", token=token)
    return jsonify(body), status, {"Location": body["respond_url"]}


# ---- tracking ---------------------------------------------------------------------------

@bp.route("/track/<reference>")
@limiter.limit(config_limit("CITIZEN_TRACK_LIMIT_IP", "60 per hour"), scope="api-track-ip")
def track(reference):
    """Track a doorstep request by reference: masked contact data, public events only."""
    case = citizen.find_by_reference(clean_reference(reference))
    if case is None:
        raise ApiError(404, _("We could not find a request with these details. "
                              "Please check what you typed."))
    return jsonify(public_case(case))


@bp.route("/track/otp", methods=["POST"])
@limiter.limit(config_limit("CITIZEN_OTP_LIMIT_IP", "10 per hour"), scope="api-otp-ip")
@limiter.limit(config_limit("CITIZEN_OTP_LIMIT_MOBILE", "3 per 15 minutes"), key_func=masked_mobile_key,
               scope="api-otp-mobile")
def track_otp():
    """Send a one-time code to the mobile (only if it has requests; the answer is the same)."""
    form = TrackMobileForm(formdata=form_data(json_object(), ("mobile",)), meta=NO_CSRF)
    if not form.validate():
        raise ApiError(422, fields=field_errors(form))
    citizen.send_otp(citizen.normalize_mobile(form.mobile.data), now=now(), locale=current_locale())
    return jsonify({"message": _("If this mobile number has requests with us, we have sent a one-time "
                                 "code to it by SMS.")}), 202


def _serializer() -> URLSafeTimedSerializer:
    from app.services.infrastructure.tokens import serializer

    return serializer(TRACK_SALT)  # every key of a rotation accepted, the current one signs


def _verified_minutes() -> int:
    return int(current_app.config.get("CITIZEN_VERIFIED_MINUTES", 30))


@bp.route("/track/verify", methods=["POST"])
@limiter.limit(config_limit("CITIZEN_VERIFY_LIMIT_IP", "20 per hour"), scope="api-verify-ip")
@limiter.limit(config_limit("CITIZEN_VERIFY_LIMIT_MOBILE", "10 per hour"), key_func=masked_mobile_key,
               scope="api-verify-mobile")
def track_verify():
    """Check the one-time code; a right code gives a short-lived token for /track/mine."""
    data = json_object()
    mobile_form = TrackMobileForm(formdata=form_data(data, ("mobile",)), meta=NO_CSRF)
    code_form = OtpForm(formdata=form_data(data, ("code",)), meta=NO_CSRF)
    ok = mobile_form.validate() & code_form.validate()
    if not ok:
        raise ApiError(422, fields={**field_errors(mobile_form), **field_errors(code_form)})
    mobile = citizen.normalize_mobile(mobile_form.mobile.data)
    if not citizen.verify_otp(mobile, code_form.code.data, now=now()):
        raise ApiError(422, fields={"code": [_("The code is wrong or has expired. "
                                               "You can ask for a new code.")]})
    minutes = _verified_minutes()
    return jsonify({"token": _serializer().dumps({"m": mobile}), "token_type": "tracking",
                    "expires_in": minutes * 60,
                    "expires_at": iso(now() + timedelta(minutes=minutes))})


@bp.route("/track/mine")
@limiter.limit(config_limit("CITIZEN_TRACK_LIMIT_IP", "60 per hour"), scope="api-track-ip")
def track_mine():
    """The requests of the mobile proved with a one-time code (header X-Tracking-Token)."""
    token = request.headers.get("X-Tracking-Token", "")
    try:
        data = _serializer().loads(token, max_age=_verified_minutes() * 60)
    except (BadSignature, SignatureExpired):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("m"), str):
        raise ApiError(401, _("Please confirm your mobile number with a one-time code first."))
    return jsonify({"mobile": citizen.mask_mobile(data["m"]),
                    "items": [summary(c) for c in citizen.requests_for_mobile(data["m"])]})


# ---- answers through a notification's signed token ---------------------------------

def _case_for(token: str) -> Case:
    data = tokens.load_case_token(token, "respond")
    case = db.session.get(Case, data.get("id")) if isinstance(data, dict) and \
        isinstance(data.get("id"), int) else None
    if case is None or case.reference != data.get("ref"):
        raise ApiError(404)
    return case


def _respond_body(case: Case) -> dict:
    rated = db.session.scalar(select(Feedback.id).where(Feedback.case_id == case.id)) is not None
    allowed = [t.action for t in wf.available(case.kind, case.status, {wf.REQUESTER}, facts=wf.facts_of(case))
               if t.action in OFFERED and not (rated and t.action == "rate")]
    allowed.sort(key=OFFERED.index)
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                        CaseEvent.public.is_(True))
                                .order_by(CaseEvent.id)).all()
    body = summary(case)
    body.update({"version": case.version, "rated": rated,
                 "actions": [{"action": a, "label": action_label(a)} for a in allowed],
                 "events": [event_json(e) for e in events]})
    return body


@bp.route("/respond/<token>")
@limiter.limit(config_limit("CITIZEN_TRACK_LIMIT_IP", "60 per hour"), scope="api-respond-ip")
def respond(token):
    """Where the case stands and which answers the requester may give now."""
    return jsonify(_respond_body(_case_for(token)))


@bp.route("/respond/<token>", methods=["POST"])
@limiter.limit("30 per minute", scope="api-respond-post-ip")
def respond_post(token):
    """Accept, reject or ask for clarification on a proposed resolution, provide
    information, or rate the resolution — as the requester, through the case engine."""
    case = _case_for(token)
    data = json_object()
    form = RespondForm(formdata=form_data(data, ("action", "text", "rating", "version")), meta=NO_CSRF)
    action = form.action.data or ""
    if not form.validate() or action not in OFFERED:
        fields = field_errors(form)
        if action not in OFFERED:
            fields["action"] = [_("Please fill in the required details for this action.")]
        raise ApiError(422, fields=fields)
    version = small_int(form.version.data)
    payload = {"rating": form.rating.data, "comment": form.text.data or ""} if action == "rate" else {}
    try:
        cases.act(case, action, now=now(), as_=wf.REQUESTER, expected_version=version,
                  text="" if action == "rate" else (form.text.data or ""), data=payload)
    except WorkflowError as exc:
        raise workflow_error(exc) from None
    return jsonify(_respond_body(case))
