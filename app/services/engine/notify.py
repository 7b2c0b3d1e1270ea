"""Notification outbox: rows written in the same transaction as the case change that
causes them, delivered later with retries through pluggable backends."""

from __future__ import annotations

import json
import os
import smtplib
import socket
import threading
import time
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
from sqlalchemy import and_, bindparam, select, update

from app.domain import kinds
from app.extensions import db
from app.i18n import kind_label, status_label
from app.models import Case, Notification, User
from app.services.read_models import memo, refcache

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
    # OFFICE_NOTICE_MODE=digest: the cases that came to an office since its last digest.
    "office_digest": (
        _l("New cases for %(office)s: %(count)s"),
        _l("These cases came to %(office)s since the last message:\n\n%(text)s\n\nThe office's queue: %(url)s"),
        _l("Seva Desk: %(count)s new cases for %(office)s."),
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

# Delivery order (lower first, then by when due): a one-time code is useless after its
# few minutes; a requester waits for the reference, a reply, a request for information or
# a resolution to confirm; the office's notices and digests can queue behind them.
PRIORITY_CODE = 0
PRIORITY_WAITING = 1
PRIORITY_NORMAL = 5
PRIORITY_OFFICE = 7
PRIORITIES = {
    "otp": PRIORITY_CODE,
    **dict.fromkeys(("case_created", "case_updated", "service_completed", "service_not_served", "case_closed",
                     "ticket_closed", "interaction_closed", "helpdesk_closed", "confirmation_requested",
                     "info_requested"), PRIORITY_WAITING),
    "office_received": PRIORITY_OFFICE,
    "office_digest": PRIORITY_OFFICE,
}


def priority_of(template: str) -> int:
    """A template's delivery priority; the requester's messages of a kind's own templates
    are given PRIORITY_WAITING by their sender (`cases._notify`)."""
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
            locale: str = "en", case: Case | None = None, now: datetime, priority: int | None = None,
            **ctx) -> list[Notification]:
    """Add outbox rows (one per channel given) to the current transaction (inside
    `collect()`: to its list, and nothing is returned). `priority`: the template's
    (`priority_of`) unless given."""
    rows = []
    if priority is None:
        priority = priority_of(template)
    sink = _sink.get()
    subject, body, sms = render(template, locale, ctx)
    for channel, address, text in (("email", email, body), ("sms", mobile, sms)):
        if not address:
            continue
        fields = dict(
            case_id=case.id if case is not None else None,
            channel=channel, recipient=address, template=template, locale=locale,
            subject=subject if channel == "email" else "", body=text,
            status="pending", priority=priority, next_attempt_at=now, created_at=now,
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
        "office": case.current_office.label(locale) if case.current_office else "",
        "subject": subject_of(case, locale),
        "url": _case_url(case, public),
    }


def subject_of(case: Case, locale: str) -> str:
    """What `case` is about in `locale` (`Case.subject_label`): the subject as typed, else
    its catalogue row's name in the recipient's language. The row's names come from the
    case when it holds the row, else from the per-process cache (a sweep's cases do not
    load their rows one by one)."""
    if case.subject or case.category_id is None:
        return case.subject or ""
    # loaded already: no statement (a sweep's row on the set-based path is no `Case`)
    row = case.__dict__.get("category") if isinstance(case, Case) else None
    if row is None:
        row = catalogue_names(case.category_id)
    return row.label(locale) if row is not None else ""


def know_category(row) -> None:
    """Within a batch, `row`'s names (a `Category` or a snapshot of one) for
    `catalogue_names` to answer from: a raise has its row in hand."""
    from app.models import CatalogueName

    _cached(("category", row.id), lambda: CatalogueName.of(row))


def catalogue_names(category_id: int):
    """The three names of catalogue row `category_id` (`CatalogueName`), or None; kept
    per process until the reference data changes (`refcache`)."""
    from app.models import CatalogueName, Category

    def compute():
        row = db.session.execute(select(Category.name_en, Category.name_hi, Category.name_fa)
                                 .where(Category.id == category_id)).first()
        return CatalogueName(row[0], row[1] or "", row[2] or "") if row is not None else None

    return _cached(("category", category_id),
                   lambda: refcache.cached(("notify.category", category_id), compute))


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
    from app.services.infrastructure.tokens import make_case_token

    token = make_case_token(case, purpose)
    return _url("respond.respond", f"/respond/{token}", token=token)


def rate_url(case: Case) -> str:
    """The signed link of a doorstep request's "Completed" message: it opens the request's
    rating form without a one-time code, and takes one rating."""
    from app.services.infrastructure.tokens import make_case_token

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


def _directory_query(office_ids):
    """Each office's shared address and its active staff with an e-mail address (one
    row per employee; one row with no employee for an office without any)."""
    from app.models import OrgUnit

    return (select(OrgUnit.id, OrgUnit.email, User.email, User.locale)
            .select_from(OrgUnit)
            .outerjoin(User, and_(User.office_id == OrgUnit.id, User.active.is_(True), User.email.is_not(None)))
            .where(OrgUnit.id.in_(office_ids))
            .order_by(OrgUnit.id, User.id))


def _directories(rows) -> dict[int, tuple[str | None, tuple]]:
    found: dict[int, tuple[str | None, list]] = {}
    for office, address, email, locale in rows:
        entry = found.setdefault(office, (address or None, []))
        if email:
            entry[1].append((email, None, locale or "en"))
    return {office: (address, tuple(contacts)) for office, (address, contacts) in found.items()}


def _directory(office_id: int) -> tuple[str | None, tuple[tuple[str | None, str | None, str], ...]]:
    """(shared address, staff contacts) of an office, read with one query and kept per
    process until reference data (offices, users' contact columns) changes."""
    def compute():
        return _directories(db.session.execute(_directory_query([office_id]))).get(office_id, (None, ()))

    return _cached(("office", office_id), lambda: refcache.cached(("notify.office", office_id), compute))


def office_contacts(office_id: int) -> tuple[tuple[str | None, str | None, str], ...]:
    """(email, None, locale) of the office's active staff with an e-mail address."""
    return _directory(office_id)[1]


def load_office_contacts(office_ids) -> None:
    """Within a batch, read the addresses and contacts of all `office_ids` with one
    query, for `office_contacts` and `office_address` to answer from (a sweep batch sends
    cases to many offices)."""
    if not memo.in_batch():
        return
    wanted = sorted(set(office_ids))
    if not wanted:
        return
    found = _directories(db.session.execute(_directory_query(wanted)))
    for office in wanted:  # kept across requests too, as _directory does
        value = found.get(office, (None, ()))
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


# ---- notices to an office ------------------------------------------------------------

OFFICE_NOTICE_MODES = ("role_address", "digest", "each")


def _default_locale() -> str:
    return current_app.config.get("BABEL_DEFAULT_LOCALE") or "en"


def office_address(office_id: int) -> str | None:
    """The office's shared (role) e-mail address (`OrgUnit.email`), or None."""
    return _directory(office_id)[0]


def office_recipients(office_id: int) -> tuple[tuple[str | None, str | None, str], ...]:
    """Who receives the office's notices: its role address (in the default language),
    else each active staff member with an e-mail address (in their own). With
    OFFICE_NOTICE_MODE=each, always the staff."""
    address = office_address(office_id) if current_app.config.get("OFFICE_NOTICE_MODE") != "each" else None
    if address:
        return ((address, None, _default_locale()),)
    return office_contacts(office_id)


def notify_office(case, office_id: int, template: str, now: datetime, text: str | None = "") -> None:
    """A case came to office `office_id` (raised there, transferred, escalated): tell the
    office as OFFICE_NOTICE_MODE says — one message to its role address (`role_address`,
    the default; each staff member while the office has no address), a line in its next
    digest (`digest`), or one message per active staff member (`each`). `text` None: the
    case's subject, in each recipient's language (`subject_of`)."""
    mode = current_app.config.get("OFFICE_NOTICE_MODE") or "role_address"
    if mode == "digest":
        from app.models import OfficeNotice

        # No text: the digest names the case's subject in each recipient's language.
        db.session.execute(OfficeNotice.__table__.insert().values(
            office_id=office_id, case_id=case.id, template=template, text=(text or "")[:2000], created_at=now))
        return
    for email, mobile, locale in office_recipients(office_id):
        ctx = case_context(case, locale, public=False)
        enqueue(template, email=email, mobile=mobile, locale=locale, case=case, now=now,
                text=ctx["subject"] if text is None else text, priority=PRIORITY_OFFICE, **ctx)


def send_digests(now: datetime) -> int:
    """Queue one digest for each office whose oldest held notice is OFFICE_DIGEST_MINUTES
    old (so at most one per office per interval), listing every case held for it, to
    `office_recipients`; the notices go with it. Returns how many offices got one."""
    from sqlalchemy import delete, func

    from app.models import OfficeNotice, OrgUnit

    minutes = current_app.config.get("OFFICE_DIGEST_MINUTES", 60)
    due = db.session.scalars(
        select(OfficeNotice.office_id).group_by(OfficeNotice.office_id)
        .having(func.min(OfficeNotice.created_at) <= now - timedelta(minutes=minutes))).all()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    done = 0
    for office_id in due:
        pick = (select(OfficeNotice).where(OfficeNotice.office_id == office_id, OfficeNotice.created_at <= now)
                .order_by(OfficeNotice.created_at, OfficeNotice.id))
        if postgres:  # another scheduler's digest of this office in progress: not twice
            pick = pick.with_for_update(skip_locked=True)
        notices = db.session.scalars(pick).all()
        if not notices:
            db.session.commit()
            continue
        office = db.session.get(OrgUnit, office_id)
        cases = {c.id: c for c in db.session.scalars(
            select(Case).where(Case.id.in_({n.case_id for n in notices if n.case_id})))}
        queue = _url("cases.queue", "/cases/")
        for email, mobile, locale in office_recipients(office_id):
            lines = []
            for n in notices:
                case = cases.get(n.case_id)
                if case is None:
                    continue
                kind, _status = _labels(case.kind, case.status, locale)
                about = " ".join((n.text or subject_of(case, locale)).split())[:160]
                lines.append(f"- {case.reference} ({kind}){': ' + about if about else ''}\n  "
                             f"{_case_url(case, public=False)}")
            if lines:
                enqueue("office_digest", email=email, mobile=mobile, locale=locale, now=now,
                        office=office.label(locale), count=len(lines), text="\n".join(lines), url=queue)
        db.session.execute(delete(OfficeNotice).where(OfficeNotice.id.in_([n.id for n in notices]))
                           .execution_options(synchronize_session=False))
        db.session.commit()
        done += 1
    return done


# ---- delivery --------------------------------------------------------------------
#
# Any number of deliverers (the scheduler's outbox job, `flask deliver` workers on any
# host) take the outbox in batches: `claim` marks up to DELIVERY_BATCH due rows "sending",
# claimed by this worker until now + DELIVERY_LEASE_SECONDS, and commits; `deliver_batch`
# sends them and records every result with one UPDATE per row guarded by the claim, in one
# commit. On PostgreSQL the claim is SELECT … FOR UPDATE SKIP LOCKED, so workers never
# wait for one another nor take the same row; on SQLite (one writer) one UPDATE …
# RETURNING claims the batch. A worker that dies leaves its rows "sending": they are
# claimed again when the lease has run out (a message may then go twice — at least once,
# never lost).

class DeliveryError(Exception):
    pass


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (the configuration must change): the row fails at once."""


def _send_file(n: Notification) -> None:
    path = Path(current_app.instance_path) / "outbox.log"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": n.id, "channel": n.channel, "to": n.recipient,
                             "subject": n.subject, "body": n.body, "attachment": n.attachment_name,
                             "attachment_bytes": len(n.attachment or b"")}, ensure_ascii=False) + "\n")


def _send_memory(n: Notification) -> None:
    sent = current_app.extensions.setdefault("outbox_sent", [])
    fail = current_app.config.get("NOTIFY_FAIL")
    if fail and (not isinstance(fail, dict) or n.recipient in fail):
        raise DeliveryError(fail[n.recipient] if isinstance(fail, dict) else fail)
    sent.append({"id": n.id, "channel": n.channel, "to": n.recipient, "body": n.body,
                 **({"subject": n.subject, "attachment": (n.attachment_name, n.attachment)} if n.attachment else {})})


# Connections kept open for one batch (`_batch_connections`): an SMTP session sends the
# whole batch instead of one connection per message.
_connections: ContextVar[dict | None] = ContextVar("notify_connections", default=None)


@contextmanager
def _batch_connections():
    token = _connections.set({})
    try:
        yield
    finally:
        for conn in _connections.get().values():
            _close_smtp(conn)
        _connections.reset(token)


def _close_smtp(smtp) -> None:
    try:
        smtp.quit()
    except Exception:  # noqa: BLE001 - already broken: just drop it
        smtp.close()


def _smtp_connection():
    """(connection, owned): the batch's open SMTP session, or a new one the caller closes."""
    kept = _connections.get()
    if kept is not None and "smtp" in kept:
        return kept["smtp"], False
    cfg = current_app.config
    smtp = smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=20)
    try:
        if cfg.get("SMTP_STARTTLS"):
            smtp.starttls()
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"] or "")
    except Exception:
        smtp.close()
        raise
    if kept is None:
        return smtp, True
    kept["smtp"] = smtp
    return smtp, False


def _send_smtp(n: Notification) -> None:
    from email.utils import formatdate

    from app.services.front_doors.mail_intake import outgoing_headers

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
    smtp, owned = _smtp_connection()
    try:
        smtp.send_message(msg)
    except Exception:
        # A refused recipient or a broken session: the next message starts a fresh one.
        kept = _connections.get()
        if kept is not None:
            kept.pop("smtp", None)
        owned = True
        raise
    finally:
        if owned:
            _close_smtp(smtp)


def _attachment_type(name: str | None) -> str:
    if (name or "").endswith(".xlsx"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "application/octet-stream"


def dlt_fields(n: Notification) -> dict[str, str]:
    """The DLT (TRAI's Distributed Ledger) fields an Indian SMS gateway needs with each
    message: the principal entity id (SMS_DLT_ENTITY_ID) and the id under which the
    template's wording was registered (SMS_DLT_TEMPLATE_IDS: "name.locale", else "name").
    When DLT is required (SMS_DLT_REQUIRED, or an entity id set) a template without its
    id is refused: the gateway would drop the message anyway."""
    cfg = current_app.config
    entity = (cfg.get("SMS_DLT_ENTITY_ID") or "").strip()
    ids = cfg.get("SMS_DLT_TEMPLATE_IDS") or {}
    template_id = str(ids.get(f"{n.template}.{n.locale}") or ids.get(n.template) or "").strip()
    required = cfg.get("SMS_DLT_REQUIRED")
    if required is None:
        required = bool(entity)
    if required and not entity:
        raise PermanentDeliveryError("DLT is required but SMS_DLT_ENTITY_ID is not set")
    if required and not template_id:
        raise PermanentDeliveryError(
            f"no DLT template id for template {n.template!r} (locale {n.locale}): "
            f"add \"{n.template}\" or \"{n.template}.{n.locale}\" to SMS_DLT_TEMPLATE_IDS")
    fields = {}
    if entity:
        fields[cfg.get("SMS_DLT_ENTITY_FIELD") or "dlt_entity_id"] = entity
    if template_id:
        fields[cfg.get("SMS_DLT_TEMPLATE_FIELD") or "dlt_template_id"] = template_id
    return fields


def _send_http(n: Notification) -> None:
    cfg = current_app.config
    if not cfg.get("SMS_GATEWAY_URL"):
        raise DeliveryError("SMS_GATEWAY_URL is not set")
    if not cfg["SMS_GATEWAY_URL"].startswith(("https://", "http://")):
        raise DeliveryError("SMS_GATEWAY_URL must be an http(s) URL")
    payload = json.dumps({"to": n.recipient, "text": n.body, **dlt_fields(n)}, ensure_ascii=False).encode()
    req = urllib.request.Request(  # noqa: S310 - scheme checked above
        cfg["SMS_GATEWAY_URL"], data=payload, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8",
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


def worker_name() -> str:
    """Who claims: host, process and thread (a row's `claimed_by`)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"[-80:]


# The delivery order, along ix_notification_status_priority.
_ORDER = (Notification.priority, Notification.next_attempt_at, Notification.id)


def _pending_due(now: datetime):
    return and_(Notification.status == "pending", Notification.next_attempt_at <= now)


def _lease_over(now: datetime):
    return and_(Notification.status == "sending", Notification.claimed_until <= now)


def claim(now: datetime, worker: str, limit: int) -> list[int]:
    """Claim up to `limit` due messages for `worker` and commit: first rows whose
    worker's lease ran out, then pending rows by priority, then by when they came due.
    Returns the claimed ids (no other worker gets them until the lease ends)."""
    lease_until = now + timedelta(seconds=current_app.config["DELIVERY_LEASE_SECONDS"])
    values = dict(status="sending", claimed_by=worker, claimed_until=lease_until,
                  attempts=Notification.attempts + 1)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    ids: list[int] = []
    for due in (_lease_over(now), _pending_due(now)):
        wanted = limit - len(ids)
        if wanted <= 0:
            break
        pick = select(Notification.id).where(due).order_by(*_ORDER).limit(wanted)
        if postgres:
            # Locked rows are another worker's claim in progress: skipped, not waited for.
            found = db.session.scalars(pick.with_for_update(skip_locked=True)).all()
            if found:
                db.session.execute(update(Notification).where(Notification.id.in_(found))
                                   .values(**values).execution_options(synchronize_session=False))
            ids += found
        else:
            # SQLite: one writer; the statement reads and claims at once, and the
            # condition is checked again on the rows it writes.
            ids += db.session.scalars(
                update(Notification).where(Notification.id.in_(pick.scalar_subquery()), due)
                .values(**values).returning(Notification.id)
                .execution_options(synchronize_session=False)).all()
    db.session.commit()
    return ids


_RECORD = None


def _record_statement():
    global _RECORD
    if _RECORD is None:
        t = Notification.__table__
        _RECORD = (t.update()
                   .where(t.c.id == bindparam("b_id"), t.c.claimed_by == bindparam("b_worker"),
                          t.c.status == "sending")
                   .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                           next_attempt_at=bindparam("b_next"), sent_at=bindparam("b_sent"),
                           last_error=bindparam("b_error"), message_id=bindparam("b_message_id"),
                           claimed_by=None, claimed_until=None))
    return _RECORD


def deliver_batch(now: datetime, worker: str | None = None, limit: int | None = None) -> dict:
    """Claim one batch, send it, record the results in one commit. A message that fails
    is retried later (backoff) or, after OUTBOX_MAX_ATTEMPTS, marked failed; it never
    stops the rest of the batch. A batch that runs longer than most of its lease stops
    sending and gives the rest back, so no other worker takes a row still being sent."""
    cfg = current_app.config
    worker = worker or worker_name()
    limit = limit or cfg["DELIVERY_BATCH"]
    counts = {"claimed": 0, "sent": 0, "retry": 0, "failed": 0, "released": 0}
    ids = claim(now, worker, limit)
    if not ids:
        return counts
    counts["claimed"] = len(ids)
    # Read as plain rows and handed to the backends as transient objects (never in the
    # session, which the caller may be using): the results are written by `_RECORD`.
    table = Notification.__table__
    rows = [Notification(**row._mapping) for row in db.session.execute(
        select(table).where(table.c.id.in_(ids)).order_by(table.c.priority, table.c.next_attempt_at, table.c.id))]
    db.session.commit()  # the read's transaction ends: no snapshot held while sending
    max_attempts = cfg["OUTBOX_MAX_ATTEMPTS"]
    deadline = time.monotonic() + 0.8 * cfg["DELIVERY_LEASE_SECONDS"]
    results = []
    with _batch_connections():
        for n in rows:
            result = {"b_id": n.id, "b_worker": worker, "b_attempts": n.attempts, "b_next": n.next_attempt_at,
                      "b_sent": None, "b_error": n.last_error, "b_message_id": n.message_id}
            results.append(result)
            if time.monotonic() > deadline:  # not tried: back to the queue as it was
                result.update(b_status="pending", b_attempts=n.attempts - 1)
                counts["released"] += 1
                continue
            if n.channel == "email" and not n.message_id:
                from app.services.front_doors.mail_intake import notification_id

                n.message_id = result["b_message_id"] = notification_id(n)  # one id per message, kept
            try:
                _backend(n.channel)(n)
            except Exception as exc:  # noqa: BLE001 - any backend failure is recorded
                result["b_error"] = f"{type(exc).__name__}: {exc}"[:1000]
                if n.attempts >= max_attempts or isinstance(exc, PermanentDeliveryError):
                    result["b_status"] = "failed"
                    counts["failed"] += 1
                else:
                    result.update(b_status="pending", b_next=now + backoff(n.attempts))
                    counts["retry"] += 1
            else:
                result.update(b_status="sent", b_sent=now, b_error=None)
                counts["sent"] += 1
    db.session.execute(_record_statement(), results)
    db.session.commit()
    return counts


def deliver_due(now: datetime, limit: int = 200, worker: str | None = None) -> dict:
    """Send what is due, at most `limit` messages, in batches (`deliver_batch`): codes
    first, then messages a person is waiting for, then the rest (`PRIORITIES`); within a
    priority, by when they came due. What the scheduler's outbox job does when no
    delivery workers are configured, and what `flask deliver --once` repeats."""
    worker = worker or worker_name()
    batch_size = current_app.config["DELIVERY_BATCH"]
    total = {"sent": 0, "retry": 0, "failed": 0}
    left = limit
    while left > 0:
        counts = deliver_batch(now, worker, min(batch_size, left))
        for key in total:
            total[key] += counts[key]
        if not counts["claimed"] or counts["released"]:
            break
        left -= counts["claimed"]
    return total


def scheduled(now: datetime, deliver: bool | None = None) -> dict:
    """The scheduler's outbox job: the office digests that are due (`send_digests`), then
    one delivery run unless delivery workers do that (DELIVERY_WORKERS > 0; `deliver`
    forces it, as `flask run-jobs` does)."""
    result = {"digests": send_digests(now)}
    if deliver is None:
        deliver = not current_app.config.get("DELIVERY_WORKERS")
    if deliver:
        result.update(deliver_due(now))
    return result


def retry(notification: Notification, now: datetime) -> None:
    """Put a failed message back in the queue (admin's retry button)."""
    notification.status = "pending"
    notification.next_attempt_at = now
    # A row still claimed ("sending") is freed: the worker's late result is then ignored
    # (`_record_statement` checks the claim).
    notification.claimed_by = notification.claimed_until = None
    db.session.commit()
