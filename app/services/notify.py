"""Notification outbox: rows written in the same transaction as the case change that
causes them, delivered later with retries through pluggable backends."""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from types import MappingProxyType

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import and_, or_, select, update

from app.domain import kinds
from app.extensions import db
from app.i18n import kind_label, status_label
from app.models import Case, Notification, User
from app.services import memo, refcache

# name -> (e-mail subject, e-mail body, sms text). Placeholders: %(ref)s, %(kind)s,
# %(status)s, %(text)s, %(url)s, %(office)s, %(code)s, %(minutes)s
_BUILT_IN = {
    "case_created": (
        _l("Registered: %(ref)s"),
        _l("Your %(kind)s has been registered with reference number %(ref)s. "
           "You can follow it at %(url)s"),
        _l("Seva Desk: your request is registered. Reference %(ref)s. Track: %(url)s"),
    ),
    "case_updated": (
        _l("Update on %(ref)s"),
        _l("There is an update on %(ref)s. Status: %(status)s.\n\n%(text)s\n\nDetails: %(url)s"),
        _l("Seva Desk: update on %(ref)s, status %(status)s. %(url)s"),
    ),
    "service_completed": (
        _l("Completed: %(ref)s"),
        _l("The service requested under %(ref)s has been completed at your doorstep. "
           "Thank you for using India Post. You may rate the service at %(url)s"),
        _l("Seva Desk: request %(ref)s at your doorstep is completed. Rate us: %(url)s"),
    ),
    "service_not_served": (
        _l("Could not be served: %(ref)s"),
        _l("We could not serve your request %(ref)s. Reason: %(text)s\n\nDetails: %(url)s"),
        _l("Seva Desk: request %(ref)s could not be served: %(text)s"),
    ),
    "case_closed": (
        _l("Closed: %(ref)s"),
        _l("%(ref)s has been closed.\n\n%(text)s\n\nYou may rate the resolution at %(url)s"),
        _l("Seva Desk: %(ref)s is closed. %(url)s"),
    ),
    # Closure of the kinds whose requester is not invited to rate from the message: an
    # office ticket has no rating at all; an interaction's survey is on its own page and a
    # helpdesk caller's answers are behind the link. Each says only what it allows.
    "ticket_closed": (
        _l("Closed: %(ref)s"),
        _l("%(ref)s has been closed.\n\n%(text)s\n\nDetails: %(url)s"),
        _l("Seva Desk: %(ref)s is closed. %(url)s"),
    ),
    "interaction_closed": (
        _l("Closed: %(ref)s"),
        _l("%(ref)s has been closed.\n\n%(text)s\n\nDetails: %(url)s"),
        _l("Seva Desk: %(ref)s is closed. %(url)s"),
    ),
    "helpdesk_closed": (
        _l("Closed: %(ref)s"),
        _l("%(ref)s has been closed.\n\n%(text)s\n\nDetails: %(url)s"),
        _l("Seva Desk: %(ref)s is closed. %(url)s"),
    ),
    "confirmation_requested": (
        _l("Please confirm the resolution of %(ref)s"),
        _l("We have resolved %(ref)s:\n\n%(text)s\n\nPlease accept, reject or ask for "
           "clarification at %(url)s . Without an answer the case will be closed automatically."),
        _l("Seva Desk: %(ref)s resolved. Accept/reject: %(url)s"),
    ),
    "info_requested": (
        _l("Information needed for %(ref)s"),
        _l("To process %(ref)s we need more information:\n\n%(text)s\n\nPlease answer at %(url)s"),
        _l("Seva Desk: information needed for %(ref)s. Answer: %(url)s"),
    ),
    "office_received": (
        _l("New case for %(office)s: %(ref)s"),
        _l("%(kind)s %(ref)s is now in the queue of %(office)s.\n\n%(text)s\n\n%(url)s"),
        _l("Seva Desk: %(ref)s is now with %(office)s."),
    ),
    "assigned": (
        _l("Assigned to you: %(ref)s"),
        _l("%(kind)s %(ref)s has been assigned to you.\n\n%(text)s\n\n%(url)s"),
        _l("Seva Desk: %(ref)s assigned to you."),
    ),
    "requester_answered": (
        _l("Requester answered on %(ref)s"),
        _l("The requester has answered on %(ref)s:\n\n%(text)s\n\n%(url)s"),
        _l("Seva Desk: requester answered on %(ref)s."),
    ),
    "otp": (
        _l("Your one-time code"),
        _l("Your Seva Desk one-time code is %(code)s. It is valid for %(minutes)s minutes. "
           "Do not share it with anyone."),
        _l("Seva Desk code %(code)s, valid %(minutes)s min. Do not share it."),
    ),
}



class _Templates(Mapping):
    """The built-in wordings above, and those a kind brings (`CaseKind.messages`)."""

    def _kinds(self):
        return {name: parts for k in kinds.all() for name, parts in k.messages.items()}

    def __getitem__(self, name):
        if name in _BUILT_IN:
            return _BUILT_IN[name]
        return self._kinds()[name]

    def __iter__(self):
        return iter({**_BUILT_IN, **self._kinds()})

    def __len__(self):
        return len({**_BUILT_IN, **self._kinds()})


TEMPLATES = _Templates()

# Delivery order (lower first, then oldest first): a one-time code is useless after its
# few minutes, and a new requester waits for the reference; everything else can queue.
PRIORITY_CODE = 0
PRIORITY_WAITING = 1
PRIORITY_NORMAL = 5
PRIORITIES = {"otp": PRIORITY_CODE, "case_created": PRIORITY_WAITING}


def priority_of(template: str) -> int:
    return PRIORITIES.get(template, PRIORITY_NORMAL)


# Within a batch (a transaction of the timer sweep, a raise), each template's wording
# and each office's contacts are looked up once, not once per case.
batch = memo.batch
_cached = memo.per_batch


def overrides(template: str, locale: str) -> dict[str, tuple[str, str]]:
    """Administrators' wording for `template` in `locale`: {channel: (subject, body)}."""
    return _wording(locale).get(template, {})


def _wording(locale: str) -> dict[str, dict[str, tuple[str, str]]]:
    """Every template's override in `locale` at once ({name: {channel: (subject, body)}}):
    a raise sends two or three kinds of message, a sweep many of one. Kept per process
    until the reference data changes (`refcache`)."""
    from app.models import NotificationTemplate

    def compute():
        wording: dict[str, dict[str, tuple[str, str]]] = {}
        for r in db.session.scalars(select(NotificationTemplate).where(NotificationTemplate.locale == locale)):
            wording.setdefault(r.name, {})[r.channel] = (r.subject, r.body)
        return MappingProxyType({name: MappingProxyType(by_channel) for name, by_channel in wording.items()})

    return _cached(("templates", locale), lambda: refcache.cached(("notify.templates", locale), compute))


def _formats(template: str, locale: str) -> tuple[str, str, str, dict]:
    """`template`'s code wording translated to `locale` (subject, body, sms) and the
    administrators' overrides: the compiled template, kept per process and generation."""
    def compute():
        subject, body, sms = TEMPLATES[template]
        with force_locale(locale):
            return str(subject), str(body), str(sms), overrides(template, locale)

    key = ("formats", template, locale)
    return _cached(key, lambda: refcache.cached(("notify.formats", template, locale), compute))


def render(template: str, locale: str, ctx: dict) -> tuple[str, str, str]:
    """(subject, body, sms) of `template` in `locale`: an administrator's override
    (admin > Notification templates) when there is one, else the code default."""
    if any(isinstance(v, LazyString) for v in ctx.values()):  # translated in `locale`
        with force_locale(locale):
            ctx = {k: str(v) for k, v in ctx.items()}
    subject, body, sms, custom = _formats(template, locale)
    c = {k: (str(v) if v is not None else "") for k, v in ctx.items()}
    c.setdefault("text", "")
    out = [subject % c, body % c, sms % c]
    try:  # an override that cannot be filled never stops the message: default used
        if "email" in custom:
            out[0], out[1] = custom["email"][0] % c, custom["email"][1] % c
        if "sms" in custom:
            out[2] = custom["sms"][1] % c
    except (KeyError, ValueError, TypeError):
        pass
    return out[0], out[1], out[2]


_sink: ContextVar[list | None] = ContextVar("notify_sink", default=None)


@contextmanager
def collect():
    """Within this block `enqueue` gathers outbox rows as plain dicts in the list it
    yields, for the caller to INSERT in one statement (the sweep's set-based path),
    instead of adding ORM objects to the session."""
    rows: list[dict] = []
    token = _sink.set(rows)
    try:
        yield rows
    finally:
        _sink.reset(token)


def enqueue(template: str, *, email: str | None = None, mobile: str | None = None,
            locale: str = "en", case: Case | None = None, now: datetime, **ctx) -> list[Notification]:
    """Add outbox rows (one per channel given) to the current transaction (inside
    `collect()`: to its list, and nothing is returned)."""
    rows = []
    sink = _sink.get()
    subject, body, sms = render(template, locale, ctx)
    for channel, address, text in (("email", email, body), ("sms", mobile, sms)):
        if not address:
            continue
        fields = dict(
            case_id=case.id if case is not None else None,
            channel=channel, recipient=address, template=template, locale=locale,
            subject=subject if channel == "email" else "", body=text,
            status="pending", priority=priority_of(template), next_attempt_at=now, created_at=now,
        )
        if sink is not None:
            sink.append(fields)
            continue
        row = Notification(**fields)
        db.session.add(row)
        rows.append(row)
    return rows


def case_context(case: Case, locale: str, public: bool = True) -> dict:
    kind, status = _labels(case.kind, case.status, locale)
    return {
        "ref": case.reference,
        "kind": kind,
        "status": status,
        "office": case.current_office.name if case.current_office else "",
        "url": _case_url(case, public),
    }


def _labels(kind: str, status: str, locale: str) -> tuple[str, str]:
    """The kind's and the status's names in `locale`, looked up once per process."""
    def compute():
        with force_locale(locale):
            return str(kind_label(kind)), str(status_label(status))

    return _cached(("labels", kind, status, locale),
                   lambda: refcache.cached(("notify.labels", kind, status, locale), compute))


def _url(endpoint: str, fallback: str, **values) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    if not has_request_context() and not current_app.config.get("SERVER_NAME"):
        # url_for cannot build here and would raise: the scheduler's case, once per message.
        return f"{base}{fallback}"
    try:
        path = url_for(endpoint, **values)
    except Exception:  # noqa: BLE001 - no request context (scheduler) or route not there
        path = fallback
    return f"{base}{path}"


def _case_url(case: Case, public: bool) -> str:
    """Requesters without an account get the public tracking page; employees the case."""
    if public and case.raised_by_id is None:
        return _url("citizen.track_detail", f"/track/{case.reference}", reference=case.reference)
    if public and (case.requester_mobile or case.requester_email):
        # Raised by an employee for a customer or caller: they follow it by a signed link.
        return respond_url(case)
    # The kind's page (`CaseKind.page_endpoint`): the one case page for every built-in kind.
    endpoint = kinds.get(case.kind).page_endpoint
    return _url(endpoint, _PAGE_PATHS.get(endpoint, "/cases/%s") % case.reference, reference=case.reference)


# The path of a kind's page when no URL can be built (the scheduler, without a request).
_PAGE_PATHS = {"cases.detail": "/cases/%s"}


def respond_url(case: Case, purpose: str = "respond") -> str:
    """A signed link by which a requester without an account answers on the case."""
    from app.services.tokens import make_case_token

    token = make_case_token(case, purpose)
    return _url("respond.respond", f"/respond/{token}", token=token)


def rate_url(case: Case) -> str:
    """The signed link of a doorstep request's "Completed" message: it opens the request's
    rating form without a one-time code, and takes one rating."""
    from app.services.tokens import make_case_token

    token = make_case_token(case, "rate")
    return _url("citizen.rate_link", f"/track/{case.reference}/rate/{token}", reference=case.reference,
                token=token)


# GSM 03.38: the 7-bit default alphabet and its extension table (an escape + one septet).
GSM7 = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[str, int, int]:
    """(encoding, length in that encoding's units, number of SMS segments) of `text`.
    Only Latin text fits the GSM 7-bit alphabet (160 septets, 153 per segment when
    concatenated); Hindi and Persian need UCS-2: 70 UTF-16 code units in one SMS, 67 per
    segment of a longer one. So a 94-character Persian message is two SMS, not one."""
    if all(ch in GSM7 or ch in GSM7_EXT for ch in text):
        units = len(text) + sum(ch in GSM7_EXT for ch in text)
        return "GSM-7", units, 1 if units <= 160 else -(-units // 153)
    units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
    return "UCS-2", units, 1 if units <= 70 else -(-units // 67)


def set_requester_locale(found: list[Case], locale: str) -> None:
    """Messages to a citizen follow the language of the page they raised or last tracked
    or answered from: store `locale` on these cases (the requester's own). A plain UPDATE
    of `data`, so the case's version does not move (an answer form open elsewhere stays
    valid); committed by the caller."""
    from sqlalchemy.orm.attributes import set_committed_value

    if locale not in current_app.config["LANGUAGES"]:
        return
    for case in found:
        data = dict(case.data or {})
        if data.get("locale") == locale:
            continue
        data["locale"] = locale
        db.session.execute(update(Case).where(Case.id == case.id).values(data=data)
                           .execution_options(synchronize_session=False))
        set_committed_value(case, "data", data)


def requester_contacts(case: Case) -> list[tuple[str | None, str | None, str]]:
    """(email, mobile, locale) of whoever should hear about the case as its requester."""
    locale = (case.data or {}).get("locale") or "en"
    if case.requester_mobile or case.requester_email:
        return [(case.requester_email, case.requester_mobile, locale)]
    if case.raised_by is not None:
        return [user_contact(case.raised_by)]
    return []


def _contacts_query(office_ids):
    return (select(User.office_id, User.email, User.locale)
            .where(User.office_id.in_(office_ids), User.active.is_(True), User.email.is_not(None))
            .order_by(User.id))


def office_contacts(office_id: int) -> tuple[tuple[str | None, str | None, str], ...]:
    """(email, None, locale) of the office's active staff with an e-mail address, kept
    per process until reference data (users' contact columns among it) changes."""
    def compute():
        rows = db.session.execute(_contacts_query([office_id])).all()
        return tuple((email, None, locale or "en") for _office, email, locale in rows if email)

    return _cached(("office", office_id), lambda: refcache.cached(("notify.office", office_id), compute))


def load_office_contacts(office_ids) -> None:
    """Within a batch, read the contacts of all `office_ids` with one query, for
    `office_contacts` to answer from (a sweep batch sends cases to many offices)."""
    if not memo.in_batch():
        return
    wanted = sorted(set(office_ids))
    if not wanted:
        return
    found: dict[int, list] = {i: [] for i in wanted}
    for office, email, locale in db.session.execute(_contacts_query(wanted)):
        if email:
            found[office].append((email, None, locale or "en"))
    for office, contacts in found.items():  # kept across requests too, as office_contacts does
        value = tuple(contacts)
        _cached(("office", office),
                lambda office=office, value=value: refcache.cached(("notify.office", office), lambda: value))


def user_contacts(user_ids) -> tuple[tuple[str, str], ...]:
    """(email, locale) of the active users `user_ids` with an e-mail address, in id
    order; within a `memo.batch()` read once per set of users."""
    wanted = tuple(sorted(set(user_ids)))
    if not wanted:
        return ()

    def compute():
        return tuple((email, locale or "en") for email, locale in db.session.execute(
            select(User.email, User.locale).where(User.id.in_(wanted), User.active.is_(True),
                                                  User.email.is_not(None)).order_by(User.id)))

    return memo.per_batch(("notify.users", wanted), compute)


def user_contact(user: User) -> tuple[str | None, str | None, str]:
    return (user.email, user.mobile, user.locale or "en")


# ---- delivery --------------------------------------------------------------------

class DeliveryError(Exception):
    pass


def _send_file(n: Notification) -> None:
    path = Path(current_app.instance_path) / "outbox.log"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": n.id, "channel": n.channel, "to": n.recipient,
                             "subject": n.subject, "body": n.body, "attachment": n.attachment_name,
                             "attachment_bytes": len(n.attachment or b"")}, ensure_ascii=False) + "\n")


def _send_memory(n: Notification) -> None:
    sent = current_app.extensions.setdefault("outbox_sent", [])
    if current_app.config.get("NOTIFY_FAIL"):
        raise DeliveryError(current_app.config["NOTIFY_FAIL"])
    sent.append({"id": n.id, "channel": n.channel, "to": n.recipient, "body": n.body,
                 **({"subject": n.subject, "attachment": (n.attachment_name, n.attachment)} if n.attachment else {})})


def _send_smtp(n: Notification) -> None:
    from email.utils import formatdate

    from app.services.mail_intake import outgoing_headers

    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = n.recipient
    msg["Subject"] = n.subject
    msg["Date"] = formatdate(usegmt=True)
    # Message-ID, In-Reply-To, References (replies thread onto the case), Reply-To and
    # Auto-Submitted (autoresponders stay quiet): `mail_intake.outgoing_headers`.
    for name, value in outgoing_headers(n).items():
        msg[name] = value
    msg.set_content(n.body)
    if n.attachment:
        maintype, _sep, subtype = _attachment_type(n.attachment_name).partition("/")
        msg.add_attachment(n.attachment, maintype=maintype, subtype=subtype, filename=n.attachment_name)
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=20) as smtp:
        if cfg.get("SMTP_STARTTLS"):
            smtp.starttls()
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"] or "")
        smtp.send_message(msg)


def _attachment_type(name: str | None) -> str:
    if (name or "").endswith(".xlsx"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "application/octet-stream"


def _send_http(n: Notification) -> None:
    cfg = current_app.config
    if not cfg.get("SMS_GATEWAY_URL"):
        raise DeliveryError("SMS_GATEWAY_URL is not set")
    if not cfg["SMS_GATEWAY_URL"].startswith(("https://", "http://")):
        raise DeliveryError("SMS_GATEWAY_URL must be an http(s) URL")
    payload = json.dumps({"to": n.recipient, "text": n.body}).encode()
    req = urllib.request.Request(  # noqa: S310 - scheme checked above
        cfg["SMS_GATEWAY_URL"], data=payload, method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": f"Bearer {cfg.get('SMS_GATEWAY_TOKEN') or ''}"})
    with urllib.request.urlopen(req, timeout=20) as resp:  # noqa: S310 - configured URL
        if resp.status >= 300:
            raise DeliveryError(f"gateway answered {resp.status}")


BACKENDS = {"file": _send_file, "memory": _send_memory, "smtp": _send_smtp, "http": _send_http}


def _backend(channel: str):
    key = current_app.config["NOTIFY_EMAIL_BACKEND" if channel == "email" else "NOTIFY_SMS_BACKEND"]
    return BACKENDS[key]


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def deliver_due(now: datetime, limit: int = 200) -> dict:
    """Send what is due: by priority (codes and messages a person is waiting for first,
    `PRIORITIES`), then oldest first. Each row is claimed with a guarded UPDATE first, so
    two deliverers never send the same message twice. A failure is recorded on the row
    and retried later; the case change that caused it is long committed."""
    stale = now - timedelta(minutes=10)
    # Claims left behind by a deliverer that died mid-send (rare): taken up first.
    ids = list(db.session.scalars(
        select(Notification.id).where(Notification.status == "sending",
                                      Notification.next_attempt_at <= stale)
        .order_by(Notification.priority, Notification.created_at, Notification.id).limit(limit)))
    if len(ids) < limit:  # read in the order of ix_notification_status_priority
        ids += db.session.scalars(
            select(Notification.id).where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.priority, Notification.created_at, Notification.id)
            .limit(limit - len(ids))).all()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    for nid in ids:
        claimed = db.session.execute(
            update(Notification)
            .where(Notification.id == nid, or_(
                and_(Notification.status == "pending", Notification.next_attempt_at <= now),
                # a claim left behind by a deliverer that died mid-send
                and_(Notification.status == "sending", Notification.next_attempt_at <= stale)))
            .values(status="sending", attempts=Notification.attempts + 1, next_attempt_at=now)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        n = db.session.get(Notification, nid)
        if n.channel == "email" and not n.message_id:
            from app.services.mail_intake import notification_id

            n.message_id = notification_id(n)  # kept across retries: one id per message
        try:
            _backend(n.channel)(n)
        except Exception as exc:  # noqa: BLE001 - any backend failure is recorded
            n.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            if n.attempts >= max_attempts:
                n.status = "failed"
                counts["failed"] += 1
            else:
                n.status = "pending"
                n.next_attempt_at = now + backoff(n.attempts)
                counts["retry"] += 1
        else:
            n.status = "sent"
            n.sent_at = now
            n.last_error = None
            counts["sent"] += 1
        db.session.commit()
    return counts


def retry(notification: Notification, now: datetime) -> None:
    """Put a failed message back in the queue (admin's retry button)."""
    notification.status = "pending"
    notification.next_attempt_at = now
    db.session.commit()
