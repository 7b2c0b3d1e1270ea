"""The helpdesk's e-mail channel (issue 26, item 3): messages to the helpdesk's address
become tickets with the desk (L1); replies thread onto the right ticket (reference in the
subject, In-Reply-To/References); attachments pass the upload checks; auto-replies and
mail loops are dropped; a malformed, oversize or wrongly encoded message is a failed
intake with its reason, never lost. Outgoing notifications carry the threading headers —
checked on a real SMTP receiver (aiosmtpd) — and the mailbox is read from a real IMAP
server (dovecot: `.ci/imap_server.sh`, TEST_IMAP_URL)."""

from __future__ import annotations

import imaplib
import os
import socket
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Attachment, Case, MailIntake, Notification
from app.services.engine import cases, notify
from app.services.front_doors import mail_intake
from tests.complaints_support import PDF
from tests.conftest import NOW
from tests.factories import make_user
from tests.test_helpdesk_sla import build_desk, log

ADDRESS = "helpdesk@sevadesk.test"
CALLER = "ravi@ulb-jatni.example"


@pytest.fixture
def desk(world, app):
    app.config["HELPDESK_EMAIL"] = ADDRESS
    return build_desk(world)


def mail(subject="Muster roll does not load", body="The screen stays blank since morning.",
         sender=f"Ravi Kumar <{CALLER}>", headers=None, attachments=()) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ADDRESS
    msg["Subject"] = subject
    headers = dict(headers or {})
    msg["Message-ID"] = headers.pop("Message-ID", f"<{os.urandom(6).hex()}@ulb-jatni.example>")
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(body)
    for name, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def receive(raw, now=NOW):
    return mail_intake.receive(raw, now=now)


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# ---- new tickets -----------------------------------------------------------------------

def test_a_message_becomes_a_ticket_with_the_desk(desk):
    intake = receive(mail())
    assert intake.status == "ticket" and intake.sender == CALLER and intake.reason is None
    case = intake.case
    assert case.kind == wf.HELPDESK and case.channel == "email" and case.status == wf.OPEN
    assert case.current_office_id == desk.desk.id and wf.WITH_DESK in wf.facts_of(case)  # L1
    assert case.subject == "Muster roll does not load" and "blank since morning" in case.description
    assert case.requester_email == CALLER and case.requester_name == "Ravi Kumar"
    assert case.raised_by_id is None and case.category_id is None  # L1 classifies it
    ack = db.session.scalar(select(Notification).where(Notification.case_id == case.id,
                                                       Notification.template == "case_created"))
    assert ack.recipient == CALLER and case.reference in ack.subject


def test_the_sender_is_matched_to_an_employee(desk):
    desk.d1_op.email = "Clerk.D1@IndiaPost.example"
    db.session.commit()
    case = receive(mail(sender="D1 clerk <clerk.d1@indiapost.example>")).case
    assert case.raised_by_id == desk.d1_op.id and case.raising_office_id == desk.desk.id
    assert case.current_office_id == desk.desk.id
    from app.services.engine import access

    assert access.can_view(desk.d1_op, case)  # the employee follows their own ticket


def test_the_same_message_twice_is_stored_once(desk):
    raw = mail()
    assert receive(raw).id == receive(raw).id
    assert _count(Case) == 1 and _count(MailIntake) == 1


# ---- replies -----------------------------------------------------------------------------

def test_reply_with_the_reference_in_the_subject(desk):
    case = receive(mail()).case
    intake = receive(mail(subject=f"Re: Registered: {case.reference}",
                          body="It shows error 502 now.\n\nOn Mon, Helpdesk wrote:\n> old text"),
                     now=NOW + timedelta(hours=1))
    assert intake.status == "reply" and intake.case_id == case.id
    db.session.refresh(case)
    ev = case.events[-1]
    assert ev.type == "requester_reply" and ev.actor_kind == "requester" and ev.public
    assert ev.text == "It shows error 502 now."  # the quoted earlier message is left out
    assert _count(Case) == 1


def test_reply_threaded_by_in_reply_to_of_our_message(desk, app):
    case = receive(mail()).case
    notify.deliver_due(NOW)  # the acknowledgement goes out with its Message-ID
    ack = db.session.scalar(select(Notification).where(Notification.case_id == case.id,
                                                       Notification.channel == "email"))
    assert ack.message_id and ack.message_id.endswith("@sevadesk.invalid>")
    intake = receive(mail(subject="Re: thanks", body="Also the bill page.",
                          headers={"In-Reply-To": ack.message_id, "References": ack.message_id}))
    assert intake.status == "reply" and intake.case_id == case.id
    # and by References naming the message received for the ticket
    first_id = db.session.scalar(select(MailIntake.message_id).where(MailIntake.status == "ticket"))
    again = receive(mail(subject="one more thing", headers={"References": f"<x@y.z> {first_id}"}))
    assert again.status == "reply" and again.case_id == case.id


def test_reply_to_information_requested_provides_it(desk):
    case = receive(mail()).case
    cases.act(case, "request_info", now=NOW, actor=desk.operator, text="Which ULB and which screen?")
    assert case.status == wf.AWAITING_INFO
    receive(mail(subject=f"Re: {case.reference}", body="Jatni, the muster roll screen."))
    db.session.refresh(case)
    assert case.status == wf.IN_PROGRESS and case.events[-1].type == "provide_info"


def test_reply_from_a_stranger_is_not_added_to_the_ticket(desk):
    case = receive(mail()).case
    intake = receive(mail(subject=f"Re: {case.reference}", sender="someone@else.example"))
    assert intake.status == "ticket" and intake.case_id != case.id
    db.session.refresh(case)
    assert [e.type for e in case.events] == ["created"]


def test_reply_to_a_closed_ticket_opens_a_new_one_linked_to_it(desk):
    case = receive(mail()).case
    cases.act(case, "close", now=NOW, actor=desk.operator, text="Clear the cache.")
    intake = receive(mail(subject=f"Re: Closed: {case.reference}", body="Still blank."))
    assert intake.status == "ticket" and intake.case.related_case_id == case.id


# ---- dropped -----------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"Precedence": "bulk"},
    {"Precedence": "auto_reply"},
    {"X-Autoreply": "yes"},
])
def test_auto_replies_are_dropped(desk, headers):
    intake = receive(mail(subject="Out of office", headers=headers))
    assert intake.status == "dropped" and intake.reason == "auto_reply" and intake.case_id is None
    assert _count(Case) == 0 and intake.raw  # kept, not lost


def test_auto_submitted_no_is_a_person(desk):
    assert receive(mail(headers={"Auto-Submitted": "no"})).status == "ticket"


def test_mail_loops_are_dropped(desk):
    case = receive(mail()).case
    notify.deliver_due(NOW)
    ack = db.session.scalar(select(Notification).where(Notification.case_id == case.id,
                                                       Notification.channel == "email"))
    # our own message coming back (its Message-ID), our marker, our own address
    for raw in (mail(headers={"Message-ID": ack.message_id}),
                mail(headers={"X-Seva-Desk": "1"}),
                mail(sender=f"Helpdesk <{ADDRESS}>"),
                mail(sender="Seva Desk <no-reply@sevadesk.invalid>")):
        intake = receive(raw)
        assert (intake.status, intake.reason) == ("dropped", "loop"), raw[:300]
    bounce = receive(mail(sender="MAILER-DAEMON@ulb-jatni.example", subject="Undelivered"))
    assert (bounce.status, bounce.reason) == ("dropped", "bounce")
    assert _count(Case) == 1


# ---- failed, never lost -------------------------------------------------------------------

def test_oversize_is_a_failed_intake(desk, app):
    app.config["MAIL_MAX_BYTES"] = 2000
    intake = receive(mail(body="x" * 5000))
    assert (intake.status, intake.reason) == ("failed", "too_large") and len(intake.raw) > 5000


def test_malformed_messages_are_failed_intakes(desk):
    no_boundary = (b"From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                   b"Content-Type: multipart/mixed\r\n\r\nno parts at all\r\n")
    no_sender = b"Subject: who am I\r\n\r\nbody\r\n"
    garbage = b"\x00\x01\x02 not a message"
    for raw in (no_boundary, no_sender, garbage):
        intake = receive(raw)
        assert (intake.status, intake.reason) == ("failed", "malformed"), raw
        assert intake.raw == raw and intake.detail
    assert _count(Case) == 0


def test_wrongly_encoded_messages_are_failed_intakes(desk):
    bad_utf8 = (b"From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                b"caf\xe9 \xff\xfe\r\n")
    unknown = (b"From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: text/plain; charset=x-klingon\r\n\r\nqapla\r\n")
    for raw in (bad_utf8, unknown):
        intake = receive(raw)
        assert (intake.status, intake.reason) == ("failed", "bad_encoding"), intake.detail
    assert _count(Case) == 0
    # a legacy charset declared correctly is fine
    ok = (b"From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9\r\n")
    assert receive(ok).case.description == "café"


def test_an_unexpected_error_is_a_failed_intake_not_a_crash(desk, monkeypatch):
    def boom(*a, **kw):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(mail_intake.cases, "raise_case", boom)
    intake = receive(mail())
    assert (intake.status, intake.reason) == ("failed", "error") and "hiccup" in intake.detail


def test_no_desk_is_a_failed_intake(desk, app):
    app.config["HELPDESK_OFFICE"] = "NOSUCH"
    assert receive(mail()).reason == "no_desk"


# ---- attachments ---------------------------------------------------------------------------

def test_attachments_pass_the_upload_checks(desk):
    raw = mail(attachments=[("screen.pdf", "application/pdf", PDF),
                            ("setup.exe", "application/octet-stream", b"MZ\x90\x00" + b"\x00" * 100),
                            ("fake.pdf", "application/pdf", b"<html>not a pdf</html>")])
    intake = receive(raw)
    assert intake.status == "ticket"
    files = db.session.scalars(select(Attachment).where(Attachment.case_id == intake.case_id)).all()
    assert [(a.original_name, a.content_type) for a in files] == [("screen.pdf", "application/pdf")]
    assert "setup.exe: bad_type" in intake.detail and "fake.pdf: bad_type" in intake.detail
    # on a reply too
    reply = receive(mail(subject=f"Re: {intake.case.reference}",
                         attachments=[("more.pdf", "application/pdf", PDF)]))
    assert reply.status == "reply"
    assert _count(Attachment) == 2


# ---- the command line ---------------------------------------------------------------------

def test_mail_in_reads_one_message_from_stdin(desk, runner):
    result = runner.invoke(args=["mail-in"], input=mail())
    assert result.exit_code == 0 and result.output.startswith("ticket HD-")
    result = runner.invoke(args=["mail-in"], input=b"Subject: x\r\n\r\nno sender\r\n")
    assert result.exit_code == 0 and result.output.strip() == "failed (malformed)"
    assert _count(MailIntake) == 2


# ---- outgoing headers on a real SMTP receiver -----------------------------------------------

@pytest.fixture
def smtp_receiver(app):
    """A real SMTP server (aiosmtpd) on a free local port; yields the list of received
    raw messages."""
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
            received.append(envelope.original_content or envelope.content)
            return "250 OK"

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(NOTIFY_EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                      SMTP_STARTTLS=False, SMTP_USER=None)
    try:
        yield received
    finally:
        controller.stop()


def test_outgoing_mail_threads_and_replies_come_back_to_the_ticket(desk, smtp_receiver):
    case = receive(mail()).case
    incoming_id = case_intake_id = db.session.scalar(select(MailIntake.message_id))
    cases.act(case, "reply", now=NOW + timedelta(minutes=5), actor=desk.operator, text="Clear the cache.")
    counts = notify.deliver_due(NOW + timedelta(minutes=10))
    assert counts["sent"] >= 2 and counts["failed"] == 0
    sent = [message_from_bytes(raw, policy=policy.default) for raw in smtp_receiver]
    to_caller = [m for m in sent if m["To"] == CALLER]
    assert len(to_caller) == 2  # the acknowledgement and the reply
    thread = f"<case.{case.reference}@sevadesk.invalid>"
    stored = {n.message_id for n in db.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.channel == "email"))}
    for m in to_caller:
        assert m["Message-ID"] in stored
        assert m["In-Reply-To"] == case_intake_id  # the caller's own message
        assert m["References"].split() == [thread, incoming_id]
        assert m["Auto-Submitted"] == "auto-generated" and m["Reply-To"] == ADDRESS
        assert m["X-Seva-Desk"] == "1" and m["Date"]
    # the caller answers the reply: their client names our Message-ID
    answer = to_caller[-1]
    intake = receive(mail(subject=f"Re: {answer['Subject']}".replace(case.reference, "no ref"),
                          headers={"In-Reply-To": answer["Message-ID"],
                                   "References": f"{answer['References']} {answer['Message-ID']}"},
                          body="Done, works now."))
    assert intake.status == "reply" and intake.case_id == case.id
    # an autoresponder that echoes our message back is a loop, not a ticket
    echo = answer.as_bytes()
    assert receive(echo).reason == "loop"


# ---- a real IMAP server (dovecot) -------------------------------------------------------------

@pytest.fixture
def imap_url():
    url = os.environ.get("TEST_IMAP_URL")
    if not url:
        if os.environ.get("REQUIRE_IMAP_TESTS"):
            pytest.fail("REQUIRE_IMAP_TESTS is set but TEST_IMAP_URL is not (.ci/imap_server.sh)")
        pytest.skip("no IMAP server: run `eval \"$(bash .ci/imap_server.sh start)\"` to set TEST_IMAP_URL")
    parts = urlsplit(url)
    conn = imaplib.IMAP4(parts.hostname, parts.port)
    conn.login(parts.username, parts.password)
    conn.select("INBOX")
    conn.store("1:*", "+FLAGS", "(\\Deleted)") if conn.search(None, "ALL")[1][0] else None
    conn.expunge()
    yield url, conn
    conn.logout()


def _append(conn, raw: bytes):
    typ, _ = conn.append("INBOX", None, None, raw)
    assert typ == "OK"


def test_fetch_from_imap(desk, imap_url, app):
    url, conn = imap_url
    case = log(desk, "technical", escalate=False)
    case.requester_email = CALLER
    db.session.commit()
    _append(conn, mail(subject="New: bill page error"))
    _append(conn, mail(subject=f"Re: {case.reference}", body="More detail."))
    _append(conn, mail(subject="Auto: away", headers={"Auto-Submitted": "auto-replied"}))
    _append(conn, b"From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                  b"Content-Type: text/plain; charset=x-klingon\r\n\r\nqapla\r\n")
    counts = mail_intake.fetch(url, now=NOW)
    assert counts == {"ticket": 1, "reply": 1, "dropped": 1, "failed": 1}
    assert db.session.scalar(select(MailIntake.reason).where(MailIntake.status == "failed")) == "bad_encoding"
    # everything is flagged seen: the next run fetches nothing new
    conn.select("INBOX")
    assert conn.search(None, "UNSEEN")[1][0] == b""
    assert mail_intake.fetch(url, now=NOW) == {"ticket": 0, "reply": 0, "dropped": 0, "failed": 0}
    # the CLI command and the scheduler's pass use MAIL_IMAP_URL
    _append(conn, mail(subject="Second question"))
    app.config["MAIL_IMAP_URL"] = url
    result = app.test_cli_runner().invoke(args=["mail-fetch"])
    assert result.exit_code == 0 and "'ticket': 1" in result.output
    from app.jobs import run_once

    _append(conn, mail(subject="Third question"))
    assert run_once(app, NOW)["mail"]["ticket"] == 1
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.channel == "email")) == 3


def test_fetch_a_message_that_breaks_the_intake_is_kept(desk, imap_url, monkeypatch):
    url, conn = imap_url
    _append(conn, mail())
    monkeypatch.setattr(mail_intake, "_thread_case", lambda *a: 1 / 0)
    counts = mail_intake.fetch(url, now=NOW)
    assert counts["failed"] == 1
    intake = db.session.scalar(select(MailIntake))
    assert intake.reason == "error" and "ZeroDivisionError" in intake.detail and intake.raw


def test_mail_fetch_without_a_mailbox_says_so(app, runner):
    app.config["MAIL_IMAP_URL"] = ""
    result = runner.invoke(args=["mail-fetch"])
    assert result.exit_code == 0 and "MAIL_IMAP_URL is not set" in result.output


def test_a_mail_ticket_is_worked_by_l1_like_a_call(desk):
    case = receive(mail()).case
    user = make_user(desk.desk, ["helpdesk"], name="Second operator")
    from app.services.front_doors import helpdesk

    helpdesk.classify(case, user, NOW, category=desk.cats["functional"], classification="problem",
                      priority="P2")
    cases.act(case, "escalate", now=NOW, actor=user, text="Needs a trainer")
    assert case.current_office_id == desk.mt.id


def test_only_our_own_message_ids_count_as_ours(app):
    assert mail_intake._ours("<n12.5@sevadesk.invalid>")
    assert mail_intake._ours("<case.HD-2611-ABCDEFG2@sevadesk.invalid>")
    # an employee's mail server on the same domain makes ids of its own
    for other in ("<nobody.1@sevadesk.invalid>", "<n12.5@mail.sevadesk.invalid>", "<n12.5@other.example>", ""):
        assert not mail_intake._ours(other), other
