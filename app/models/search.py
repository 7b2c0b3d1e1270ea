"""Full-text search of cases (issue 28): what the migration `c5e8a2f4b6d1` builds and the
queue search (`app.services.read_models.queues.apply_search`) reads.

PostgreSQL: an expression GIN index over `to_tsvector('simple', ...)` of the subject,
description and requester's name (`SEARCH_DOCUMENT`), and pg_trgm GIN indexes on the
reference, the requester's name and mobile (their `LIKE '%x%'`/`ILIKE`). SQLite: an FTS5
table `case_search` for the words and an FTS5 trigram table `case_search_trigram` for the
reference, name and mobile (rowid = case id), kept in step with `case` by triggers.

Neither is declared in the models' metadata (Alembic's autogenerate cannot compare
expression indexes or virtual tables): `app.models.migration_owned.include_object` keeps
autogenerate and
tests/test_schema.py from proposing to drop them. A later migration that rebuilds `case` on
SQLite (Alembic's batch mode: copy, drop, rename) drops the triggers with the old table and
must create them again (tests/test_search.py checks they exist at the head)."""

from __future__ import annotations

# Typed variants of one letter folded to one, and joiners removed, on both sides of the
# match (the stored text in the index, the typed words in apply_search): Persian is typed
# with or without the zero-width non-joiner (می‌خواهم / میخواهم) and with Arabic or Persian
# yeh and kaf depending on the keyboard; Devanagari uses ZWJ/ZWNJ for optional half forms.
FOLD_FROM = "\u064a\u0643\u200c\u200d"  # Arabic yeh, Arabic kaf, ZWNJ, ZWJ
FOLD_TO = "\u06cc\u06a9"  # Persian yeh, keheh; the joiners have no counterpart: removed
FOLD = str.maketrans({**{f: t for f, t in zip(FOLD_FROM, FOLD_TO, strict=False)},
                      **{f: None for f in FOLD_FROM[len(FOLD_TO):]}})


def _pg_escape(chars: str) -> str:
    return "".join(f"\\{ord(c):04X}" for c in chars)


# THE indexed expression: a query must repeat it exactly for PostgreSQL to use the index
# (the migration holds its own copy; tests/test_search.py checks the plan uses the index).
SEARCH_DOCUMENT = (
    "to_tsvector('simple'::regconfig, translate("
    "coalesce(\"case\".subject, '') || ' ' || coalesce(\"case\".description, '') || ' ' || "
    "coalesce(\"case\".requester_name, ''), "
    f"U&'{_pg_escape(FOLD_FROM)}', U&'{_pg_escape(FOLD_TO)}'))"
)

SEARCH_INDEXES = ("ix_case_search", "ix_case_reference_trgm", "ix_case_requester_name_trgm",
                  "ix_case_requester_mobile_trgm")
FTS_TABLE = "case_search"
TRIGRAM_TABLE = "case_search_trigram"  # SQLite: FTS5's trigram tokenizer, pg_trgm's stand-in
