"""Cases of every kind, their append-only timeline, attachments and feedback."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, literal_column, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.extensions import db
from app.models.catalog import PincodeEntry
from app.models.org import OrgUnit, User


class Case(db.Model):
    """One row per case, whatever its kind. Only `app.services.engine.cases` changes `status`,
    `current_office_id`, `assignee_id` and the due times."""

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    # The tally key (kind, status, category, priority, office, breached) keeps its old value
    # on change (active_history), so `app.services.read_models.tallies` can move the case's count.
    kind: Mapped[str] = mapped_column(String(20), active_history=True)
    status: Mapped[str] = mapped_column(String(24), active_history=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), active_history=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(2), default="P3", active_history=True)
    channel: Mapped[str] = mapped_column(String(12), default="web")
    classification: Mapped[str | None] = mapped_column(String(20))

    # Requester contact (citizen/customer, or the caller of a helpdesk case)
    requester_name: Mapped[str | None] = mapped_column(String(120))
    requester_mobile: Mapped[str | None] = mapped_column(String(16), index=True)
    requester_email: Mapped[str | None] = mapped_column(String(200))
    requester_address: Mapped[str | None] = mapped_column(Text)
    pincode: Mapped[str | None] = mapped_column(String(6))

    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    raising_office_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    current_office_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), active_history=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    external_office_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    related_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    # Possible repeat (issue 27): the earlier case this one refers to, or an earlier case
    # from the same mobile about the same service within REPEAT_DAYS; set when raised
    # (`app.services.engine.flow`). Counted by the league table, shown to staff on the case. No
    # foreign key: a plain column keeps the migration an ALTER TABLE ADD COLUMN on SQLite.
    repeat_of_id: Mapped[int | None] = mapped_column(active_history=True)

    escalation_level: Mapped[int] = mapped_column(default=0)
    resolution: Mapped[str | None] = mapped_column(String(24))

    # Timers (UTC, naive)
    response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    confirmation_due: Mapped[datetime | None]
    info_due: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    sla_breached: Mapped[bool] = mapped_column(default=False, active_history=True)

    # Two clocks: time waiting on others is kept apart from our own time.
    paused_since: Mapped[datetime | None]
    paused_for: Mapped[str | None] = mapped_column(String(12))  # external | customer
    external_seconds: Mapped[int] = mapped_column(default=0)
    customer_seconds: Mapped[int] = mapped_column(default=0)

    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # Random token carried by the form that raised the case: a resubmission finds the
    # case already made instead of creating a second one.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    version: Mapped[int] = mapped_column(default=1)
    # active_history: the per-day counters (`CaseDayTally`) move with these too.
    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow, active_history=True)
    updated_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(active_history=True)

    __mapper_args__ = {"version_id_col": version}

    category = relationship("Category")
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    raising_office: Mapped[OrgUnit | None] = relationship(foreign_keys=[raising_office_id])
    current_office: Mapped[OrgUnit] = relationship(foreign_keys=[current_office_id])
    external_office: Mapped[OrgUnit | None] = relationship(foreign_keys=[external_office_id])
    related_case: Mapped[Case | None] = relationship(remote_side=[id], foreign_keys=[related_case_id])
    repeat_of: Mapped[Case | None] = relationship(
        primaryjoin="foreign(Case.repeat_of_id) == remote(Case.id)", viewonly=True)
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", lazy="select"
    )
    attachments: Mapped[list[Attachment]] = relationship(back_populates="case")

    def __repr__(self) -> str:
        return f"<Case {self.reference} {self.kind} {self.status}>"

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"

    def subject_label(self, locale: str | None = None) -> str:
        """What the case is about: the subject as someone typed it, else (a case whose
        subject is its catalogue row: a doorstep service, a complaint's type, a
        department's request subject) the category's name in `locale`. The name is never
        copied into `subject` (issue 25): it follows the reader's language."""
        if self.subject:
            return self.subject
        return self.category.label(locale) if self.category is not None else ""


# The post office of the case's pincode (the directory's name; None for a pincode the
# directory lacks): the case page reads it with the case itself (`undefer`), one statement
# and no reference-data lookup; deferred, so no other query pays for it.
Case.pincode_office = column_property(
    select(PincodeEntry.office_name).where(PincodeEntry.pincode == Case.pincode)
    .correlate_except(PincodeEntry).scalar_subquery(),
    deferred=True)


# Columns that are mostly empty — the e-mail address (repeats at intake, issue 27; the
# mobile has its own index), the case one possibly repeats, the case a complaint refers
# to, the employee who raised it ("My interactions") — are indexed only where they have a
# value: SQLite's statistics count the NULLs as one value shared by every such row and
# judge an index over them useless (a scan of every case on each raise and each case page,
# 2.6 s at a million); `column = value` implies the predicate, so both databases use them.
for _column in (Case.requester_email, Case.repeat_of_id, Case.related_case_id, Case.raised_by_id):
    Index(f"ix_case_{_column.key}", _column, sqlite_where=_column.isnot(None), postgresql_where=_column.isnot(None))
# The queue search's `pincode = q` (issue 28): every branch of its OR has an index, so
# PostgreSQL combines them (BitmapOr) instead of reading the whole table. The search's
# full-text and trigram indexes are app/models/search.py's (not in the metadata).
Index("ix_case_pincode", Case.pincode)
Index("ix_case_office_status_created", Case.current_office_id, Case.status, Case.created_at)
Index("ix_case_kind_status_created", Case.kind, Case.status, Case.created_at)
# "Not closed": the predicate of the partial indexes below, and the term the queries that
# read them carry (office queues, timer sweep). A constant, not a bound parameter: SQLite
# uses a partial index only when the query's WHERE (each branch of an OR) carries its
# terms, and PostgreSQL's plan for a prepared statement cannot prove it from a parameter.
NOT_CLOSED = Case.status != literal_column("'closed'")

# The timer sweep's rules (issue 11): partial, so a case leaves them when it closes (or
# its timer is cleared) instead of being moved inside each of them on every change, and
# they hold the working backlog rather than every case ever raised.
Index("ix_case_status_confirmation_due", Case.status, Case.confirmation_due,
      postgresql_where=Case.confirmation_due.is_not(None), sqlite_where=Case.confirmation_due.is_not(None))
Index("ix_case_status_info_due", Case.status, Case.info_due,
      postgresql_where=Case.info_due.is_not(None), sqlite_where=Case.info_due.is_not(None))
Index("ix_case_status_response_due", Case.status, Case.response_due,
      postgresql_where=NOT_CLOSED, sqlite_where=NOT_CLOSED)
Index("ix_case_status_resolution_due", Case.status, Case.resolution_due,
      postgresql_where=NOT_CLOSED, sqlite_where=NOT_CLOSED)
# Dashboard (issue 11): the recent cases of the offices in scope (ageing, trend) and what
# they closed lately (closed today, trend) are index range scans per office.
Index("ix_case_office_created", Case.current_office_id, Case.created_at)
Index("ix_case_office_closed", Case.current_office_id, Case.closed_at)
# Office queues (cases not closed, newest first, keyset on (created_at, id)): a partial
# index holds only the working backlog, so a queue page reads its 50 rows in order.
Index("ix_case_office_active", Case.current_office_id, Case.created_at, Case.id,
      postgresql_where=NOT_CLOSED, sqlite_where=NOT_CLOSED)
# Search by a catalogue row's name (a case whose subject is its category keeps no copy):
# the few matching category ids, then their cases.
Index("ix_case_category", Case.category_id)
# Monitoring dashboard (issue 12): covers every column its aggregates read, so they are
# index-only scans of the offices in scope; ordered so that GROUP BY (office, kind,
# category) streams in index order without a sort.
Index("ix_case_dashboard", Case.current_office_id, Case.kind, Case.category_id, Case.status,
      Case.created_at, Case.closed_at, Case.sla_breached, Case.priority, Case.id)


class CaseEvent(db.Model):
    """Append-only timeline row: who did what, when, from/to where, with which text."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
    type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_kind: Mapped[str] = mapped_column(String(12), default="user")  # user|requester|system|partner
    public: Mapped[bool] = mapped_column(default=True)
    text: Mapped[str] = mapped_column(Text, default="")
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    from_office_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    to_office_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    from_office: Mapped[OrgUnit | None] = relationship(foreign_keys=[from_office_id])
    to_office: Mapped[OrgUnit | None] = relationship(foreign_keys=[to_office_id])
    to_user: Mapped[User | None] = relationship(foreign_keys=[to_user_id])
    attachments: Mapped[list[Attachment]] = relationship(back_populates="event")


class Attachment(db.Model):
    """A file kept in the upload store (`instance/uploads/` or an object store, see
    app/storage.py) by a random name; served only after an access check."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)

    case: Mapped[Case] = relationship(back_populates="attachments")
    event: Mapped[CaseEvent | None] = relationship(back_populates="attachments")


class Feedback(db.Model):
    """The requester's rating of a closed case: one per case."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)

    case: Mapped[Case] = relationship()


# Monitoring dashboard (issue 12): the average rating of a subtree reads only this index.
Index("ix_feedback_case_rating", Feedback.case_id, Feedback.rating)


class CaseTally(db.Model):
    """Maintained counters for the dashboards: how many cases, and their ratings, per
    (holding office, kind, category, priority, status, breached). Kept in step with
    `case` by `app.services.read_models.tallies` in the same transaction as every change, so a
    dashboard reads a few thousand rows instead of scanning a million cases.
    `category_id` 0 stands for "no category" (a key column cannot be NULL)."""

    __tablename__ = "case_tally"

    office_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    priority: Mapped[str] = mapped_column(String(2), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), primary_key=True)
    breached: Mapped[bool] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
    rating_sum: Mapped[int] = mapped_column(default=0)
    rating_n: Mapped[int] = mapped_column(default=0)


class CaseDayTally(db.Model):
    """Maintained per-day counters for the dashboards' trend and "closed today": per
    (holding office, local calendar day, kind), how many of the cases now held there were
    raised on that day (`raised`) and how many closed cases were closed on it (`closed`).
    Days are calendar days in `BABEL_DEFAULT_TIMEZONE` (`flask tallies --rebuild` after
    changing it). Kept by `app.services.read_models.tallies` in the same transaction as every change,
    like `CaseTally`, so a 30-day trend reads at most offices x kinds x 30 rows whatever
    the number of cases."""

    __tablename__ = "case_day_tally"

    office_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    raised: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)


class CaseFlowTally(db.Model):
    """Maintained counters for the league table, the heat table and the weekly SLA
    compliance (issue 27): per (office, local calendar day, kind, category), of the cases
    now held in the office's subtree (each case counts for its holding office and every
    office above it, so a league reads a few rows per office one level down), those raised on that day (`raised`, of which `repeats`
    possible repeats) and those closed on it (`closed`, of which `closed_in_sla` closed
    without an SLA breach; their time with us and with external authorities, in seconds;
    their ratings). `rejections` counts the requesters' rejections of a proposed
    resolution on that day (an event: it stays with the office that held the case then).
    Kept by `app.services.engine.flow` in the same transaction as every change, like
    `CaseDayTally`; `category_id` 0 stands for "no category"."""

    __tablename__ = "case_flow_tally"

    office_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    raised: Mapped[int] = mapped_column(default=0)
    repeats: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    closed_in_sla: Mapped[int] = mapped_column(default=0)
    own_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    external_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    rejections: Mapped[int] = mapped_column(default=0)
    rating_sum: Mapped[int] = mapped_column(default=0)
    rating_n: Mapped[int] = mapped_column(default=0)



class CaseDisposalTally(db.Model):
    """Maintained histogram of disposal times (issue 27): per (holding office, local day
    of closing, whole business days from raising to closing), how many of the closed
    cases now held there. Medians and 90th percentiles are read off it exactly, from a
    few rows per office instead of every closed case. Kept, like `CaseFlowTally`, for the
    holding office and every office above it."""

    __tablename__ = "case_disposal_tally"

    office_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(primary_key=True)
    days: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(default=0)



class BacklogSnapshot(db.Model):
    """Cases not closed, and of them pending beyond their SLA, per office at the start
    of a local day (offices with none are left out), written by the scheduler once a
    day (`app.services.read_models.summary.snapshot`): what "pending beyond SLA" now is compared
    with (a count of now has no history of its own)."""

    __tablename__ = "backlog_snapshot"

    office_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(primary_key=True)
    active: Mapped[int] = mapped_column(default=0)
    breached: Mapped[int] = mapped_column(default=0)


class WeeklySummary(db.Model):
    """One row per (head, week) whose summary was queued: the weekly job sends each
    head's summary once, however often it runs."""

    __tablename__ = "weekly_summary"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    week: Mapped[date] = mapped_column(primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"))
    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
