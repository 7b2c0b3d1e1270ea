"""dashboard: per-day counters (case_day_tally) for the trend and "closed today"

Revision ID: b7d4e2a9c1f3
Revises: a1c3e5f7b9d2
Create Date: 2026-11-29 14:00:00

Per (holding office, local calendar day, kind): the cases raised on that day and the
closed cases closed on it. Filled from the cases already in the database, with days in
the portal's time zone (BABEL_DEFAULT_TIMEZONE, from PORTAL_TIMEZONE; Asia/Kolkata by
default), so an upgraded portal shows the same trend as before.
"""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = 'b7d4e2a9c1f3'
down_revision = 'a1c3e5f7b9d2'
branch_labels = None
depends_on = None

UTC = ZoneInfo("UTC")


def _zone() -> ZoneInfo:
    try:
        from flask import current_app
        return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Kolkata"))
    except RuntimeError:  # outside the Flask app (plain alembic)
        return ZoneInfo("Asia/Kolkata")


def _minutes(t: datetime, tz: ZoneInfo) -> int:
    return int(t.replace(tzinfo=UTC).astimezone(tz).utcoffset().total_seconds() // 60)


def _periods(start: datetime, end: datetime, tz: ZoneInfo) -> list:
    """(until, offset minutes) over [start, end]; the last one open (until None)."""
    periods, t, current = [], start, _minutes(start, tz)
    while t < end:
        nxt = min(t + timedelta(days=1), end)
        if _minutes(nxt, tz) != current:
            lo, hi = t, nxt
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if _minutes(mid, tz) == current else (lo, mid)
            periods.append((hi.replace(second=0, microsecond=0), current))
            current = _minutes(nxt, tz)
        t = nxt
    periods.append((None, current))
    return periods


def _day(col: str, periods: list, sqlite: bool) -> str:
    def shift(m: int) -> str:
        return f"date({col}, '{m:+d} minutes')" if sqlite else f"CAST({col} + interval '{m} minutes' AS DATE)"
    if len(periods) == 1:
        return shift(periods[0][1])
    whens = " ".join(f"WHEN {col} < '{until.isoformat(sep=' ')}' THEN {shift(m)}" for until, m in periods[:-1])
    return f"CASE {whens} ELSE {shift(periods[-1][1])} END"


def _as_datetime(value):
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def upgrade():
    op.create_table(
        'case_day_tally',
        sa.Column('office_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('raised', sa.Integer(), nullable=False),
        sa.Column('closed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('office_id', 'day', 'kind', name=op.f('pk_case_day_tally')),
    )
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    lo, hi = bind.execute(sa.text(
        'SELECT MIN(created_at), MAX(COALESCE(closed_at, created_at)) FROM "case"')).one()
    if lo is None:
        return
    now = datetime.utcnow()
    periods = _periods(_as_datetime(lo), max(_as_datetime(hi), now), _zone())
    raised, closed = _day("c.created_at", periods, sqlite), _day("c.closed_at", periods, sqlite)
    op.execute(
        'INSERT INTO case_day_tally (office_id, day, kind, raised, closed) '
        'SELECT office_id, day, kind, SUM(raised), SUM(closed) FROM ('
        f'SELECT c.current_office_id AS office_id, {raised} AS day, c.kind AS kind, COUNT(*) AS raised, '
        '0 AS closed FROM "case" c '
        f'GROUP BY c.current_office_id, {raised}, c.kind '
        'UNION ALL '
        f'SELECT c.current_office_id, {closed}, c.kind, 0, COUNT(*) FROM "case" c '
        "WHERE c.status = 'closed' AND c.closed_at IS NOT NULL "
        f'GROUP BY c.current_office_id, {closed}, c.kind'
        ') parts GROUP BY office_id, day, kind')


def downgrade():
    op.drop_table('case_day_tally')
