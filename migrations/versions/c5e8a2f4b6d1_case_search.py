"""search that scales (issue 28 item 5): full-text and trigram indexes for the queue search

Revision ID: c5e8a2f4b6d1
Revises: c5e2a8f4d7b1
Create Date: 2026-12-07 16:00:00

PostgreSQL: the pg_trgm extension (trusted since PostgreSQL 13: the database's owner may
create it; before 13 a superuser must, see docs/operations.md), a GIN index over the
expression `to_tsvector('simple', subject || description || requester_name)` with the
Persian/Devanagari folding of app/models/search.py, and trigram GIN indexes on the
reference, the requester's name and mobile (their `LIKE '%x%'`). An expression index, not
a generated column: adding a stored generated column rewrites the whole case table under
an exclusive lock, and the ORM and SQLite would have to know about a column only
PostgreSQL fills. `IF NOT EXISTS`: a DBA may build them beforehand with
`CREATE INDEX CONCURRENTLY` (same names, same definitions) on a live database.

SQLite: an FTS5 table `case_search` (rowid = case id) over the same three texts, folded
the same way, and an FTS5 table `case_search_trigram` with the trigram tokenizer over the
reference, name and mobile (their `LIKE '%x%'`), both filled from the existing cases and
kept in step by triggers.

Both: a plain index on the pincode (the search's `pincode = q` branch, which would
otherwise make every search a full scan on PostgreSQL).
"""
from alembic import op

revision = 'c5e8a2f4b6d1'
down_revision = 'c5e2a8f4d7b1'
branch_labels = None
depends_on = None

# A frozen copy of app/models/search.py's SEARCH_DOCUMENT (a migration does not follow
# later changes of the application's code).
_DOCUMENT = ("to_tsvector('simple'::regconfig, translate("
             "coalesce(\"case\".subject, '') || ' ' || coalesce(\"case\".description, '') || ' ' || "
             "coalesce(\"case\".requester_name, ''), U&'\\064A\\0643\\200C\\200D', U&'\\06CC\\06A9'))")
_TRIGRAM = {"ix_case_reference_trgm": "reference", "ix_case_requester_name_trgm": "requester_name",
            "ix_case_requester_mobile_trgm": "requester_mobile"}


def _sqlite_fold(column: str) -> str:
    """SQLite's spelling of the same folding: Arabic yeh/kaf to Persian, joiners removed."""
    return (f"replace(replace(replace(replace(coalesce({column}, ''), char(1610), char(1740)), "
            f"char(1603), char(1705)), char(8204), ''), char(8205), '')")


def _sqlite_row(prefix: str) -> str:
    return ", ".join(_sqlite_fold(f"{prefix}{c}") for c in ("subject", "description", "requester_name"))


_TRIGRAM_ROW = "{p}reference, {p}requester_name, {p}requester_mobile"


def _sqlite_insert(prefix: str) -> str:
    return (f"INSERT INTO case_search (rowid, subject, description, requester_name) "
            f"VALUES ({prefix}id, {_sqlite_row(prefix)}); "
            f"INSERT INTO case_search_trigram (rowid, reference, requester_name, requester_mobile) "
            f"VALUES ({prefix}id, {_TRIGRAM_ROW.format(p=prefix)});")


def upgrade():
    op.create_index('ix_case_pincode', 'case', ['pincode'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f'CREATE INDEX IF NOT EXISTS ix_case_search ON "case" USING gin (({_DOCUMENT}))')
        for name, column in _TRIGRAM.items():
            op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON "case" USING gin ({column} gin_trgm_ops)')
        return
    # Letters, digits and combining marks are a word's characters: unicode61's default
    # (letters and digits) would cut Devanagari words at every vowel sign.
    op.execute("CREATE VIRTUAL TABLE case_search USING fts5(subject, description, requester_name, "
               "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")")
    # SQLite's pg_trgm: LIKE '%x%' (three characters or more) on these columns reads the index.
    op.execute("CREATE VIRTUAL TABLE case_search_trigram USING fts5(reference, requester_name, "
               "requester_mobile, tokenize = 'trigram case_sensitive 0')")
    op.execute(f'INSERT INTO case_search (rowid, subject, description, requester_name) '
               f'SELECT id, {_sqlite_row("")} FROM "case"')
    op.execute(f'INSERT INTO case_search_trigram (rowid, reference, requester_name, requester_mobile) '
               f'SELECT id, {_TRIGRAM_ROW.format(p="")} FROM "case"')
    op.execute(f'CREATE TRIGGER case_search_insert AFTER INSERT ON "case" BEGIN {_sqlite_insert("new.")} END')
    op.execute('CREATE TRIGGER case_search_update AFTER UPDATE OF id, subject, description, requester_name, '
               'reference, requester_mobile ON "case" BEGIN '
               'DELETE FROM case_search WHERE rowid = old.id; DELETE FROM case_search_trigram WHERE rowid = old.id; '
               f'{_sqlite_insert("new.")} END')
    op.execute('CREATE TRIGGER case_search_delete AFTER DELETE ON "case" BEGIN '
               'DELETE FROM case_search WHERE rowid = old.id; DELETE FROM case_search_trigram WHERE rowid = old.id; '
               'END')


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm stays: other objects may use it, and dropping it needs its owner.
        for name in ("ix_case_search", *_TRIGRAM):
            op.execute(f"DROP INDEX IF EXISTS {name}")
    else:
        for trigger in ("case_search_insert", "case_search_update", "case_search_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS case_search")
        op.execute("DROP TABLE IF EXISTS case_search_trigram")
    op.drop_index('ix_case_pincode', table_name='case')
