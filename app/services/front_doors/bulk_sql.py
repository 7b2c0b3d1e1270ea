"""Writing many rows with one statement: the set-based sweep's INSERTs and guarded
UPDATEs. On PostgreSQL each column's values travel as one array (`unnest`), so a batch
of 500 rows is one statement, not 500 pipelined ones (~50 µs of driver work each);
SQLite, in-process, takes an executemany.

A column whose value is the same in every row (a batch's closing time, status, template,
actor) travels as one bound value instead of an array: turning a Python list into an
array literal costs the driver per element, and most of a sweep batch's columns are
constant.

The statements are built from the table's own metadata (names and types); values are
always bound, never written into the SQL.
"""

from __future__ import annotations

import json

from sqlalchemy import JSON, Table, bindparam, insert, text, update

from app.extensions import db


def _pg() -> bool:
    return db.session.connection().dialect.name == "postgresql"


def _array_of(table: Table, names, dialect) -> str:
    return ", ".join(
        f"CAST(:{n} AS {table.c[n].type.compile(dialect=dialect)}[])" for n in names)


def _quoted(dialect, names) -> list[str]:
    return [dialect.identifier_preparer.quote(n) for n in names]


def _column_values(table: Table, names, rows: list[dict]) -> dict:
    out = {}
    for n in names:
        values = [r[n] for r in rows]
        if isinstance(table.c[n].type, JSON):  # sent as text, cast to json by the server
            values = [None if v is None else json.dumps(v) for v in values]
        out[n] = values
    return out


def _constant(rows: list[dict], names, keep=()) -> tuple[list[str], list[str]]:
    """Split `names` into (columns whose values differ between rows, columns with the
    same value in every row); `keep` stay with the first (they are matched on)."""
    varying, constant = [], []
    first = rows[0]
    for n in names:
        v = first[n]
        same = n not in keep and all(r[n] == v and type(r[n]) is type(v) for r in rows)
        (constant if same else varying).append(n)
    if not varying:  # unnest needs one array to give the number of rows
        varying.append(constant.pop(0))
    return varying, constant


def _scalar_of(table: Table, name: str, dialect) -> str:
    return f"CAST(:k_{name} AS {table.c[name].type.compile(dialect=dialect)})"


def _scalar_values(table: Table, names, row: dict) -> dict:
    return {f"k_{n}": v[0] for n, v in _column_values(table, names, [row]).items()}


def insert_rows(table: Table, rows: list[dict]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table`, with the columns' constant
    defaults for the columns they leave out, as an ORM or Core insert would."""
    if not rows:
        return
    missing = {c.name: c.default.arg for c in table.columns
               if c.name not in rows[0] and c.default is not None and c.default.is_scalar}
    callable_default = any(c.name not in rows[0] and c.default is not None and not c.default.is_scalar
                           for c in table.columns)
    if not _pg() or callable_default:
        db.session.execute(insert(table), rows)
        return
    varying, constant = _constant(rows, list(rows[0]))
    dialect = db.session.connection().dialect
    constant += list(missing)  # the defaults: the same in every row
    first = {**missing, **rows[0]}
    values = ", ".join([*(f"v.{q}" for q in _quoted(dialect, varying)),
                        *(_scalar_of(table, n, dialect) for n in constant)])
    sql = (f'INSERT INTO "{table.name}" ({", ".join(_quoted(dialect, [*varying, *constant]))}) '  # noqa: S608 - names from metadata
           f"SELECT {values} FROM unnest({_array_of(table, varying, dialect)}) "
           f"AS v({', '.join(_quoted(dialect, varying))})")
    db.session.execute(text(sql), {**_column_values(table, varying, rows),
                                   **_scalar_values(table, constant, first)})


def update_rows(table: Table, rows: list[dict], columns: tuple[str, ...]) -> int:
    """Set `columns` of each row of `table` named by `row["id"]`, only where its version
    is still `row["version"]`, and move the version on by one. `rows` hold the new
    values under the column names. Returns how many rows matched."""
    if not rows:
        return 0
    if not _pg():
        stmt = (update(table)
                .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
                .values({c: bindparam(f"v_{c}") for c in (*columns, "version")}))
        params = [{"b_id": r["id"], "b_version": r["version"], "v_version": r["version"] + 1,
                   **{f"v_{c}": r[c] for c in columns}} for r in rows]
        return db.session.execute(stmt, params).rowcount
    dialect = db.session.connection().dialect
    varying, constant = _constant(rows, ("id", "version", *columns), keep=("id", "version"))
    quoted = _quoted(dialect, varying)
    sets = ", ".join([f"{q} = v.{q}" for q in quoted[2:]]
                     + [f"{q} = {_scalar_of(table, n, dialect)}"
                        for n, q in zip(constant, _quoted(dialect, constant), strict=True)]
                     + ["version = v.version + 1"])
    sql = (f'UPDATE "{table.name}" SET {sets} '  # noqa: S608 - names from metadata
           f"FROM unnest({_array_of(table, varying, dialect)}) AS v({', '.join(quoted)}) "
           f'WHERE "{table.name}".id = v.id AND "{table.name}".version = v.version')
    return db.session.execute(text(sql), {**_column_values(table, varying, rows),
                                          **_scalar_values(table, constant, rows[0])}).rowcount
