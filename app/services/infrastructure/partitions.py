"""Monthly partitions of `case` and `case_event` on PostgreSQL (the migration `f2b4d6a8c0e1`
builds them; this module keeps them coming).

Each table is partitioned by RANGE of its `id`, one partition per month: ids grow with
time, so a month's rows are a range of ids, and every foreign key still points at the one
column `id` (PostgreSQL requires a partitioned table's unique keys to contain the partition
key: partitioning by `created_at` would put it in the primary key of `case` and in the ten
foreign keys that point at it). A partition is named after the month it was opened in
(`case_y2026m12`; `case_y2026m12_2` when a month outgrows its first one) and spans
`PARTITION_IDS` ids of its table.

`maintain` (a scheduler job, idempotent) does two things:

* **Opens the month.** At its first run in a new month it creates that month's partition
  after the last one and moves the table's id sequence to its first id, so the month's
  rows start there. Rows raised in the minutes between midnight and that run still go to
  the last month's partition: a partition is a month to within the job's interval.
* **Keeps headroom.** When fewer than half a partition's ids are left above the sequence,
  it adds another partition for the month, so an insert never finds no partition (it
  would fail: there is deliberately no default partition, whose rows would block every
  later partition of their range).

Unique keys within a partition: `case.reference` and `case.submission_key` are unique in
each partition (local unique indexes, made with the partition). A reference carries the
month it was raised in and is drawn from 34 billion per kind and month after a check that
it is new, so two cases cannot get one reference in practice; a form submitted twice at
once lands in one partition and is answered once.

An old month can be detached (`ALTER TABLE "case" DETACH PARTITION case_y2025m01`) once no
row elsewhere points at its cases (docs/deploy.md); nothing here does it. On SQLite every
function here does nothing."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models.migration_owned import PARTITION, PARTITION_LOCAL_UNIQUE

log = logging.getLogger("sevadesk.partitions")

TABLES = ("case", "case_event")
LOCK_TIMEOUT = "2s"
LOCK_NOT_AVAILABLE = "55P03"
# The unique keys each new partition of a table gets as local unique indexes.
LOCAL_UNIQUE = PARTITION_LOCAL_UNIQUE
DEFAULT_IDS = {"case": 1_000_000, "case_event": 5_000_000}
_BOUND = re.compile(r"FROM \((MINVALUE|'?-?\d+'?)\) TO \((MAXVALUE|'?-?\d+'?)\)")


@dataclass(frozen=True)
class Partition:
    name: str
    low: int | None  # None: MINVALUE
    high: int | None  # None: MAXVALUE

    @property
    def month(self) -> tuple[int, int] | None:
        m = PARTITION.match(self.name)
        return (int(m.group(2)), int(m.group(3))) if m else None


def ids_per_partition(table: str) -> int:
    return int(current_app.config.get("PARTITION_IDS", {}).get(table) or DEFAULT_IDS[table])


def _bound(value: str) -> int | None:
    return None if value.endswith("VALUE") else int(value.strip("'"))


def is_partitioned(conn, table: str) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.execute(text(
        "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = :t AND c.relnamespace = current_schema()::regnamespace"), {"t": table}).first())


def layout(conn, table: str) -> list[Partition]:
    """The partitions of `table`, lowest ids first ([] when it is not partitioned)."""
    if not is_partitioned(conn, table):
        return []
    rows = conn.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relname = :t AND p.relnamespace = current_schema()::regnamespace"), {"t": table}).all()
    out = []
    for name, bound in rows:
        m = _BOUND.search(bound)
        if m:
            out.append(Partition(name, _bound(m.group(1)), _bound(m.group(2))))
    return sorted(out, key=lambda p: -(2**63) if p.low is None else p.low)


def next_id(conn, table: str) -> int:
    """The id the table's sequence hands out next (without taking it)."""
    sequence = _sequence(conn, table)  # a name from the catalogue
    last, called = conn.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()  # noqa: S608
    return last + 1 if called else last


def _sequence(conn, table: str) -> str:
    return conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": f'"{table}"'}).scalar_one()


def partition_name(table: str, month: tuple[int, int], taken: set[str]) -> str:
    """`case_y2026m12`, or with `_2`, `_3` … when the month has partitions already."""
    base = f"{table}_y{month[0]:04d}m{month[1]:02d}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def create_partition(conn, table: str, name: str, low: int | None, high: int) -> None:
    """One partition of `table` for ids [low, high) with the table's local unique indexes.
    Made as a table of its own and then attached: attaching locks the parent against other
    schema changes only (`CREATE TABLE … PARTITION OF` would lock out every reader and
    writer of the cases while it waited for its lock)."""
    low_sql = "MINVALUE" if low is None else str(int(low))
    conn.execute(text(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'))
    for column in LOCAL_UNIQUE[table]:
        conn.execute(text(f'CREATE UNIQUE INDEX "{name}_{column}_key" ON "{name}" ({column})'))
    conn.execute(text(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" FOR VALUES FROM ({low_sql}) TO ({int(high)})'))


def _rename(conn, table: str, old: str, new: str) -> None:
    conn.execute(text(f'ALTER TABLE "{old}" RENAME TO "{new}"'))
    for column in LOCAL_UNIQUE[table]:
        conn.execute(text(f'ALTER INDEX "{old}_{column}_key" RENAME TO "{new}_{column}_key"'))


def maintain_table(conn, table: str, now: datetime) -> list[str]:
    """Open `now`'s month and keep headroom for one table; the partitions created."""
    parts = layout(conn, table)
    if not parts:
        return []
    step = ids_per_partition(table)
    month = (now.year, now.month)
    taken = {p.name for p in parts}
    made = []
    last = parts[-1]
    if last.high is None:  # an open-ended last partition (made by hand): nothing to add after it
        return []
    if last.month is None or last.month < month:
        name = partition_name(table, month, taken)
        if last.low is not None and next_id(conn, table) <= last.low:
            # The last partition is unused yet (headroom made last month): it becomes this
            # month's, renamed, rather than left empty below a new one.
            _rename(conn, table, last.name, name)
            conn.execute(text("SELECT setval(CAST(:seq AS regclass), :first, false)"),
                         {"seq": _sequence(conn, table), "first": last.low})
            return [name]
        create_partition(conn, table, name, last.high, last.high + step)
        # The month's rows start in its own partition (never move the sequence back).
        conn.execute(text("SELECT setval(CAST(:seq AS regclass), :first, false)"),
                     {"seq": _sequence(conn, table), "first": max(last.high, next_id(conn, table))})
        made.append(name)
        taken.add(name)
        last = Partition(name, last.high, last.high + step)
    if next_id(conn, table) + step // 2 > last.high:
        label = last.month if last.month and last.month > month else month
        name = partition_name(table, label, taken)
        create_partition(conn, table, name, last.high, last.high + step)
        made.append(name)
    return made


def maintain(now: datetime | None = None) -> dict:
    """The scheduler's job: {table: [partitions created]} (empty where nothing was due, and
    on SQLite)."""
    now = now or datetime.utcnow()
    if db.engine.dialect.name != "postgresql":
        return {}
    out: dict = {}
    for table in TABLES:
        # One short transaction a table. Attaching a partition waits for the transactions
        # writing to the tables whose foreign keys point at it (a web request's: milliseconds),
        # and writers arriving meanwhile queue behind it: so it waits LOCK_TIMEOUT at most,
        # then leaves the month to the next run (the month before has the headroom).
        try:
            with db.engine.begin() as conn:
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                made = maintain_table(conn, table, now)
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            log.warning("partitions of %s: a lock was not granted within %s; next run", table, LOCK_TIMEOUT)
            out.setdefault("busy", []).append(table)
            continue
        if made:
            out[table] = made
    return out
