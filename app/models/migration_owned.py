"""What the migrations build and the models do not declare, and Alembic's filter that
leaves it out of autogenerate and of tests/test_schema.py's comparison:

* the search's expression indexes and SQLite's FTS5 tables (`app.models.search`);
* PostgreSQL's monthly partitions of `case` and `case_event` (migration `f2b4d6a8c0e1`,
  kept by `app.services.infrastructure.partitions`), the copy of each foreign key that
  PostgreSQL makes for every partition it points at, and the unique keys the partitions
  hold each for itself instead of the table."""

from __future__ import annotations

import re

from app.models.search import FTS_TABLE, SEARCH_INDEXES

# `case_y2026m12`, `case_event_y2026m12_2`: table, year, month, and the month's second,
# third … partition
PARTITION = re.compile(r"^(case|case_event)_y(\d{4})m(\d{2})(?:_(\d+))?$")
PARTITION_LOCAL_UNIQUE = {"case": ("reference", "submission_key"), "case_event": ()}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter (see the module)."""
    if type_ == "index" and name in SEARCH_INDEXES:
        return False
    if type_ == "table" and name and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")
                                      or PARTITION.match(name)):
        return False
    if type_ == "foreign_key_constraint" and PARTITION.match(obj.referred_table.name):
        return False
    if (type_ == "unique_constraint" and obj.table.name in PARTITION_LOCAL_UNIQUE
            and [c.name for c in obj.columns] in ([c] for c in PARTITION_LOCAL_UNIQUE[obj.table.name])):
        return False
    return True
