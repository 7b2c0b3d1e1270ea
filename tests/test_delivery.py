"""Parallel, prioritised delivery (issue 28 item 4): workers claim batches of the outbox
(FOR UPDATE SKIP LOCKED on PostgreSQL) under a lease, send them, and record the results
in one commit; a failed message never holds up the rest."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

from app.extensions import db
from app.models import Notification
from app.services.engine import notify
from tests.conftest import NOW


def _fill(n: int, at=NOW, template="case_updated", priority=None, prefix="p") -> list[int]:
    rows = [Notification(channel="email", recipient=f"{prefix}{i}@example.in", template=template, locale="en",
                         subject="s", body=f"{prefix}{i}", status="pending",
                         priority=notify.priority_of(template) if priority is None else priority,
                         next_attempt_at=at, created_at=at) for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def _sent(app) -> list:
    return app.extensions.setdefault("outbox_sent", [])


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def test_a_batch_is_claimed_sent_and_recorded_in_a_fixed_number_of_commits(app):
    ids = _fill(20)
    commits = []
    listener = lambda _session: commits.append(1)  # noqa: E731
    event.listen(db.session(), "after_commit", listener)
    try:
        counts = notify.deliver_batch(NOW, "w1", 20)
    finally:
        event.remove(db.session(), "after_commit", listener)
    assert counts["claimed"] == 20 and counts["sent"] == 20
    # claim, read, results: three commits for twenty messages (not two per message)
    assert len(commits) == 3
    rows = db.session.scalars(select(Notification).where(Notification.id.in_(ids))).all()
    assert {r.status for r in rows} == {"sent"}
    assert all(r.attempts == 1 and r.sent_at == NOW and r.claimed_by is None and r.claimed_until is None
               for r in rows)
    assert sorted(m["id"] for m in _sent(app)) == sorted(ids)


def test_one_failing_message_does_not_hold_up_the_batch(app):
    ids = _fill(5)
    app.config["NOTIFY_FAIL"] = {"p2@example.in": "mailbox unavailable"}
    counts = notify.deliver_batch(NOW, "w1", 10)
    assert counts == {"claimed": 5, "sent": 4, "retry": 1, "failed": 0, "released": 0}
    bad = db.session.scalar(select(Notification).where(Notification.recipient == "p2@example.in"))
    assert bad.status == "pending" and bad.attempts == 1 and "mailbox unavailable" in bad.last_error
    assert bad.next_attempt_at == NOW + notify.backoff(1) and bad.claimed_by is None
    assert len([m for m in _sent(app) if m["id"] in ids]) == 4


def test_the_last_attempt_marks_a_message_failed(app):
    _fill(1)
    app.config.update(NOTIFY_FAIL="down", OUTBOX_MAX_ATTEMPTS=2)
    notify.deliver_batch(NOW, "w1")
    assert notify.deliver_batch(NOW + timedelta(minutes=1), "w1")["failed"] == 1
    row = db.session.scalar(select(Notification))
    assert row.status == "failed" and row.attempts == 2


def test_a_claim_is_not_taken_again_before_its_lease_ends(app):
    app.config["DELIVERY_LEASE_SECONDS"] = 300
    ids = _fill(3)
    assert sorted(notify.claim(NOW, "crashed", 10)) == sorted(ids)  # and the worker dies here
    rows = db.session.scalars(select(Notification)).all()
    assert {(r.status, r.claimed_by, r.claimed_until) for r in rows} == {
        ("sending", "crashed", NOW + timedelta(seconds=300))}
    assert notify.deliver_batch(NOW + timedelta(seconds=299), "w2")["claimed"] == 0
    counts = notify.deliver_batch(NOW + timedelta(seconds=300), "w2")
    assert counts["claimed"] == 3 and counts["sent"] == 3
    rows = db.session.scalars(select(Notification).execution_options(populate_existing=True)).all()
    assert {(r.status, r.attempts) for r in rows} == {("sent", 2)}
    # the first worker coming back late cannot overwrite what the second recorded
    late = db.session.execute(notify._record_statement(), [
        {"b_id": i, "b_worker": "crashed", "b_status": "pending", "b_attempts": 1, "b_next": NOW,
         "b_sent": None, "b_error": "late", "b_message_id": None} for i in ids])
    assert late.rowcount in (0, -1)
    db.session.commit()
    rows = db.session.scalars(select(Notification).execution_options(populate_existing=True)).all()
    assert {(r.status, r.last_error) for r in rows} == {("sent", None)}


def test_a_batch_past_its_lease_gives_the_rest_back(app, monkeypatch):
    _fill(3)
    app.config["DELIVERY_LEASE_SECONDS"] = 100
    clock = iter([0.0, 1.0, 500.0, 501.0])  # the deadline (80 s) passes after the first message
    monkeypatch.setattr(notify.time, "monotonic", lambda: next(clock))
    counts = notify.deliver_batch(NOW, "w1")
    assert counts["sent"] == 1 and counts["released"] == 2
    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1), ("pending", 0), ("pending", 0)]


def test_priority_order_codes_then_waiting_then_staff_then_office(app):
    _fill(2, at=NOW - timedelta(days=2), template="office_received", prefix="office")
    _fill(2, at=NOW - timedelta(days=1), template="assigned", prefix="staff")
    _fill(2, at=NOW - timedelta(hours=1), template="info_requested", prefix="waiting")
    _fill(1, at=NOW, template="otp", prefix="code")
    counts = notify.deliver_due(NOW, limit=7)
    assert counts["sent"] == 7
    assert [m["body"] for m in _sent(app)] == ["code0", "waiting0", "waiting1", "staff0", "staff1",
                                               "office0", "office1"]


def test_a_retry_waits_its_turn_by_when_it_came_due(app):
    """Within a priority, by next_attempt_at: a message retried later goes behind one
    that has been due longer."""
    first, = _fill(1, at=NOW - timedelta(minutes=30), prefix="retried")
    _fill(1, at=NOW - timedelta(minutes=10), prefix="fresh")
    db.session.get(Notification, first).next_attempt_at = NOW - timedelta(minutes=1)
    db.session.commit()
    notify.deliver_due(NOW, limit=2)
    assert [m["body"] for m in _sent(app)] == ["fresh0", "retried0"]


def test_the_scheduler_leaves_delivery_to_the_workers_when_there_are_some(app):
    _fill(2)
    app.config["DELIVERY_WORKERS"] = 2
    assert notify.scheduled(NOW) == {"digests": 0}
    assert _sent(app) == []
    app.config["DELIVERY_WORKERS"] = 0
    assert notify.scheduled(NOW)["sent"] == 2


def test_flask_deliver_once_drains_the_outbox(app):
    _fill(7)
    app.config["DELIVERY_BATCH"] = 3
    result = app.test_cli_runner().invoke(args=["deliver", "--once", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "'sent': 7" in result.output
    assert db.session.scalar(select(db.func.count()).where(Notification.status == "pending")) == 0


def test_a_batch_of_e_mails_goes_through_one_smtp_session(app):
    import socket

    from aiosmtpd.controller import Controller

    sessions, received = set(), []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
            sessions.add(id(session))
            received.append(envelope.rcpt_tos[0])
            return "250 OK" if envelope.rcpt_tos[0] != "p1@example.in" else "550 no such mailbox"

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(NOTIFY_EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                          SMTP_STARTTLS=False, SMTP_USER=None)
        _fill(4)
        counts = notify.deliver_batch(NOW, "w1")
    finally:
        controller.stop()
    assert counts["sent"] == 3 and counts["retry"] == 1
    assert sorted(received) == [f"p{i}@example.in" for i in range(4)]
    # one session for the batch, and a fresh one after the refused recipient
    assert len(sessions) == 2
    bad = db.session.scalar(select(Notification).where(Notification.recipient == "p1@example.in"))
    assert "550" in bad.last_error


# ---- PostgreSQL: concurrent claims --------------------------------------------------------------


def test_a_row_locked_by_another_claim_is_skipped_not_waited_for(app):
    if not _postgres():
        pytest.skip("FOR UPDATE SKIP LOCKED: PostgreSQL only (TEST_DATABASE_URL)")
    ids = _fill(6)
    with db.engine.connect() as other:
        other.execute(text("SET lock_timeout = '3s'"))
        held = other.execute(select(Notification.id).where(Notification.status == "pending")
                             .order_by(Notification.priority, Notification.next_attempt_at, Notification.id)
                             .limit(3).with_for_update(skip_locked=True)).scalars().all()
        assert held == ids[:3]
        db.session.execute(text("SET lock_timeout = '3s'"))  # a wait would fail, not hang
        mine = notify.claim(NOW, "w2", 10)
        assert sorted(mine) == ids[3:]
        other.rollback()


def test_concurrent_workers_never_deliver_a_message_twice(app):
    if not _postgres():
        pytest.skip("concurrent claims on PostgreSQL only (TEST_DATABASE_URL)")
    ids = _fill(300)
    app.config["DELIVERY_BATCH"] = 7
    seen: list[int] = []
    lock = threading.Lock()
    errors = []

    def send(n):
        with lock:
            seen.append(n.id)

    original = notify.BACKENDS["memory"]
    notify.BACKENDS["memory"] = send
    barrier = threading.Barrier(4)

    def worker(name):
        try:
            with app.app_context():
                barrier.wait()
                while notify.deliver_batch(NOW, name)["claimed"]:
                    pass
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        notify.BACKENDS["memory"] = original
    assert not errors
    assert sorted(seen) == sorted(ids)  # every message once, none twice
    rows = db.session.scalars(select(Notification).execution_options(populate_existing=True)).all()
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}


def test_a_killed_workers_batch_is_sent_by_another_after_its_lease(app):
    """Two real `flask deliver` processes: the first is killed (SIGKILL) in the middle of
    its batch; after the lease the second sends the whole batch — at least once, never
    lost (what the first had sent before it died goes twice)."""
    if not _postgres():
        pytest.skip("real worker processes on PostgreSQL only (TEST_DATABASE_URL)")
    import asyncio
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    from aiosmtpd.controller import Controller

    received, stall = [], threading.Event()
    stall.set()

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
            rcpt = envelope.rcpt_tos[0]
            while rcpt == "p3@example.in" and stall.is_set():
                await asyncio.sleep(0.05)
            received.append(rcpt)
            return "250 OK"

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    _fill(6)
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "NOTIFY_EMAIL_BACKEND": "smtp",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "0", "DELIVERY_LEASE_SECONDS": "3",
           "DELIVERY_BATCH": "10", "DELIVERY_IDLE_SECONDS": "0.2"}
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "deliver"]
    first = subprocess.Popen(flask, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(received) < 3 and time.monotonic() < deadline:  # p0-p2 sent, p3 hangs
            time.sleep(0.05)
        assert sorted(received) == ["p0@example.in", "p1@example.in", "p2@example.in"]
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        db.session.expire_all()
        rows = db.session.scalars(select(Notification)).all()
        assert {r.status for r in rows} == {"sending"}  # nothing recorded: the batch is lost with it...
        stall.clear()
        time.sleep(3.2)  # ... until its lease runs out
        second = subprocess.run([*flask, "--once"], cwd=root, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr[-2000:]
    finally:
        if first.poll() is None:
            first.kill()
        controller.stop()
    db.session.expire_all()
    rows = db.session.scalars(select(Notification)).all()
    assert {(r.status, r.attempts, r.claimed_by) for r in rows} == {("sent", 2, None)}
    assert {f"p{i}@example.in" for i in range(6)} <= set(received)  # every message delivered
