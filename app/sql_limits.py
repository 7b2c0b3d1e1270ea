"""LIMIT and OFFSET written into PostgreSQL's statements as numbers, not bound values.

psycopg prepares a statement run often on one connection, and PostgreSQL then plans it
once for all values (a generic plan) only while that plan looks no dearer than one made
for the values at hand. Not knowing a LIMIT, the planner expects a tenth of the rows: on a
large `case` table that made the generic plan of every "newest 50" query look dear, so
each execution was planned afresh — across every monthly partition and its indexes,
milliseconds a statement (docs/performance.md, "Monthly partitions"). As numbers (the
way SQLAlchemy writes SQL Server's TOP), the statements differ by page size only, one of
a few, and plan once. SQLite prepares nothing across requests: unchanged there."""

from __future__ import annotations

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import _OffsetLimitParam


@compiles(_OffsetLimitParam, "postgresql")
def _as_number(element, compiler, **kw):
    kw["literal_execute"] = True
    return compiler.visit_bindparam(element, **kw)
