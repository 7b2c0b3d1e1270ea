"""Public pages of doorstep service requests: request a service, confirmation, track
by reference or by mobile (after a one-time code). No account needed.

Endpoint names `citizen.track` and `citizen.track_detail` are fixed: notifications link
to them."""

from __future__ import annotations

import math
import secrets
import time
from datetime import datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.blueprints.citizen.forms import (
    OtpForm,
    RateForm,
    ServiceRequestForm,
    TrackMobileForm,
    TrackReferenceForm,
)
from app.domain import workflow as wf
from app.domain.errors import AlreadyDone, WorkflowError
from app.extensions import db, limiter
from app.htmx import render_page_or_partial
from app.i18n import current_locale
from app.nav import add_public_link
from app.services.engine import cases, notify
from app.services.front_doors import citizen, intake
from app.services.infrastructure.tokens import load_case_token

bp = Blueprint("citizen", __name__)

add_public_link("citizen.new_request", _l("Request a doorstep service"),
                _l("A postman comes to your home: cash withdrawal, Speed Post booking, pension, "
                   "account opening, life certificate."), order=10)
add_public_link("citizen.track", _l("Track your request"),
                _l("See the status of your doorstep service request by reference or mobile number."),
                order=11)

CITIZEN_EVENT_LABELS = {
    "created": _l("Request registered"),
    "start": _l("Being served: the post office has taken up your request"),
    "complete": _l("Completed at your doorstep"),
    "not_served": _l("Could not be served"),
    "rate": _l("You rated the service"),
}


@bp.app_template_filter("citizen_event")
def citizen_event(code: str) -> str:
    """Words for a timeline row as the citizen reads it."""
    from app.i18n import action_label

    label = CITIZEN_EVENT_LABELS.get(code)
    return str(label) if label is not None else action_label(code)


SUBMITTED = "sr_submitted"  # references this browser has raised (confirmation page)
OTP_MOBILE = "sr_otp_mobile"  # the mobile a code was asked for
VERIFIED = "sr_verified"  # {"mobile": ..., "until": iso} after a right code


@bp.errorhandler(429)
def too_many_requests(_e):
    """A rate limit was reached: a calm, translated answer on the public pages that says
    how long to wait (the longest of the limits reached), also in Retry-After."""
    seconds = _wait_seconds()
    wait = None
    if seconds:
        minutes = max(1, math.ceil((seconds - 1) / 60))  # reset_at is rounded up to the second
        wait = format_timedelta(timedelta(minutes=minutes), granularity="minute", threshold=1.5)
    resp = make_response(render_template("citizen/too_many.html", wait=wait), 429)
    if seconds:
        resp.headers["Retry-After"] = str(seconds)
    return resp


def _wait_seconds() -> int | None:
    """Seconds until every limit this request reached lets it through again."""
    try:
        resets = [lim.reset_at for lim in limiter.current_limits if lim.breached]
    except Exception:  # noqa: BLE001 - the storage is unreachable: say nothing precise
        return None
    if not resets:
        return None
    return max(1, math.ceil(max(resets) - time.time()))


def _limit(name: str, default: str):
    return lambda: current_app.config.get(name, default)


def _form_mobile() -> str:
    """Rate-limit key: the mobile number in the posted form (the IP when absent)."""
    mobile = citizen.normalize_mobile(request.form.get("mobile"))
    return f"mobile:{mobile}" if mobile else f"ip:{request.remote_addr}"


def _otp_mobile_key() -> str:
    return f"mobile:{session.get(OTP_MOBILE) or request.remote_addr}"


def _now() -> datetime:
    return datetime.utcnow()


FORM_FIELDS = ("name", "address", "pincode", "email", "mobile", "service", "details")
SUMMARY_MARK = "error_summary"  # posted by the error summary while the page shows it


def _new_form() -> ServiceRequestForm:
    form = ServiceRequestForm()
    form.set_choices()
    key = form.submission_key.data or ""
    if not (16 <= len(key) <= 64):  # missing or not one of ours: a fresh random token
        form.submission_key.data = secrets.token_urlsafe(24)
    return form


# ---- raising -----------------------------------------------------------------------

@bp.route("/request", methods=["GET", "POST"])
@limiter.limit(_limit("CITIZEN_SUBMIT_LIMIT_IP", "10 per hour"), methods=["POST"])
@limiter.limit(_limit("CITIZEN_SUBMIT_LIMIT_MOBILE", "5 per day"), key_func=_form_mobile,
               methods=["POST"], scope="citizen-submit-mobile")
def new_request():
    """The public form; on success the request goes to the Division of the pincode."""
    form = _new_form()
    earlier = []
    if request.method == "POST" and form.validate():
        earlier = _open_repeats(form)
    if request.method == "POST" and not form.errors and not earlier:
        try:
            done = citizen.submit_request(
                name=form.name.data, address=form.address.data, pincode=form.pincode.data,
                email=form.email.data, mobile=citizen.normalize_mobile(form.mobile.data),
                service=citizen.service_type(form.service.data), details=form.details.data or "",
                locale=current_locale(), submission_key=form.submission_key.data, now=_now())
        except citizen.NotServed:
            form.pincode.errors = [_("We do not know this pincode. Please check it.")]
        else:
            case = done.case
            refs = [r for r in session.get(SUBMITTED, []) if r != case.reference][-9:]
            session[SUBMITTED] = refs + [case.reference]
            extra = {"again": 1} if done.repeat else {}
            return redirect(url_for("citizen.confirmation", reference=case.reference, **extra), code=303)
    status = 422 if request.method == "POST" and not earlier else 200
    return render_template("citizen/new_request.html", form=form, summary_fields=FORM_FIELDS,
                           pin=citizen.lookup_pincode(form.pincode.data), earlier=earlier,
                           track_url=url_for("citizen.track")), status


def _open_repeats(form) -> list:
    """The open cases of the same mobile or e-mail about the same service (issue 27),
    unless the requester has seen them (`confirm_new`) or main's doorstep rule returns
    the earlier request anyway (the same mobile, service and pincode, recent: one of
    these, which `citizen.submit_request` finds again)."""
    if request.form.get(intake.CONFIRM_FIELD):
        return []
    service = citizen.service_type(form.service.data)
    if service is None:
        return []
    mobile = citizen.normalize_mobile(form.mobile.data)
    found = intake.open_cases(mobile=mobile, email=form.email.data, category=service,
                              submission_key=form.submission_key.data or None)
    hours = float(current_app.config.get("CITIZEN_REPEAT_HOURS", 24) or 0)
    recent = _now() - timedelta(hours=hours)
    if any(c.requester_mobile == mobile and c.pincode == form.pincode.data and c.created_at >= recent
           for c in found):
        return []
    return found


@bp.route("/request/check/<name>", methods=["POST"])
@limiter.limit(_limit("CITIZEN_CHECK_LIMIT_IP", "300 per hour"))
def check_field(name):
    """htmx inline validation: the field's block with its own validators' verdict."""
    form = _new_form()
    field = form._fields.get(name)
    if field is None or name in ("submission_key", "csrf_token"):
        abort(404)
    summary = bool(request.form.get(SUMMARY_MARK))
    if summary:  # the page shows the errors of a submit: say which fields are still wrong
        form.validate()
    else:
        inline = getattr(form.__class__, f"validate_{name}", None)
        field.validate(form, extra_validators=[inline] if inline else [])
    html = render_template("citizen/_field.html", form=form, f=field,
                           pin=citizen.lookup_pincode(form.pincode.data))
    if summary:
        html += render_template("citizen/_summary.html", form=form, summary_fields=FORM_FIELDS, oob=True)
    return html


@bp.route("/request/pincode")
@limiter.limit(_limit("CITIZEN_CHECK_LIMIT_IP", "300 per hour"))
def pincode_lookup():
    """htmx: the post office and Division serving the pincode typed so far."""
    pincode = citizen.to_ascii_digits(request.args.get("pincode")).strip()
    return render_template("citizen/_pincode_info.html", pin=citizen.lookup_pincode(pincode),
                           pincode=pincode)


@bp.route("/request/<reference>/registered")
def confirmation(reference):
    """Printable confirmation, for the browser that raised the request."""
    if reference not in session.get(SUBMITTED, []):
        return redirect(url_for("citizen.track_detail", reference=reference), code=303)
    case = citizen.find_by_reference(reference)
    if case is None:
        abort(404)
    return render_template("citizen/confirmation.html", case=case, again=request.args.get("again") == "1",
                           pin=citizen.lookup_pincode(case.pincode),
                           masked_mobile=citizen.mask_mobile(case.requester_mobile),
                           masked_email=citizen.mask_email(case.requester_email))


# ---- tracking ------------------------------------------------------------------------

NOT_FOUND = _l("We could not find a request with these details. Please check what you typed.")


def _verified_mobile() -> str | None:
    v = session.get(VERIFIED) or {}
    try:
        until = datetime.fromisoformat(v.get("until", ""))
    except ValueError:
        return None
    return v.get("mobile") if until > _now() else None


def _track_page(ref_form=None, mobile_form=None, message=None, status=200):
    return render_template("citizen/track.html", ref_form=ref_form or TrackReferenceForm(formdata=None),
                           mobile_form=mobile_form or TrackMobileForm(formdata=None),
                           message=message), status


@bp.route("/track")
@limiter.limit(_limit("CITIZEN_TRACK_LIMIT_IP", "60 per hour"))
def track():
    """Track by reference (GET form) or ask for a code for the mobile number."""
    form = TrackReferenceForm(request.args)
    if "reference" not in request.args:
        return _track_page(ref_form=TrackReferenceForm(formdata=None))
    if not form.validate():
        return _track_page(ref_form=form, status=422)
    case = citizen.find_by_reference(form.reference.data)
    if case is None:
        return _track_page(ref_form=form, message=NOT_FOUND)
    return redirect(url_for("citizen.track_detail", reference=case.reference), code=303)


@bp.route("/track/<reference>")
@limiter.limit(_limit("CITIZEN_TRACK_LIMIT_IP", "60 per hour"))
def track_detail(reference):
    """Status and the citizen-safe timeline; contact details masked unless this browser
    has proved the request's mobile with a one-time code."""
    case = citizen.find_by_reference(reference)
    if case is None:
        return _track_page(ref_form=TrackReferenceForm(formdata=None, reference=reference),
                           message=NOT_FOUND, status=404)
    return _track_detail_page(case)


def _track_detail_page(case, rate_form=None, status=200, rate_token=None):
    """The tracking page; `rate_token`: opened by the signed link of the "Completed"
    message, which offers the rating form without a one-time code."""
    full = bool(case.requester_mobile) and _verified_mobile() == case.requester_mobile
    can_rate = (full or bool(rate_token)) and case.is_closed and not citizen.has_feedback(case)
    rate_action = (url_for("citizen.rate_link", reference=case.reference, token=rate_token) if rate_token
                   else url_for("citizen.rate", reference=case.reference))
    return render_page_or_partial(
        "citizen/track_detail.html", "citizen/_track_status.html", status=status, case=case, full=full,
        can_rate=can_rate, rate_action=rate_action, rate_form=rate_form or RateForm(formdata=None),
        events=citizen.public_timeline(case, full=full),
        masked_mobile=citizen.mask_mobile(case.requester_mobile),
        masked_email=citizen.mask_email(case.requester_email),
        masked_name=citizen.mask_name(case.requester_name),
        pin=citizen.lookup_pincode(case.pincode))


@bp.route("/track/<reference>/rate", methods=["POST"])
@limiter.limit(_limit("CITIZEN_TRACK_LIMIT_IP", "60 per hour"))
def rate(reference):
    """The citizen rates a closed request (only after proving its mobile)."""
    case = citizen.find_by_reference(reference)
    if case is None or not case.requester_mobile or _verified_mobile() != case.requester_mobile:
        abort(404)
    form = RateForm()
    if not form.validate():
        return _track_detail_page(case, rate_form=form, status=422)
    notify.set_requester_locale([case], current_locale())
    try:
        cases.act(case, "rate", as_=wf.REQUESTER, now=_now(),
                  data={"rating": form.rating.data, "comment": form.comment.data or ""})
    except WorkflowError:
        flash(_("This request cannot be rated now."), "error")
    else:
        flash(_("Thank you for rating the service."), "success")
    return redirect(url_for("citizen.track_detail", reference=case.reference), code=303)


# Asking for a code on the tracking page and for a new one on the code page count together.
_otp_limit_ip = limiter.shared_limit(_limit("CITIZEN_OTP_LIMIT_IP", "10 per hour"), scope="citizen-otp-ip")


def _case_of_rate_link(reference: str, token: str):
    """The doorstep request the signed rating link names, or 404."""
    data = load_case_token(token, "rate")  # valid 30 days, as the complaints' links
    case = citizen.find_by_reference(reference) if isinstance(data, dict) else None
    if case is None or data.get("id") != case.id or data.get("ref") != case.reference:
        abort(404)
    return case


@bp.route("/track/<reference>/rate/<token>", methods=["GET", "POST"])
@limiter.limit(_limit("CITIZEN_TRACK_LIMIT_IP", "60 per hour"))
def rate_link(reference, token):
    """The "Rate us" link of the "Completed" SMS and e-mail: the request's page with its
    rating form, no one-time code needed (the signed link is the credential); one rating."""
    case = _case_of_rate_link(reference, token)
    if request.method == "GET":
        return _track_detail_page(case, rate_token=token)
    form = RateForm()
    if not form.validate():
        return _track_detail_page(case, rate_form=form, status=422, rate_token=token)
    notify.set_requester_locale([case], current_locale())
    try:
        cases.act(case, "rate", as_=wf.REQUESTER, now=_now(),
                  data={"rating": form.rating.data, "comment": form.comment.data or ""})
    except AlreadyDone:
        flash(_("You have already rated this request. Thank you."), "info")
    except WorkflowError:
        flash(_("This request cannot be rated now."), "error")
    else:
        flash(_("Thank you for rating the service."), "success")
    return redirect(url_for("citizen.track_detail", reference=case.reference), code=303)


@bp.route("/track/mobile", methods=["POST"])
@_otp_limit_ip
@limiter.shared_limit(_limit("CITIZEN_OTP_LIMIT_MOBILE", "3 per 15 minutes"), key_func=_form_mobile,
                      scope="citizen-otp-mobile")
def track_mobile():
    """Send a one-time code to the mobile (only if it has requests; the answer is the same)."""
    form = TrackMobileForm()
    if not form.validate():
        return _track_page(mobile_form=form, status=422)
    mobile = citizen.normalize_mobile(form.mobile.data)
    citizen.send_otp(mobile, now=_now(), locale=current_locale())
    session[OTP_MOBILE] = mobile
    flash(_("If this mobile number has requests with us, we have sent a one-time code to it by SMS."),
          "info")
    return redirect(url_for("citizen.track_verify"), code=303)


@bp.route("/track/verify", methods=["GET", "POST"])
@limiter.limit(_limit("CITIZEN_VERIFY_LIMIT_IP", "20 per hour"), methods=["POST"])
@limiter.limit(_limit("CITIZEN_VERIFY_LIMIT_MOBILE", "10 per hour"), key_func=_otp_mobile_key,
               methods=["POST"], scope="citizen-verify-mobile")
def track_verify():
    """Enter the one-time code; a right code lists the mobile's requests."""
    mobile = session.get(OTP_MOBILE)
    if not mobile:
        return redirect(url_for("citizen.track"), code=303)
    form = OtpForm()
    status = 200
    if request.method == "POST":
        result = citizen.check_otp(mobile, form.code.data, now=_now()) if form.validate() else None
        if result == citizen.OTP_OK:
            minutes = int(current_app.config.get("CITIZEN_VERIFIED_MINUTES", 30))
            session[VERIFIED] = {"mobile": mobile,
                                 "until": (_now() + timedelta(minutes=minutes)).isoformat()}
            session.pop(OTP_MOBILE, None)
            # Later messages about the mobile's requests follow this page's language.
            notify.set_requester_locale(citizen.cases_of_mobile(mobile), current_locale())
            db.session.commit()
            return redirect(url_for("citizen.track_mine"), code=303)
        if result == citizen.OTP_USED_UP:
            form.code.errors = [_("This code was tried too many times and cannot be used any more. "
                                  "Please ask for a new code below.")]
        elif result is not None:
            form.code.errors = [_("The code is wrong or has expired. You can ask for a new code.")]
        status = 422
    return render_template("citizen/track_verify.html", form=form,
                           masked_mobile=citizen.mask_mobile(mobile)), status


@bp.route("/track/verify/new-code", methods=["POST"])
@_otp_limit_ip
@limiter.shared_limit(_limit("CITIZEN_OTP_LIMIT_MOBILE", "3 per 15 minutes"), key_func=_otp_mobile_key,
                      scope="citizen-otp-mobile")
def track_new_code():
    """A new code for the mobile the last one was asked for, without typing it again
    (the same limits as asking from the tracking page, counted together)."""
    mobile = session.get(OTP_MOBILE)
    if not mobile:
        return redirect(url_for("citizen.track"), code=303)
    citizen.send_otp(mobile, now=_now(), locale=current_locale())
    flash(_("If this mobile number has requests with us, we have sent a one-time code to it by SMS."),
          "info")
    return redirect(url_for("citizen.track_verify"), code=303)


@bp.route("/track/mine")
def track_mine():
    """All requests of the mobile proved by a one-time code."""
    mobile = _verified_mobile()
    if not mobile:
        flash(_("Please confirm your mobile number with a one-time code first."), "info")
        return redirect(url_for("citizen.track"), code=303)
    return render_template("citizen/track_mine.html", requests=citizen.requests_for_mobile(mobile),
                           masked_mobile=citizen.mask_mobile(mobile))


from app.blueprints.citizen import office  # noqa: E402,F401 - office pages on the same blueprint


@bp.app_template_global("masked_reference")
def masked_reference(reference: str) -> str:
    """A reference shown to someone not signed in (issue 27): `intake.masked`."""
    return intake.masked(reference)
