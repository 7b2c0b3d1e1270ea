"""PostgreSQL: case and case_event partitioned by month (ranges of ids, issue 28 item 6)

Revision ID: f2b4d6a8c0e1
Revises: e6a4c2f8b1d3
Create Date: 2026-12-07 20:10:00

Each table becomes `PARTITION BY RANGE (id)` with one partition per month of the rows it
holds (a month's first id opens its partition; ids grow with time), the last one with
room for the ids still to come; `app.services.infrastructure.partitions.maintain` opens
each new month. Why ranges of ids rather than of `created_at`: a partitioned table's
unique keys must contain its partition key, and every foreign key to `case` and
`case_event` points at `id` alone. `case.reference` and `case.submission_key` become unique
within each partition (local indexes; see the module's docstring).

How: the table is renamed, a partitioned one made like it, its partitions made, the rows
copied, the old table dropped (with the foreign keys pointing at it), then the primary
key, the indexes (the same definitions, read off the old table) and every foreign key
added back. One transaction; at ten million cases it takes minutes (docs/performance.md),
during which the tables are locked: plan it like any large migration.

This revision holds its own copy of what it needs (a migration must not change when the
application's code does). SQLite: nothing to do.
"""
import sqlalchemy as sa
from alembic import op

revision = 'f2b4d6a8c0e1'
down_revision = 'e6a4c2f8b1d3'
branch_labels = None
depends_on = None

# table: (its time column, ids per partition beyond the last row, unique keys)
TABLES = {"case": ("created_at", 1_000_000, ("reference", "submission_key")),
          "case_event": ("at", 5_000_000, ())}


def _rows(conn, sql, **params):
    return conn.execute(sa.text(sql), params).all()


def _definitions(conn, tables):
    """What dropping and re-making `tables` loses: their indexes, their own constraints and
    the foreign keys of other tables pointing at them."""
    indexes, constraints, foreign = {}, {}, {}
    for table in tables:
        own = _rows(conn, "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                          "WHERE conrelid = CAST(:t AS regclass) AND conparentid = 0", t=f'"{table}"')
        constraints[table] = own
        backing = {name for name, _type, _def in own}
        indexes[table] = [(name, sql) for name, sql in _rows(
            conn, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                  "AND tablename = :t", t=table) if name not in backing]
        for other, name, definition in _rows(
                conn, "SELECT c.relname, conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
                      "JOIN pg_class c ON c.oid = k.conrelid "
                      "WHERE confrelid = CAST(:t AS regclass) AND contype = 'f' AND conparentid = 0", t=f'"{table}"'):
            foreign[(other, name)] = definition
        for name, kind, definition in own:
            if kind == "f":
                foreign[(table, name)] = definition
    return indexes, constraints, foreign


def _sequence(conn, table):
    return conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": f'"{table}"'}).scalar_one()


def _monthly_bounds(conn, table, sequence, time_column, step):
    """[(name, low or None, high)]: a partition per month of the rows, the last with room."""
    months = _rows(conn, f'SELECT EXTRACT(YEAR FROM {time_column}), EXTRACT(MONTH FROM {time_column}), MIN(id) '
                         f'FROM "{table}_unpartitioned" GROUP BY 1, 2 ORDER BY 1, 2')
    top = conn.execute(sa.text(f'SELECT COALESCE(MAX(id), 0) FROM "{table}_unpartitioned"')).scalar_one()
    last, called = conn.execute(sa.text(f"SELECT last_value, is_called FROM {sequence}")).one()
    next_id = max(top + 1, last + 1 if called else last)
    starts = []
    for year, month, low in months:
        if not starts or low > starts[-1][1]:  # ids not in time order: the month joins the last
            starts.append((f"{table}_y{int(year):04d}m{int(month):02d}", low))
    if not starts:
        now = conn.execute(sa.text("SELECT EXTRACT(YEAR FROM now()), EXTRACT(MONTH FROM now())")).one()
        starts = [(f"{table}_y{int(now[0]):04d}m{int(now[1]):02d}", None)]
    bounds = []
    for i, (name, low) in enumerate(starts):
        high = starts[i + 1][1] if i + 1 < len(starts) else next_id + step
        bounds.append((name, None if i == 0 else low, high))
    return bounds


def _rebuild(conn, partitioned: bool):
    tables = list(TABLES)
    indexes, constraints, foreign = _definitions(conn, tables)
    primary = {t: next(name for name, kind, _d in own if kind == "p") for t, own in constraints.items()}
    for table in tables:
        time_column, step, _unique = TABLES[table]
        sequence = _sequence(conn, table)
        conn.execute(sa.text(f'ALTER TABLE "{table}" RENAME TO "{table}_unpartitioned"'))
        how = " PARTITION BY RANGE (id)" if partitioned else ""
        conn.execute(sa.text(f'CREATE TABLE "{table}" (LIKE "{table}_unpartitioned" INCLUDING DEFAULTS '
                             f'INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS){how}'))
        if partitioned:
            for name, low, high in _monthly_bounds(conn, table, sequence, time_column, step):
                low_sql = "MINVALUE" if low is None else str(int(low))
                conn.execute(sa.text(f'CREATE TABLE "{name}" PARTITION OF "{table}" '
                                     f'FOR VALUES FROM ({low_sql}) TO ({int(high)})'))
        conn.execute(sa.text(f'INSERT INTO "{table}" SELECT * FROM "{table}_unpartitioned"'))
        conn.execute(sa.text(f'ALTER SEQUENCE {sequence} OWNED BY "{table}".id'))
    for table in tables:
        conn.execute(sa.text(f'DROP TABLE "{table}_unpartitioned" CASCADE'))
    for table in tables:
        _time_column, _step, unique = TABLES[table]
        conn.execute(sa.text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{primary[table]}" PRIMARY KEY (id)'))
        for column in unique:
            if partitioned:
                for (name,) in _rows(conn, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                           "WHERE i.inhparent = CAST(:t AS regclass)", t=f'"{table}"'):
                    conn.execute(sa.text(f'CREATE UNIQUE INDEX "{name}_{column}_key" ON "{name}" ({column})'))
            else:
                conn.execute(sa.text(f'ALTER TABLE "{table}" ADD CONSTRAINT "uq_{table}_{column}" UNIQUE ({column})'))
        for _name, sql in indexes[table]:
            conn.execute(sa.text(sql.replace(" ON ONLY ", " ON ")))
    for (other, name), definition in foreign.items():
        conn.execute(sa.text(f'ALTER TABLE "{other}" ADD CONSTRAINT "{name}" {definition}'))
    for table in tables:
        conn.execute(sa.text(f'ANALYZE "{table}"'))


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        _rebuild(conn, partitioned=True)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        _rebuild(conn, partitioned=False)
