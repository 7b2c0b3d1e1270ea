"""The helpdesk's e-mail channel (issue 26; seed 002: "a dedicated phone number/Email Id").

A message sent to the helpdesk's address (fetched from its mailbox by `flask mail-fetch`,
or handed over by a mail server with `flask mail-in < message.eml`) goes through
`receive`, which always stores it first-hand in `MailIntake` with what became of it:

- **dropped**: an auto-reply (`Auto-Submitted` other than "no", `Precedence`
  bulk/junk/list/auto_reply, `X-Autoreply`, `X-Autorespond`, a bounce from
  MAILER-DAEMON/postmaster) or a mail loop (a message of ours coming back: our
  Message-ID, our `X-Seva-Desk` header, or our own address as the sender);
- **failed**, with its reason: too large (`MAIL_MAX_BYTES`), malformed (cannot be
  parsed, no sender, a broken MIME structure), wrongly encoded (a text part whose bytes
  are not in its declared charset, or an unknown charset), no desk to receive it;
- **reply**: its `In-Reply-To`/`References` name a message of a ticket (one we sent, or
  one received for it), or its subject carries a ticket's reference, and the sender is
  that ticket's requester: the text is added to the ticket's timeline (information
  asked for → provided; otherwise the requester's answer). A reply to a closed ticket
  opens a new one that refers to it (a closed case is never reopened);
- **ticket**: anything else opens a helpdesk ticket with the desk (L1), from the
  sender — the employee whose e-mail address it is, when one is known.

Attachments go through the upload checks (`app.services.infrastructure.uploads.check_upload`); a
refused one is left out and named in the intake's detail. Nothing received is lost:
the raw message is kept in every case, and an unexpected error is a failed intake,
never an exception out of the job.
"""

from __future__ import annotations

import hashlib
import html
import imaplib
import logging
import re
from datetime import datetime
from email import policy
from email.errors import (
    CloseBoundaryNotFoundDefect,
    InvalidMultipartContentTransferEncodingDefect,
    MissingHeaderBodySeparatorDefect,
    MultipartInvariantViolationDefect,
    NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
)
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import func, select

from app.domain import kinds
from app.domain import workflow as wf
from app.domain.errors import WorkflowError
from app.domain.references import is_well_formed
from app.extensions import db
from app.models import Case, MailIntake, Notification, OrgUnit, User
from app.services.engine import cases
from app.services.infrastructure import uploads

log = logging.getLogger("sevadesk.mail")

TICKET, REPLY, DROPPED, FAILED = "ticket", "reply", "dropped", "failed"
# Reasons (MailIntake.reason)
TOO_LARGE, MALFORMED, BAD_ENCODING, NO_DESK, ERROR = "too_large", "malformed", "bad_encoding", "no_desk", "error"
AUTO_REPLY, LOOP, BOUNCE = "auto_reply", "loop", "bounce"

# The header our outgoing messages carry (with Auto-Submitted: auto-generated).
OUR_HEADER = "X-Seva-Desk"
_FATAL_DEFECTS = (NoBoundaryInMultipartDefect, StartBoundaryNotFoundDefect, CloseBoundaryNotFoundDefect,
                  MissingHeaderBodySeparatorDefect, MultipartInvariantViolationDefect,
                  InvalidMultipartContentTransferEncodingDefect)
_REF = re.compile(rf"\b({kinds.get(wf.HELPDESK).prefix}-\d{{4}}-[0-9A-Z]{{7,8}})\b")
_MSGID = re.compile(r"<[^<>\s]+>")
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_BOUNCERS = ("mailer-daemon@", "postmaster@")
MAX_TEXT = 20000


# ---- our own Message-IDs -------------------------------------------------------------

def mail_domain() -> str:
    """The domain of our Message-IDs: that of MAIL_FROM."""
    addr = parseaddr(current_app.config.get("MAIL_FROM") or "")[1]
    return addr.rpartition("@")[2].lower() or "sevadesk.invalid"


def thread_id(case) -> str:
    """The Message-ID the thread of a case hangs from (never sent itself: each message
    names it in References, so every client threads a ticket's messages together)."""
    return f"<case.{case.reference}@{mail_domain()}>"


def notification_id(notification) -> str:
    return f"<n{notification.id}.{notification.case_id or 0}@{mail_domain()}>"


def _ours(message_id: str) -> bool:
    """Is this one of our Message-IDs (`notification_id`, `thread_id`)?"""
    domain = re.escape(mail_domain())
    return bool(re.fullmatch(rf"<(n\d+\.\d+|case\.[A-Z0-9-]+)@{domain}>", message_id or "", re.I))


def outgoing_headers(notification) -> dict[str, str]:
    """The headers of an e-mail notification that make replies thread and keep
    autoresponders quiet: Message-ID (recorded on the notification), In-Reply-To (the
    last message received for the case, else the case's thread), References, Reply-To
    (the helpdesk's address for helpdesk tickets), Auto-Submitted and our own marker."""
    headers = {"Message-ID": notification_id(notification), "Auto-Submitted": "auto-generated",
               OUR_HEADER: "1"}
    case = db.session.get(Case, notification.case_id) if notification.case_id else None
    if case is not None:
        root = thread_id(case)
        last_in = db.session.scalar(
            select(MailIntake.message_id).where(MailIntake.case_id == case.id,
                                                MailIntake.message_id.is_not(None))
            .order_by(MailIntake.id.desc()).limit(1))
        refs = [root] + ([last_in] if last_in else [])
        headers["In-Reply-To"] = last_in or root
        headers["References"] = " ".join(refs)
        address = current_app.config.get("HELPDESK_EMAIL")
        if case.kind == wf.HELPDESK and address:
            headers["Reply-To"] = address
    return headers


# ---- receiving -------------------------------------------------------------------------

class _Failed(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def receive(raw: bytes, now: datetime | None = None, source: str = "pipe") -> MailIntake:
    """Take one received message (its raw bytes); returns its stored intake row. Never
    raises for what the message contains."""
    now = now or datetime.utcnow()
    sha = hashlib.sha256(raw).hexdigest()
    seen = db.session.scalar(select(MailIntake).where(MailIntake.sha256 == sha))
    if seen is not None:
        return seen
    intake = MailIntake(received_at=now, source=source, sha256=sha, size=len(raw), raw=raw,
                        status=FAILED)
    try:
        if len(raw) > current_app.config["MAIL_MAX_BYTES"]:
            raise _Failed(TOO_LARGE, f"{len(raw)} bytes")
        msg = _parse(raw)
        intake.message_id = _first_id(msg, "Message-ID")
        intake.subject = _header(msg, "Subject")[:200]
        name, sender = _sender(msg)
        intake.sender = sender[:200] if sender else None
        why = _drop_reason(msg, sender, intake.message_id)
        if why:
            intake.status, intake.reason = DROPPED, why
            return _store(intake)
        if not sender:
            raise _Failed(MALFORMED, "no sender address")
        text = _text_of(msg)
        files, refused = _attachments(msg)
        intake.detail = "; ".join(refused) or None
        case = _thread_case(msg, intake.subject)
        if case is not None and _is_requester(case, sender) and not case.is_closed:
            _add_reply(case, sender, text, files, now)
            intake.status, intake.case_id = REPLY, case.id
            return _store(intake)
        related = case if (case is not None and case.is_closed and _is_requester(case, sender)) else None
        new = _new_ticket(name, sender, intake.subject, text, files, now, related, intake.message_id)
        intake.status, intake.case_id = TICKET, new.id
        return _store(intake)
    except _Failed as exc:
        db.session.rollback()
        intake.status, intake.reason, intake.detail = FAILED, exc.reason, exc.detail[:2000] or None
        return _store(intake)
    except Exception as exc:  # noqa: BLE001 - never lose the message, never stop the job
        db.session.rollback()
        log.exception("mail intake failed")
        intake.status, intake.reason = FAILED, ERROR
        intake.detail = f"{type(exc).__name__}: {exc}"[:2000]
        intake.case_id = None
        return _store(intake)


def _store(intake: MailIntake) -> MailIntake:
    db.session.add(intake)
    db.session.commit()
    return intake


def _parse(raw: bytes) -> EmailMessage:
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001 - the parser is lenient; anything it raises
        raise _Failed(MALFORMED, f"{type(exc).__name__}: {exc}") from None
    defects = [d for part in msg.walk() for d in part.defects if isinstance(d, _FATAL_DEFECTS)]
    if defects:
        raise _Failed(MALFORMED, ", ".join(type(d).__name__ for d in defects))
    if not msg.keys():
        raise _Failed(MALFORMED, "no headers")
    return msg


def _header(msg, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - an unparsable header reads as absent
        return ""
    return " ".join(str(value or "").split())


def _first_id(msg, name: str) -> str | None:
    found = _MSGID.findall(_header(msg, name))
    return found[0][:255] if found else None


def _sender(msg) -> tuple[str, str]:
    try:
        header = msg.get("From")
        addresses = getattr(header, "addresses", ()) if header is not None else ()
    except Exception:  # noqa: BLE001
        addresses = ()
    if addresses:
        a = addresses[0]
        addr = (a.addr_spec or "").strip().lower()
        if re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", addr):
            return (a.display_name or "").strip()[:120], addr
    name, addr = parseaddr(_header(msg, "From"))
    addr = addr.strip().lower()
    return (name[:120], addr) if re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", addr) else ("", "")


def _drop_reason(msg, sender: str, message_id: str | None) -> str | None:
    cfg = current_app.config
    ours = {parseaddr(cfg.get("MAIL_FROM") or "")[1].lower(), (cfg.get("HELPDESK_EMAIL") or "").lower()}
    if msg.get(OUR_HEADER) is not None or (message_id and _ours(message_id)) or (sender and sender in ours):
        return LOOP
    if message_id and db.session.scalar(select(Notification.id).where(
            Notification.message_id == message_id).limit(1)) is not None:
        return LOOP
    if sender.startswith(_BOUNCERS) or _header(msg, "Content-Type").lower().startswith("multipart/report"):
        return BOUNCE
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return AUTO_REPLY
    if _header(msg, "Precedence").lower() in _AUTO_PRECEDENCE:
        return AUTO_REPLY
    if msg.get("X-Autoreply") is not None or msg.get("X-Autorespond") is not None:
        return AUTO_REPLY
    return None


def _decode(part) -> str:
    """A text part's content, decoded strictly in its declared charset."""
    data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return data.decode(charset)
    except LookupError:
        raise _Failed(BAD_ENCODING, f"unknown charset {charset}") from None
    except UnicodeDecodeError as exc:
        raise _Failed(BAD_ENCODING, f"not {charset}: {exc.reason} at byte {exc.start}") from None


def _text_of(msg) -> str:
    """The message's text (plain preferred, else HTML stripped of its tags), without the
    quoted earlier message of a reply."""
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    text = _decode(body)
    if body.get_content_subtype() == "html":
        text = re.sub(r"(?is)<(script|style).*?</\1>", " ", text)
        text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    for part in msg.walk():  # a broken charset elsewhere in the text is the same failure
        if part is not body and part.get_content_maintype() == "text" and not part.is_attachment():
            _decode(part)
    return _strip_quote(text)[:MAX_TEXT]


_QUOTE_START = re.compile(r"^(On .+ wrote:|-----\s*Original Message\s*-----|From: .+)$", re.I)


def _strip_quote(text: str) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    kept = []
    for line in lines:
        if _QUOTE_START.match(line.strip()) and kept:
            break
        kept.append(line)
    while kept and (kept[-1].startswith(">") or not kept[-1].strip()):
        kept.pop()
    return "\n".join(kept).strip()


def _attachments(msg) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(accepted (filename, bytes), refusals "name: reason") by the upload checks."""
    accepted, refused = [], []
    for part in msg.iter_attachments():
        name = part.get_filename() or "attachment"
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001
            data = b""
        try:
            uploads.check_upload(data)
        except uploads.UploadRejected as exc:
            refused.append(f"{name}: {exc.code}")
            continue
        accepted.append((name, data))
    return accepted, refused


def _thread_case(msg, subject: str) -> Case | None:
    """The helpdesk ticket a message answers: named by In-Reply-To/References (a message
    we sent for it, one we received for it, or its thread id), else by a reference in
    the subject."""
    ids = _MSGID.findall(" ".join((_header(msg, "In-Reply-To"), _header(msg, "References"))))
    case_ids: list[int] = []
    if ids:
        case_ids += [i for i in db.session.scalars(select(Notification.case_id).where(
            Notification.message_id.in_(ids), Notification.case_id.is_not(None))) if i]
        case_ids += [i for i in db.session.scalars(select(MailIntake.case_id).where(
            MailIntake.message_id.in_(ids), MailIntake.case_id.is_not(None))) if i]
        domain = mail_domain()
        refs = [m[len("<case."):-len(f"@{domain}>")] for m in ids
                if m.lower().endswith(f"@{domain}>") and m.startswith("<case.")]
        for ref in refs:
            found = db.session.scalar(select(Case.id).where(Case.reference == ref))
            if found:
                case_ids.append(found)
    for case_id in case_ids:
        case = db.session.get(Case, case_id)
        if case is not None and case.kind == wf.HELPDESK:
            return case
    for ref in _REF.findall(subject or ""):
        if is_well_formed(ref):
            case = db.session.scalar(select(Case).where(Case.reference == ref))
            if case is not None and case.kind == wf.HELPDESK:
                return case
    return None


def _is_requester(case: Case, sender: str) -> bool:
    if case.requester_email and case.requester_email.lower() == sender:
        return True
    return case.raised_by is not None and (case.raised_by.email or "").lower() == sender


def _add_reply(case: Case, sender: str, text: str, files, now: datetime) -> None:
    text = text or "(no text)"
    employee = case.raised_by if (case.raised_by and (case.raised_by.email or "").lower() == sender) else None
    action = "provide_info" if case.status == wf.AWAITING_INFO else "requester_reply"
    kw = dict(now=now, text=text, uploads=files)
    if employee is not None:
        kw.update(actor=employee, as_="user")
    else:
        kw.update(as_=wf.REQUESTER)
    try:
        cases.act(case, action, **kw)
    except WorkflowError as exc:
        raise _Failed(ERROR, f"{action} refused: {exc.code}") from None


def _desk() -> OrgUnit:
    code = current_app.config.get("HELPDESK_OFFICE") or "HELPDESK"
    desk = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.active.is_(True)))
    if desk is None:
        raise _Failed(NO_DESK, f"no active office with code {code}")
    return desk


def _new_ticket(name: str, sender: str, subject: str, text: str, files, now: datetime,
                related: Case | None, message_id: str | None) -> Case:
    desk = _desk()
    employee = db.session.scalar(select(User).where(func.lower(User.email) == sender,
                                                    User.active.is_(True)).limit(1))
    requester = {"name": name or (employee.name if employee else sender), "email": sender}
    if employee is not None and employee.locale:
        requester["locale"] = employee.locale
    return cases.raise_case(
        wf.HELPDESK, office=desk, raising_office=desk, now=now, actor=employee, channel="email",
        subject=(subject or text[:80] or "(no subject)")[:200], description=text or "(no text)",
        requester=requester, related_case=related, uploads=files,
        data={"mail_from": sender, **({"employee_id": employee.id} if employee else {})})


# ---- the administrators' list ----------------------------------------------------------

STATUSES = (TICKET, REPLY, DROPPED, FAILED)


def intake_query(status: str | None = None, text: str | None = None):
    """Received messages, newest first: by status, and by sender, subject or reason."""
    q = select(MailIntake).order_by(MailIntake.received_at.desc(), MailIntake.id.desc())
    if status in STATUSES:
        q = q.where(MailIntake.status == status)
    text = (text or "").strip().lower()[:100]
    if text:
        like = f"%{text}%"
        q = q.where(func.lower(MailIntake.sender).like(like) | func.lower(MailIntake.subject).like(like)
                    | func.lower(MailIntake.reason).like(like))
    return q


# ---- fetching --------------------------------------------------------------------------

def fetch(url: str | None = None, now: datetime | None = None, limit: int = 200) -> dict:
    """Read the unseen messages of the helpdesk's mailbox (MAIL_IMAP_URL), store each
    (`receive`) and then flag it seen on the server: a crash between the two fetches it
    again, and the stored copy is found by its hash. Returns counts by status."""
    url = url or current_app.config.get("MAIL_IMAP_URL")
    counts = {TICKET: 0, REPLY: 0, DROPPED: 0, FAILED: 0}
    if not url:
        return counts
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    if parts.scheme == "imaps":
        conn = imaplib.IMAP4_SSL(host, port or 993, timeout=30)
    else:
        conn = imaplib.IMAP4(host, port or 143, timeout=30)
        if "STARTTLS" in conn.capabilities:
            conn.starttls()
    try:
        conn.login(unquote(parts.username or ""), unquote(parts.password or ""))
        conn.select(_quote(folder))
        typ, data = conn.uid("SEARCH", None, "UNSEEN")
        uids = (data[0] or b"").split()[:limit] if typ == "OK" else []
        for uid in uids:
            typ, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched or () if isinstance(item, tuple)), None)
            if typ != "OK" or raw is None:
                continue
            intake = receive(bytes(raw), now=now, source="imap")
            counts[intake.status] = counts.get(intake.status, 0) + 1
            conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    finally:
        try:
            conn.logout()
        except Exception:  # noqa: BLE001, S110 - the connection is gone either way
            pass
    return counts


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
