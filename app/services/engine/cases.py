"""The case engine: raising cases and taking workflow actions. Every front door calls
these two functions; nothing else writes a case's status, office, assignee or timers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, literal, select, union_all
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.domain import kinds
from app.domain import workflow as wf
from app.domain.errors import (
    AlreadyDone,
    BadTarget,
    ChangedMeanwhile,
    InvalidTransition,
    MissingInput,
    WorkflowError,
)
from app.domain.references import make_reference
from app.extensions import db
from app.models import Case, CaseEvent, Feedback, Notification, OrgUnit, User
from app.services.engine import access, effects, notify, routing, sla
from app.services.engine.numbering import new_reference

# Kinds whose due times come from the SLA matrix at creation.
DEFAULT_PRIORITY = "P3"
SUBMISSION_KEY_MAX = 64  # Case.submission_key column


def raise_case(
    kind: str,
    *,
    office: OrgUnit,
    now: datetime,
    subject: str = "",
    description: str = "",
    actor: User | None = None,
    raising_office: OrgUnit | None = None,
    category=None,
    priority: str = DEFAULT_PRIORITY,
    channel: str = "web",
    requester: dict | None = None,
    data: dict | None = None,
    related_case: Case | None = None,
    assignee: User | None = None,
    submission_key: str | None = None,
    notify_requester: bool = True,
    uploads=(),
    classification: str | None = None,
) -> Case:
    """Create a case in `office`'s queue, write its first timeline row and the
    acknowledgement notifications, and commit. With a `submission_key` already used,
    the existing case is returned instead (double click, resubmit)."""
    kind_entry = kinds.find(kind)
    if kind_entry is None:
        raise ValueError(f"unknown kind {kind}")
    if submission_key and len(submission_key) > SUBMISSION_KEY_MAX:
        submission_key = None  # not one of ours (the forms issue short random tokens)
    session = db.session()
    reference = None
    if submission_key:
        existing, reference = _replay_or_reference(kind, now, submission_key)
        if existing is not None:
            return existing
    if related_case is not None and not related_case.is_closed:
        raise BadTarget("a new case can refer only to a closed one")
    requester = requester or {}
    response_due, resolution_due = sla.due_times(kind, priority, now)
    fields = dict(
        kind=kind,
        status=wf.OPEN,
        subject=subject.strip(),
        description=description.strip(),
        category_id=category.id if category is not None else None,
        priority=priority,
        channel=channel,
        classification=classification,
        requester_name=requester.get("name"),
        requester_mobile=requester.get("mobile"),
        requester_email=requester.get("email"),
        requester_address=requester.get("address"),
        pincode=requester.get("pincode"),
        raised_by_id=actor.id if actor else None,
        raising_office_id=(raising_office or (actor.office if actor else None) or office).id,
        current_office_id=office.id,
        assignee_id=assignee.id if assignee else None,
        related_case_id=related_case.id if related_case else None,
        response_due=response_due,
        resolution_due=resolution_due,
        submission_key=submission_key,
        created_at=now,
        updated_at=now,
    )
    extra = dict(data or {})
    if requester.get("locale"):
        extra["locale"] = requester["locale"]
    # The files first, under fresh names, outside the transaction (a slow or failing store
    # holds no row lock); a store that fails raises StoreFailed here, with nothing written.
    # Every way out but a committed new case deletes them again (`uploads.discard`).
    kept = _keep(uploads)
    # One transaction. A unique-constraint race (same submission key from a double
    # click, or the rare reference collision) is undone and retried from scratch: only
    # the attempt when the transaction holds the caller's own earlier writes (a
    # SAVEPOINT keeps them), else the whole transaction (nothing else to lose, and no
    # SAVEPOINT round trips on the common path).
    protect = bool(session.new or session.deleted or session.dirty or session.info.get(_WROTE))
    try:
        if protect:
            session.flush()  # the caller's own changes, outside the attempt
    except Exception:
        session.rollback()
        _discard(kept)
        raise
    attached = False
    try:
        case, attached = _raise_attempts(session, kind_entry, fields, extra, reference, kind, now, actor,
                                         office, assignee, notify_requester, submission_key, protect, kept,
                                         category=category)
        return case
    finally:
        if not attached:
            _discard(kept)


def _keep(uploads) -> list:
    if not uploads:
        return []
    from app.services.infrastructure import uploads as uploads_svc

    return uploads_svc.keep_all(uploads)


def _discard(kept) -> None:
    if kept:
        from app.services.infrastructure import uploads as uploads_svc

        uploads_svc.discard(kept)


def _raise_attempts(session, kind_entry, fields, extra, reference, kind, now, actor, office, assignee,
                    notify_requester, submission_key, protect, kept, category=None):
    """The attempts of `raise_case`: (the new case, True) once committed, or (the case
    already raised with the submission key, False)."""
    for attempt in range(3):
        savepoint = session.begin_nested() if protect else None
        released = False
        try:
            case = Case(**fields, data=dict(extra), reference=reference or new_reference(kind, now))
            reference = None
            session.add(case)
            session.flush()  # the case's id; the counters move in the same flush
            created = dict(
                case_id=case.id, at=now, type="created", actor_id=actor.id if actor else None,
                actor_kind="user" if actor else "requester", public=True, text=case.description,
                to_status=wf.OPEN, to_office_id=office.id, to_user_id=case.assignee_id, data={},
            )
            if kept:  # the attachments name their timeline row: an ORM row, flushed
                event = CaseEvent(**created)
                session.add(event)
                session.flush()
                from app.services.infrastructure.uploads import store_upload

                for upload in kept:
                    store_upload(case, event, upload, actor, now)
            else:
                # The timeline row and the outbox rows as plain INSERTs: nothing reads
                # them back, and a second flush of ORM objects cost more than the rows.
                session.execute(_INSERT_EVENT, created)
            with notify.batch(), notify.collect() as outbox:  # each language's wording once
                if category is not None and not case.subject:  # its names, without a statement
                    notify.know_category(category)
                if notify_requester:
                    for email, mobile, locale in notify.requester_contacts(case):
                        notify.enqueue(kind_entry.template("created"), email=email, mobile=mobile, locale=locale,
                                       case=case, now=now, priority=notify.PRIORITY_WAITING,
                                       **notify.case_context(case, locale))
                # text None: the subject in each recipient's language (`notify.subject_of`)
                _notify_office(case, case.current_office_id, now, text=None)
                if assignee is not None:
                    _notify_user(case, assignee, kind_entry.template("assigned"), now, text=None)
            if outbox:
                session.execute(_INSERT_NOTIFICATION, outbox)
            reference = case.reference
            if savepoint is not None:
                savepoint.commit()
                released = True
            session.commit()
            # Every front door shows the new reference at once: keep the committed value
            # instead of reading the row back (the commit expires it).
            set_committed_value(case, "reference", reference)
            return case, True
        except IntegrityError:
            reference = None
            if savepoint is not None and not released:
                savepoint.rollback()  # this attempt only
            else:
                session.rollback()
            if submission_key:
                existing = session.scalar(select(Case).where(Case.submission_key == submission_key))
                if existing is not None:
                    if savepoint is not None:
                        session.commit()  # the caller's earlier writes, as a successful raise would
                    return existing, False
            if attempt == 2:
                raise
        except Exception:
            session.rollback()
            raise


_WROTE = "cases.wrote"  # session.info: this transaction has flushed changes


@sa_event.listens_for(Session, "after_flush")
def _note_writes(session, _flush_context) -> None:
    session.info[_WROTE] = True


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_writes(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


_INSERT_EVENT = insert(CaseEvent.__table__)
_INSERT_NOTIFICATION = insert(Notification.__table__)

# A case already raised with the submission key (what = 1) and whether the candidate
# reference is taken (what = 2): one round trip instead of two.
_REPLAY_OR_TAKEN = union_all(
    select(literal(1).label("what"), Case.id).where(Case.submission_key == bindparam("key")),
    select(literal(2).label("what"), Case.id).where(Case.reference == bindparam("reference")),
)


def _replay_or_reference(kind: str, now: datetime, submission_key: str) -> tuple[Case | None, str | None]:
    """(the case already raised with `submission_key`, None), or (None, a free reference
    — None in the rare case the first candidate was taken: the caller draws another)."""
    reference = make_reference(kind, now)
    rows = db.session.execute(_REPLAY_OR_TAKEN, {"key": submission_key, "reference": reference}).all()
    for what, case_id in rows:
        if what == 1:
            return db.session.get(Case, case_id), None
    return None, (None if rows else reference)


def act(
    case: Case,
    action: str,
    *,
    now: datetime,
    actor: User | None = None,
    as_: str = "user",
    expected_version: int | None = None,
    text: str = "",
    target_office: OrgUnit | None = None,
    target_user: User | None = None,
    data: dict | None = None,
    uploads=(),
    commit: bool = True,
) -> CaseEvent:
    """Take `action` on `case` as `actor` (or as the requester, the system or a partner
    when `as_` says so). One transaction: the status change, the timeline row, the
    timers and the outbox rows are committed together or not at all.

    With `commit=False` the caller owns the transaction (the timer sweep commits a
    batch of cases at once): the change is made inside a SAVEPOINT, so when it raises
    only this case's change is undone and the batch goes on.

    Raises InvalidTransition, NotAllowed, MissingInput, BadTarget, AlreadyDone or
    ChangedMeanwhile; the case is unchanged when it raises.
    """
    if expected_version is not None and case.version != int(expected_version):
        raise ChangedMeanwhile(current_version=case.version)
    rels = access.relations(actor, case) if as_ == "user" else {as_}
    t = wf.find(case.kind, case.status, action, rels, office_kind=case.current_office.kind,
                facts=wf.facts_of(case))
    text = (text or "").strip()
    if t.needs_text and not text:
        raise MissingInput(field="text")
    _check_target(case, t, target_office, target_user)
    if not commit:
        try:
            with db.session.begin_nested():
                event = _apply(case, t, now=now, actor=actor, as_=as_, text=text,
                               target_office=target_office, target_user=target_user, data=data or {})
        except StaleDataError as exc:
            raise ChangedMeanwhile() from exc
        return event
    # The files first (StoreFailed: nothing written), then one transaction; when it
    # fails, the files go again.
    kept = _keep(uploads)
    try:
        event = _apply(case, t, now=now, actor=actor, as_=as_, text=text,
                       target_office=target_office, target_user=target_user, data=data or {})
        for upload in kept:
            from app.services.infrastructure.uploads import store_upload

            store_upload(case, event, upload, actor, now)
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        _discard(kept)
        raise ChangedMeanwhile() from exc
    except Exception:
        db.session.rollback()
        _discard(kept)
        raise
    return event


def act_many(items, action: str, *, now: datetime, as_: str = wf.SYSTEM) -> int:
    """Take the same `action` on many cases, as the system, with one flush — the timer
    sweep's fast path. Each case goes through the same table lookup and effects as `act`;
    the caller owns the transaction. The batch is all or nothing: when any case refuses
    the action or was changed meanwhile (the versioned UPDATEs of the flush match no
    row), everything of the batch is undone and `BatchRefused` is raised, so the caller
    can take the cases one by one with `act(commit=False)` and skip the bad ones.

    `items` are (case, version seen when the case was found due) pairs."""
    try:
        with db.session.begin_nested(), db.session.no_autoflush:
            for case, version in items:
                if case.version != int(version):
                    raise ChangedMeanwhile(current_version=case.version)
                t = wf.find(case.kind, case.status, action, {as_}, office_kind=case.current_office.kind,
                            facts=wf.facts_of(case))
                if t.needs_text:  # the same guards as act(); no text or target to give here
                    raise MissingInput(field="text")
                _check_target(case, t, None, None)
                _apply(case, t, now=now, actor=None, as_=as_, text="", target_office=None,
                       target_user=None, data={}, flush=False)
            db.session.flush()
    except (WorkflowError, StaleDataError) as exc:
        raise BatchRefused() from exc
    return len(items)


class BatchRefused(Exception):
    """`act_many` could not apply the action to every case of the batch; nothing was kept."""


def _check_target(case: Case, t: wf.Transition, office: OrgUnit | None, user: User | None) -> None:
    if t.needs == "office":
        if office is None:
            raise MissingInput(field="office")
        if (not office.active or office.kind == "external" or office.id == case.current_office_id):
            raise BadTarget(field="office")
    if t.needs == "external":
        if office is None:
            raise MissingInput(field="office")
        if office.kind != "external" or not office.active:
            raise BadTarget(field="office")
    if t.needs == "user":
        if user is None:
            raise MissingInput(field="user")
        if not user.active or user.office_id != case.current_office_id or user.id == case.assignee_id:
            raise BadTarget(field="user")


def event_fields(case_id: int, status: str, t: wf.Transition, *, now, actor=None, as_=wf.SYSTEM,
                 text: str = "", data: dict | None = None) -> dict:
    """The timeline row of taking `t` on a case in `status` (before its effects add
    offices or users): one definition for the per-case and the set-based paths."""
    return dict(
        case_id=case_id, at=now, type=t.action,
        actor_id=actor.id if (actor is not None and as_ in ("user", wf.REQUESTER)) else None,
        actor_kind={"user": "user", wf.REQUESTER: "requester", wf.SYSTEM: "system",
                    wf.PARTNER: "partner"}.get(as_, "user"),
        public=t.public, text=text, from_status=status, to_status=t.target or status,
        # The fact its row required names the action on the timeline as on the button
        # (a helpdesk ticket resolved or escalated by the desk, L1).
        data={**(data or {}), **({"requires": t.requires} if t.requires else {})},
    )


def _apply(case: Case, t: wf.Transition, *, now, actor, as_, text, target_office, target_user,
           data, flush: bool = True) -> CaseEvent:
    event = CaseEvent(**event_fields(case.id, case.status, t, now=now, actor=actor, as_=as_,
                                     text=text, data=data))
    if as_ == "user" and actor is not None and wf.REQUESTER in access.relations(actor, case) \
            and t.who == frozenset({wf.REQUESTER}):
        event.actor_kind = "requester"
    notify_after: list[str] = []
    for effect in t.effects:
        if effect == "assign_actor":
            case.assignee_id = actor.id if actor else None
            event.to_user_id = case.assignee_id
        elif effect == "assign_target":
            case.assignee_id = target_user.id
            event.to_user_id = target_user.id
        elif effect == "move_to_target":
            event.from_office_id, event.to_office_id = case.current_office_id, target_office.id
            case.current_office_id = target_office.id
            case.current_office = target_office  # its messages name the new office
        elif effect in effects.ROUTING_EFFECTS:
            exclude = routing.escalation_exclude(case, actor)
            target = routing.escalation_target(case, exclude=exclude)
            if target is None:
                raise InvalidTransition("no higher level", action=t.action)
            columns, moved = effects.escalation(case, target, escalation_reach(case, target, exclude))
            event.from_office_id, event.to_office_id = moved["from_office_id"], moved["to_office_id"]
            event.data.update(moved["data"])
            for column, value in columns.items():
                setattr(case, column, value)
            case.current_office = target  # its messages name the new office
        elif effect == "escalate_path":
            _escalate_path(case, event)
        elif effect == "classify":
            _classify(case, event, data, now)
        elif effect == "set_external":
            case.external_office_id = target_office.id
            event.to_office_id = target_office.id
        elif effect in effects.COLUMN_EFFECTS:
            for column, value in effects.column_changes(effect, case, t, now).items():
                setattr(case, column, value)
        elif effect == "feedback":
            _add_feedback(case, data, now)
        elif effect.startswith("notify_"):
            notify_after.append(effect)
        else:  # pragma: no cover - a typo in the table must fail loudly
            raise RuntimeError(f"unknown effect {effect}")
    case.status = t.target or case.status
    case.updated_at = now
    db.session.add(event)
    if flush:
        db.session.flush()  # the versioned UPDATE runs here: a concurrent change fails now
    for effect in notify_after:
        _notify(effect, case, t, event, now, target_user)
    return event


def _escalate_path(case: Case, event: CaseEvent) -> None:
    """A helpdesk ticket leaves L1 for the team of its category's escalation path."""
    target = routing.helpdesk_path(case)
    if target is None:
        raise BadTarget("the category has no escalation path", field="path")
    level = case.escalation_level + 1
    event.from_office_id, event.to_office_id = case.current_office_id, target.id
    event.data.update({"level": level, "path": True})
    case.current_office_id = target.id
    case.current_office = target  # its messages name the new office
    case.escalation_level = level
    case.data = {**(case.data or {}), "routed_to": target.id}


def _classify(case: Case, event: CaseEvent, data: dict, now: datetime) -> None:
    """L1 (re)classifies a ticket it holds: category, classification and priority (an
    e-mailed ticket arrives without them). A new priority recomputes the due times from
    when L1 got the ticket. The values were checked by `app.services.front_doors.helpdesk`."""
    before = {"category_id": case.category_id, "classification": case.classification,
              "priority": case.priority}
    for key in before:
        if data.get(key) is not None:
            setattr(case, key, data[key])
    if case.priority != before["priority"]:
        case.response_due, case.resolution_due = sla.due_times(case.kind, case.priority, case.created_at)
    event.data.update({"before": before, "after": {k: getattr(case, k) for k in before}})


def escalation_reach(case, target, exclude, supervisors: dict | None = None) -> tuple:
    """The supervisors an escalation of `case` to `target` goes to when it stays in the
    office holding it (level 1 of a complaint or helpdesk case, or the top of the chain);
    empty when it moves to another office, whose staff are told."""
    if kinds.get(case.kind).routing == kinds.CLIMB or target.id != case.current_office_id:
        return ()
    return routing.escalation_supervisors(target, exclude, supervisors)


def _add_feedback(case: Case, data: dict, now: datetime) -> None:
    if db.session.scalar(select(Feedback.id).where(Feedback.case_id == case.id)) is not None:
        raise AlreadyDone(field="rating")
    try:
        rating = int(data.get("rating"))
    except (TypeError, ValueError):
        raise MissingInput(field="rating") from None
    if not 1 <= rating <= 5:
        raise MissingInput(field="rating")
    db.session.add(Feedback(case_id=case.id, rating=rating,
                            comment=(data.get("comment") or "").strip()[:2000], created_at=now))


def _respond_link() -> frozenset:
    """Messages whose link, for a requester without an account, is the signed answer
    page: every kind's templates of `kinds.RESPOND_EVENTS`."""
    found = _RESPOND_LINK.get(kinds.generation())
    if found is None:
        _RESPOND_LINK.clear()
        found = _RESPOND_LINK[kinds.generation()] = frozenset(
            k.template(e) for k in kinds.all() for e in kinds.RESPOND_EVENTS)
    return found


_RESPOND_LINK: dict[int, frozenset] = {}
# The requester's message of these actions is the event's (`CaseKind.template`).
_ACTION_EVENTS = {"propose_resolution": "confirmation", "request_info": "info"}


def requester_template(kind: str, t: wf.Transition) -> str:
    """The message the requester of a `kind` case gets for transition `t`: the kind's
    template for the action when it names one (a doorstep request's "complete"), else
    the one of the event (`CaseKind.template`). The closure message of each kind invites
    a rating only where the kind has one that the message's link leads to (a
    complaint's signed link; a doorstep request's is "service_completed")."""
    entry = kinds.get(kind)
    if t.action in entry.templates:
        return entry.templates[t.action]
    if t.action in _ACTION_EVENTS:
        return entry.template(_ACTION_EVENTS[t.action])
    if t.target == wf.CLOSED:
        return entry.template("closed")
    return entry.template("updated")


def _notify(effect: str, case: Case, t: wf.Transition, event: CaseEvent, now, target_user) -> None:
    if effect == "notify_requester":
        template = requester_template(case.kind, t)
        for email, mobile, locale in notify.requester_contacts(case):
            ctx = notify.case_context(case, locale)
            if template == "service_completed":
                # "Rate us": the signed link opens the rating form (no one-time code needed)
                ctx["url"] = notify.rate_url(case)
            # A requester without an account (a customer, a caller) answers through a
            # signed link, also when an employee registered the case for them.
            elif template in _respond_link() and (
                    case.raised_by_id is None or case.requester_mobile or case.requester_email):
                ctx["url"] = notify.respond_url(case, "respond")
            notify.enqueue(template, email=email, mobile=mobile, locale=locale, case=case, now=now,
                           text=event.text, priority=notify.PRIORITY_WAITING, **ctx)
    elif effect == "notify_office":
        reached = (event.data or {}).get("supervisors") if t.action in _ESCALATIONS else None
        if reached:  # an escalation that stays in the office: its supervisors, not everyone
            for email, locale in notify.user_contacts(reached):
                notify.enqueue(kinds.get(case.kind).template("received"), email=email, locale=locale, case=case, now=now,
                               text=event.text, priority=notify.PRIORITY_NORMAL,
                               **notify.case_context(case, locale, public=False))
        else:
            _notify_office(case, case.current_office_id, now, text=event.text)
    elif effect == "notify_assignee" and target_user is not None:
        _notify_user(case, target_user, kinds.get(case.kind).template("assigned"), now, text=event.text)
    elif effect == "notify_handlers":
        answered = kinds.get(case.kind).template("answered")
        if case.assignee is not None:
            _notify_user(case, case.assignee, answered, now, text=event.text)
        else:  # nobody named: the office — its shared address, if it has one (never a digest)
            for email, mobile, locale in notify.office_recipients(case.current_office_id):
                notify.enqueue(answered, email=email, mobile=mobile, locale=locale,
                               case=case, now=now, text=event.text,
                               **notify.case_context(case, locale, public=False))


# Actions whose routing effect may keep the case in its office (`escalation_reach`).
_ESCALATIONS = frozenset(t.action for t in wf.TRANSITIONS
                         if any(e in effects.ROUTING_EFFECTS for e in t.effects))


def _notify_office(case: Case, office_id: int, now: datetime, text: str | None = "") -> None:
    """The office's new-case notice, as OFFICE_NOTICE_MODE says (`notify.notify_office`)."""
    notify.notify_office(case, office_id, kinds.get(case.kind).template("received"), now, text=text)


def _notify_user(case: Case, user: User, template: str, now: datetime, text: str | None = "") -> None:
    """`text` None: the case's subject in the user's language."""
    email, mobile, locale = notify.user_contact(user)
    ctx = notify.case_context(case, locale, public=False)
    notify.enqueue(template, email=email, mobile=None, locale=locale, case=case, now=now,
                   text=ctx["subject"] if text is None else text, **ctx)


def available_actions(user: User | None, case: Case) -> list[wf.Transition]:
    """What `user` may do on `case` now (for rendering the action forms)."""
    return wf.available(case.kind, case.status, access.relations(user, case),
                        office_kind=case.current_office.kind, facts=wf.facts_of(case))
