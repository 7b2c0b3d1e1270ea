"""Bulk data for benchmarks: the demo office tree plus N cases (about five timeline rows
each, some attachment metadata) spread over offices, kinds, states and two years,
written with multi-row INSERTs in batches — minutes for a million, not hours."""

from __future__ import annotations

import random
import secrets
import time
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text

from app.domain import workflow as wf
from app.domain.references import make_reference
from app.extensions import db
from app.models import Attachment, Case, CaseEvent, Category, OrgUnit, PincodeEntry, User

BATCH = 5000
KIND_WEIGHTS = [(wf.SERVICE_REQUEST, 30), (wf.COMPLAINT, 35), (wf.OFFICE_TICKET, 15),
                (wf.INTERACTION, 10), (wf.HELPDESK, 10)]
STATE_WEIGHTS = [(wf.CLOSED, 70), (wf.OPEN, 8), (wf.IN_PROGRESS, 12), (wf.AWAITING_CONFIRMATION, 4),
                 (wf.AWAITING_INFO, 2), (wf.PENDING_EXTERNAL, 4)]
OLD_DAYS = 45
STUCK_SHARE = 0.005
VALID = {
    wf.SERVICE_REQUEST: {wf.CLOSED, wf.OPEN, wf.IN_PROGRESS},
    wf.OFFICE_TICKET: {wf.CLOSED, wf.OPEN, wf.IN_PROGRESS},
    wf.COMPLAINT: set(wf.STATES),
    wf.INTERACTION: {wf.CLOSED, wf.OPEN, wf.IN_PROGRESS, wf.AWAITING_CONFIRMATION, wf.AWAITING_INFO},
    wf.HELPDESK: {wf.CLOSED, wf.OPEN, wf.IN_PROGRESS, wf.AWAITING_CONFIRMATION},
}


def _took(age_days: float) -> float:
    """Days from raising to closing: half a day to nine, never later than now."""
    took = random.uniform(0.5, 9)
    return took if took < age_days else age_days * random.random()


def _pick(weighted):
    total = sum(w for _, w in weighted)
    r = random.uniform(0, total)
    for item, w in weighted:
        r -= w
        if r <= 0:
            return item
    return weighted[-1][0]


def generate(n_cases: int, now: datetime | None = None, seed: int = 7, due_confirmations: int = 0,
             echo=print) -> dict:
    """Add `n_cases` cases (the office tree must exist: run the demo loader first).
    `due_confirmations` of them are left awaiting confirmation with the deadline passed,
    for timing the sweep."""
    random.seed(seed)
    now = now or datetime.utcnow()
    t0 = time.perf_counter()
    offices = {k: list(db.session.scalars(select(OrgUnit).where(OrgUnit.kind == k)))
               for k in ("division", "head_office", "sub_office", "department", "team", "region", "circle")}
    post_offices = offices["head_office"] + offices["sub_office"]
    users_by_office: dict[int, list[int]] = {}
    for uid, oid in db.session.execute(select(User.id, User.office_id)):
        users_by_office.setdefault(oid, []).append(uid)
    cats = {k: list(db.session.scalars(select(Category.id).where(Category.kind == k))) for k in wf.KINDS}
    pins = list(db.session.scalars(select(PincodeEntry.pincode)))
    externals = list(db.session.scalars(select(OrgUnit.id).where(OrgUnit.kind == "external")))
    division_of = {o.id: (o.ancestor_of_kind("division") or o).id for o in post_offices}
    start_id = (db.session.scalar(select(func.max(Case.id))) or 0) + 1
    next_event_id = (db.session.scalar(select(func.max(CaseEvent.id))) or 0) + 1
    seen_refs: set[str] = set()
    made = events_made = 0
    case_rows, event_rows, att_rows = [], [], []

    def flush():
        nonlocal case_rows, event_rows, att_rows
        if case_rows:
            db.session.execute(insert(Case), case_rows)
        if event_rows:
            db.session.execute(insert(CaseEvent), event_rows)
        if att_rows:
            db.session.execute(insert(Attachment), att_rows)
        db.session.commit()
        case_rows, event_rows, att_rows = [], [], []

    # Raised evenly over two years (about 1,400 a day for a million), oldest first: ids
    # grow with time as they do when people raise cases (the monthly partitions of
    # PostgreSQL are ranges of ids).
    ages = sorted((random.uniform(0, 730) for _ in range(n_cases)), reverse=True)
    event_counts = [random.randint(3, 7) for _ in range(n_cases)]
    lay_out_partitions(now, ages, event_counts, start_id, next_event_id)
    for i in range(n_cases):
        cid = start_id + i
        kind = _pick(KIND_WEIGHTS)
        age_days = ages[i]
        created = now - timedelta(days=age_days)
        # A real backlog is young: cases older than OLD_DAYS are closed but for a few
        # stuck ones; younger ones are spread over every state.
        if age_days > OLD_DAYS and random.random() > STUCK_SHARE:
            state = wf.CLOSED
        else:
            state = _pick(STATE_WEIGHTS)
        if state not in VALID[kind]:
            state = wf.CLOSED
        if i < due_confirmations:
            kind, state = wf.COMPLAINT, wf.AWAITING_CONFIRMATION
        if kind in (wf.SERVICE_REQUEST, wf.OFFICE_TICKET):
            raising = random.choice(post_offices)
            office_id = division_of[raising.id]
            raising_id = raising.id
        elif kind == wf.COMPLAINT:
            raising = random.choice(post_offices)
            office_id = raising_id = raising.id
        elif kind == wf.INTERACTION:
            office_id = random.choice(offices["department"]).id
            raising_id = random.choice(offices["division"]).id
        else:
            office_id = random.choice(offices["team"]).id
            raising_id = office_id
        while True:
            ref = make_reference(kind, created)
            if ref not in seen_refs:
                seen_refs.add(ref)
                break
        closed = state == wf.CLOSED
        handlers = users_by_office.get(office_id) or [None]
        assignee = random.choice(handlers) if state != wf.OPEN else None
        confirmation_due = None
        if state == wf.AWAITING_CONFIRMATION:
            confirmation_due = now - timedelta(hours=1) if i < due_confirmations else now + timedelta(hours=40)
        resp_due = created + timedelta(days=2)
        case_rows.append({
            "id": cid, "reference": ref, "kind": kind, "status": state,
            "category_id": random.choice(cats[kind]) if cats[kind] else None,
            "subject": f"Benchmark case {cid}", "description": "Generated for the benchmark.",
            "priority": random.choice(["P1", "P2", "P3", "P3", "P4"]), "channel": "web",
            "requester_name": f"Citizen {cid}", "requester_mobile": f"9{cid % 1000000000:09d}",
            "requester_email": None, "pincode": random.choice(pins) if pins else None,
            "raised_by_id": None, "raising_office_id": raising_id, "current_office_id": office_id,
            "assignee_id": assignee, "external_office_id": random.choice(externals)
            if state == wf.PENDING_EXTERNAL and externals else None,
            "escalation_level": 1 if random.random() < 0.05 else 0,
            "resolution": "resolved" if closed else None,
            "response_due": resp_due, "resolution_due": created + timedelta(days=7),
            "confirmation_due": confirmation_due, "info_due": now + timedelta(days=5)
            if state == wf.AWAITING_INFO else None,
            "first_response_at": None if state == wf.OPEN else min(created + timedelta(hours=6), now),
            "sla_breached": random.random() < 0.1, "external_seconds": 0, "customer_seconds": 0,
            "data": {}, "version": 1, "created_at": created, "updated_at": created,
            "closed_at": created + timedelta(days=_took(age_days)) if closed else None,
        })
        n_events = event_counts[i]
        for e in range(n_events):
            event_rows.append({
                "id": next_event_id + e,
                "case_id": cid, "at": min(created + timedelta(hours=6 * e), now), "type": "created" if e == 0 else
                random.choice(["reply", "note", "start", "assign"]), "actor_id": None,
                "actor_kind": "requester" if e == 0 else "user", "public": e % 3 != 1,
                "text": "Benchmark event.", "from_status": None, "to_status": state,
                "from_office_id": None, "to_office_id": office_id, "to_user_id": None, "data": {},
            })
        events_made += n_events
        if random.random() < 0.1:
            # uploaded with the case: linked to its "created" event, as the forms do
            att_rows.append({"case_id": cid, "event_id": next_event_id, "original_name": "receipt.jpg",
                             "stored_name": f"bench-{cid}-{secrets.token_hex(4)}.jpg",
                             "content_type": "image/jpeg", "size": random.randint(20_000, 200_000),
                             "sha256": "0" * 64, "uploaded_by_id": None, "created_at": created})
        next_event_id += n_events
        made += 1
        if len(case_rows) >= BATCH:
            flush()
            if made % 100_000 == 0:
                echo(f"  {made:,} cases, {events_made:,} events ({time.perf_counter() - t0:.0f} s)")
    flush()
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        # Keep the id sequences ahead of the explicit ids used above.
        for table in ("case", "case_event", "attachment"):
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))"))
        db.session.commit()
    return {"cases": made, "events": events_made, "seconds": round(time.perf_counter() - t0, 1)}


def lay_out_partitions(now: datetime, ages: list[float], event_counts: list[int], first_case: int,
                       first_event: int) -> None:
    """PostgreSQL with monthly partitions: room for the ids about to be written. Into
    empty tables, a partition per month of the generated rows (as the migration would
    have split them, had they been raised over two years); after existing rows, partitions
    for this month until every new id has one."""
    from app.services.infrastructure import partitions

    conn = db.session.connection()
    if not partitions.is_partitioned(conn, "case"):
        return
    starts: dict[tuple[int, int], tuple[int, int]] = {}  # month: (its first case id, first event id)
    case_id, event_id = first_case, first_event
    for age, n_events in zip(ages, event_counts, strict=True):
        created = now - timedelta(days=age)
        starts.setdefault((created.year, created.month), (case_id, event_id))
        case_id, event_id = case_id + 1, event_id + n_events
    for column, (table, last) in enumerate((("case", case_id), ("case_event", event_id))):
        step = partitions.ids_per_partition(table)
        parts = partitions.layout(conn, table)
        empty = conn.execute(text(f'SELECT NOT EXISTS (SELECT 1 FROM "{table}")')).scalar()
        if empty and starts:
            for p in parts:  # (foreign keys point at a partition until it is detached)
                conn.execute(text(f'ALTER TABLE "{table}" DETACH PARTITION "{p.name}"'))
                conn.execute(text(f'DROP TABLE "{p.name}"'))
            months = sorted(starts)
            for k, month in enumerate(months):
                low = None if k == 0 else starts[month][column]
                high = starts[months[k + 1]][column] if k + 1 < len(months) else last + step
                partitions.create_partition(conn, table, partitions.partition_name(table, month, set()), low, high)
        else:
            taken = {p.name for p in parts}
            high = parts[-1].high
            while high is not None and high <= last:
                name = partitions.partition_name(table, (now.year, now.month), taken)
                partitions.create_partition(conn, table, name, high, high + step)
                taken.add(name)
                high += step
    db.session.commit()


def analyze() -> None:
    """Fresh planner statistics; on PostgreSQL also VACUUM, which sets the visibility map
    that index-only scans need (autovacuum would get there later on a live system)."""
    from sqlalchemy import text

    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ('"case"', "case_event", "case_tally", "case_day_tally", "feedback", "attachment"):
                conn.execute(text(f"VACUUM ANALYZE {table}"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
