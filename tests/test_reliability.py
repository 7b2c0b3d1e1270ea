"""Nothing half-written: failures injected inside a workflow action roll everything
back; two sweepers in two processes change each case once."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain import workflow as wf
from app.extensions import db
from app.models import Attachment, Case, CaseEvent, Notification
from app.services.engine import cases
from app.services.read_models import summary
from tests.conftest import NOW
from tests.factories import make_case

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32 + b"\xff\xd9"


def _snapshot(case_id):
    db.session.expire_all()
    c = db.session.get(Case, case_id)
    return (c.status, c.version, c.current_office_id, c.escalation_level, c.confirmation_due,
            db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id)),
            db.session.scalar(select(func.count(Notification.id)).where(Notification.case_id == case_id)),
            db.session.scalar(select(func.count(Attachment.id)).where(Attachment.case_id == case_id)))


class Boom(RuntimeError):
    pass


def _boom(*_a, **_k):
    raise Boom("injected")


@pytest.mark.parametrize("target", [
    "app.services.engine.effects.column_changes",  # while the transition's effects are applied in memory
    "app.services.engine.routing.escalation_target",
    "app.services.engine.cases._notify",          # after the versioned UPDATE was flushed
    "app.services.engine.notify.enqueue",         # while writing the outbox
    "app.services.infrastructure.uploads.store_upload",   # after the event row exists
])
def test_injected_failure_leaves_nothing_written(world, monkeypatch, target):
    case = make_case("complaint", world.ho1)
    cases.act(case, "start", actor=world.ho1_op, now=NOW)
    before = _snapshot(case.id)
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(sys.modules[module], name, _boom)
    action = {"column_changes": "propose_resolution", "escalation_target": "escalate"}.get(name, "propose_resolution")
    with pytest.raises(Boom):
        cases.act(case, action, actor=world.ho1_op, now=NOW, text="Resolved", uploads=[("r.jpg", JPEG)])
    assert _snapshot(case.id) == before


def test_failure_while_raising_leaves_no_case(world, monkeypatch):
    from app.services.engine import notify

    monkeypatch.setattr(notify, "enqueue", _boom)
    with pytest.raises(Boom):
        make_case("service_request", world.d1)
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert db.session.scalar(select(func.count(CaseEvent.id))) == 0


def test_two_sweeper_processes_close_each_case_once(app, world):
    """Two real `flask run-jobs` processes at the same moment over the same due cases."""
    due = []
    for _ in range(12):
        c = make_case("complaint", world.ho1)
        cases.act(c, "propose_resolution", actor=world.ho1_op, now=NOW - timedelta(days=3), text="Done")
        due.append(c.id)
    db.session.commit()
    notes_before = db.session.scalar(select(func.count(Notification.id)))
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "NOTIFY_EMAIL_BACKEND": "memory", "NOTIFY_SMS_BACKEND": "memory",
           "SECRET_KEY": "test", "FLASK_APP": "wsgi"}
    root = Path(__file__).resolve().parent.parent
    flask = Path(sys.executable).with_name("flask")
    procs = [subprocess.Popen([str(flask), "--app", "wsgi", "run-jobs"], cwd=root, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    db.session.expire_all()
    for cid in due:
        c = db.session.get(Case, cid)
        assert c.status == wf.CLOSED and c.resolution == "auto_closed"
        assert db.session.scalar(select(func.count(CaseEvent.id)).where(
            CaseEvent.case_id == cid, CaseEvent.type == "confirmation_timeout")) == 1
    # each auto-closure notified once (e-mail + SMS per case), each message sent once
    new = db.session.scalars(select(Notification).where(Notification.id > 0)).all()
    closing = [n for n in new if n.template == "case_closed"]
    assert len(closing) == 2 * len(due)
    # and the week's monitoring summary (issue 27): one per head, not one per process
    weekly = [n for n in new if n.template == "weekly_summary"]
    assert len(weekly) == len(db.session.scalars(summary.heads()).all()) > 0
    assert len(new) - notes_before == len(closing) + len(weekly)
    assert all(n.attempts <= 1 for n in new)
