"""Doorstep service requests (seed 001): raising a request from the public form,
tracking it by reference or by a mobile proved with a one-time code and the Division's
status updates. (The Region/Circle monitoring is the dashboard filtered to this kind.)

Every status change goes through `app.services.engine.cases`; this module only prepares the
inputs, scopes the queries and shapes what a citizen may see."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import phonenumbers
from flask import current_app
from sqlalchemy import Select, select

from app.domain import workflow as wf
from app.domain.references import normalize
from app.extensions import db
from app.inputs import as_id, ascii_digits
from app.models import Case, CaseEvent, Category, Feedback, OtpCode, PincodeEntry, User
from app.services.engine import access, cases, notify, routing
from app.services.read_models import dashboards, refcache

KIND = wf.SERVICE_REQUEST


def _cfg(name: str, default):
    return current_app.config.get(name, default)


# ---- reference data ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ServiceType:
    """A doorstep service (a `Category` row of level `service`) as cached across
    requests (`app.services.read_models.refcache`): a read-only snapshot, not a session's object."""

    id: int
    kind: str
    level: str
    code: str
    name_en: str
    name_hi: str
    name_fa: str
    sort_order: int
    active: bool

    def label(self, locale: str | None = None) -> str:
        """The name in `locale` (the request's locale by default), English as fallback."""
        return Category.label(self, locale)


def service_types() -> tuple[ServiceType, ...]:
    """The configurable list of doorstep services (Category rows, level `service`), kept
    per process until the reference data changes (`refcache`)."""
    def compute():
        return tuple(ServiceType(c.id, c.kind, c.level, c.code, c.name_en, c.name_hi or "", c.name_fa or "",
                                 c.sort_order, c.active)
                     for c in db.session.scalars(
                         select(Category)
                         .where(Category.kind == KIND, Category.level == "service", Category.active.is_(True))
                         .order_by(Category.sort_order, Category.name_en)))

    return refcache.cached(("citizen.services",), compute)


def service_type(category_id) -> ServiceType | None:
    """The active doorstep service with this id, or None."""
    cid = as_id(category_id)
    if cid is None:
        return None
    return next((c for c in service_types() if c.id == cid), None)


def service_choices() -> list[tuple[str, str]]:
    """The form's (value, label) choices in the request's language, the placeholder
    first: built once per language and generation."""
    from flask_babel import gettext

    from app.i18n import current_locale

    locale = current_locale()
    choices = refcache.cached(("citizen.service_choices", locale), lambda: tuple(
        [("", gettext("Choose a service"))] + [(str(c.id), c.label(locale)) for c in service_types()]))
    return list(choices)


def to_ascii_digits(text: str | None) -> str:
    """Persian, Arabic-Indic and Devanagari digits typed by the citizen → 0-9
    (`app.inputs.ascii_digits`)."""
    return ascii_digits(text or "")


def lookup_pincode(pincode: str | None) -> PincodeEntry | None:
    pin = to_ascii_digits(pincode).strip()
    if len(pin) != 6 or not pin.isdigit():
        return None
    return routing.pincode_entry(pin)


def normalize_mobile(raw: str | None) -> str | None:
    """The 10-digit national number of a valid Indian mobile, or None."""
    return _normalize_mobile(raw or "")


@lru_cache(maxsize=1024)
def _normalize_mobile(raw: str) -> str | None:
    """Pure (phonenumbers' parse is the costly part; a raise asks two or three times)."""
    text = to_ascii_digits(raw).strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, "IN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 91 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    return phonenumbers.national_significant_number(number)


# ---- raising ---------------------------------------------------------------------

class NotServed(Exception):
    """The pincode has no division in the directory."""


@dataclass(frozen=True, slots=True)
class Submitted:
    """What a submission came to: the case, and whether it is an open request of the same
    mobile, service and pincode raised earlier (`repeat`) rather than a new one."""

    case: Case
    repeat: bool = False


def find_repeat(*, mobile: str | None, service_id: int | None, pincode: str | None,
                now: datetime) -> Case | None:
    """The newest open doorstep request of `mobile` for the same service and pincode,
    raised within CITIZEN_REPEAT_HOURS (24) of `now`, or None."""
    hours = float(_cfg("CITIZEN_REPEAT_HOURS", 24) or 0)
    if hours <= 0 or not mobile or service_id is None or not pincode:
        return None
    return db.session.scalar(
        select(Case).where(Case.requester_mobile == mobile, Case.kind == KIND,
                           Case.category_id == service_id, Case.pincode == pincode,
                           Case.status != wf.CLOSED, Case.created_at >= now - timedelta(hours=hours))
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(1))


def submit_request(*, name: str, address: str, pincode: str, email: str, mobile: str, service: Category,
                   details: str = "", locale: str = "en", submission_key: str | None = None,
                   now: datetime, channel: str = "web") -> Submitted:
    """Raise the request in the Division serving `pincode`. The same `submission_key`
    returns the case already made (double click, resubmission); the same request again
    (mobile, service, pincode) while the first is open and recent returns that one as a
    repeat: Back and submit again brings a new key and the browser's refilled fields."""
    division = routing.division_for_pincode(pincode)
    if division is None:
        raise NotServed(pincode)
    earlier = find_repeat(mobile=mobile, service_id=service.id, pincode=pincode, now=now)
    if earlier is not None:
        return Submitted(earlier, repeat=not (submission_key and earlier.submission_key == submission_key))
    return Submitted(cases.raise_case(
        # No subject text: the service is the subject, named in the reader's language.
        KIND, office=division, now=now, description=details or "",
        category=service, channel=channel, submission_key=submission_key or None,
        requester={"name": name.strip(), "address": address.strip(), "pincode": pincode,
                   "email": email.strip(), "mobile": mobile, "locale": locale},
    ))


def submit(**kw) -> Case:
    """`submit_request`'s case (a new one, the one of the same key, or the repeated one)."""
    return submit_request(**kw).case


# ---- what a citizen may see --------------------------------------------------------

def find_by_reference(text: str | None) -> Case | None:
    """A doorstep request by its reference (typing slips tolerated), else None."""
    ref = normalize(text or "")
    if not ref:
        return None
    return db.session.scalar(select(Case).where(Case.reference == ref, Case.kind == KIND))


def mask_mobile(mobile: str | None) -> str:
    """98XXXXXX10"""
    m = mobile or ""
    if len(m) <= 4:
        return "X" * len(m)
    return f"{m[:2]}{'X' * (len(m) - 4)}{m[-2:]}"


def mask_email(email: str | None) -> str:
    """r***@example.in"""
    if not email or "@" not in email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_name(name: str | None) -> str:
    """Initials only: "Ravi Kumar" → "R. K." """
    return " ".join(f"{part[:1]}." for part in (name or "").split() if part)


@dataclass
class PublicEvent:
    type: str
    at: datetime
    status: str | None
    text: str


def public_timeline(case: Case, full: bool = False) -> list[PublicEvent]:
    """The citizen-safe timeline: public rows only, never who on the staff did it;
    the citizen's own text of the first row only when `full` (mobile proved)."""
    rows = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.public.is_(True))
        .order_by(CaseEvent.at, CaseEvent.id)).all()
    out = []
    for e in rows:
        text = e.text or ""
        if e.type == "created" and not full:
            text = ""
        out.append(PublicEvent(type=e.type, at=e.at, status=e.to_status, text=text))
    return out


def has_feedback(case: Case) -> bool:
    return db.session.scalar(select(Feedback.id).where(Feedback.case_id == case.id)) is not None


def requests_for_mobile(mobile: str) -> list[Case]:
    return list(db.session.scalars(
        select(Case).where(Case.kind == KIND, Case.requester_mobile == mobile)
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(100)))


def cases_of_mobile(mobile: str) -> list[Case]:
    """Every case this mobile number raised as a citizen (any kind): their messages go to it."""
    return list(db.session.scalars(select(Case).where(Case.requester_mobile == mobile)))


# ---- one-time codes ----------------------------------------------------------------

def _hash(mobile: str, code: str, key: str | None = None) -> str:
    key = (key or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"otp:{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def _code_matches(code_hash: str, mobile: str, code: str) -> bool:
    """The code's hash under the current key or an old one (a code sent just before a key
    rotation still works for its few minutes)."""
    from app.services.infrastructure.tokens import signing_keys

    return any([hmac.compare_digest(code_hash, _hash(mobile, code, key)) for key in signing_keys()])


def send_otp(mobile: str, *, now: datetime, locale: str = "en", purpose: str = "track") -> str | None:
    """Send a code by SMS when `mobile` has requests with us; return it (for the caller
    to ignore, and tests to check) or None. The caller answers the same either way."""
    has = db.session.scalar(select(Case.id).where(Case.kind == KIND, Case.requester_mobile == mobile)
                            .limit(1))
    if has is None:
        return None
    minutes = int(_cfg("CITIZEN_OTP_MINUTES", 10))
    code = f"{secrets.randbelow(10 ** 6):06d}"
    # Older codes stop working: only the newest one counts.
    for old in db.session.scalars(select(OtpCode).where(OtpCode.mobile == mobile, OtpCode.purpose == purpose,
                                                        OtpCode.used_at.is_(None))):
        old.used_at = now
    db.session.add(OtpCode(mobile=mobile, purpose=purpose, code_hash=_hash(mobile, code), created_at=now,
                           expires_at=now + timedelta(minutes=minutes)))
    notify.enqueue("otp", mobile=mobile, locale=locale, now=now, code=code, minutes=minutes)
    db.session.commit()
    return code


OTP_OK = "ok"
OTP_WRONG = "wrong"  # a wrong code; tries are left
OTP_USED_UP = "used_up"  # the code's tries are spent (this try may have been the last)
OTP_EXPIRED = "expired"  # too old, or no code waiting (never sent, used, replaced)


def check_otp(mobile: str, code: str, *, now: datetime, purpose: str = "track") -> str:
    """OTP_OK once for the right, unexpired code; every try counts against the limit
    (CITIZEN_OTP_MAX_ATTEMPTS), after which even the right code is OTP_USED_UP."""
    row = db.session.scalar(
        select(OtpCode).where(OtpCode.mobile == mobile, OtpCode.purpose == purpose,
                              OtpCode.used_at.is_(None))
        .order_by(OtpCode.created_at.desc(), OtpCode.id.desc()).limit(1))
    if row is None or now > row.expires_at:
        return OTP_EXPIRED
    max_attempts = int(_cfg("CITIZEN_OTP_MAX_ATTEMPTS", 5))
    if row.attempts >= max_attempts:
        return OTP_USED_UP
    row.attempts += 1
    ok = _code_matches(row.code_hash, mobile, to_ascii_digits(code).strip())
    if ok:
        row.used_at = now
    db.session.commit()
    if ok:
        return OTP_OK
    return OTP_USED_UP if row.attempts >= max_attempts else OTP_WRONG


def verify_otp(mobile: str, code: str, *, now: datetime, purpose: str = "track") -> bool:
    """True once for the right, unexpired code; every try counts against the limit."""
    return check_otp(mobile, code, now=now, purpose=purpose) == OTP_OK


# ---- the Division's updates ----------------------------------------------------------

# ---- office lists --------------------------------------------------------------------

def queue_select(user: User, *, status: str | None = None, service_id: int | None = None,
                 date_from: date | None = None, date_to: date | None = None,
                 division_id: int | None = None, age: str | None = None,
                 now: datetime | None = None) -> Select:
    """Doorstep requests the user may see (their Division's, or their subtree's for a
    Region or Circle), filtered."""
    q = access.visible_cases(user).where(Case.kind == KIND)
    if status:
        q = q.where(Case.status == status)
    if service_id:
        q = q.where(Case.category_id == service_id)
    if date_from:
        q = q.where(Case.created_at >= datetime.combine(date_from, time.min))
    if date_to:
        q = q.where(Case.created_at < datetime.combine(date_to + timedelta(days=1), time.min))
    if division_id:
        q = q.where(Case.current_office_id == division_id)
    if age in {key for key, _lo, _hi in dashboards.AGE_BUCKETS}:  # the dashboard's buckets
        q = q.where(dashboards.age_condition(age, now or datetime.utcnow()))
    return q


