"""The word part of the queue search (issue 28): typed words, folded and split as the
index splits the stored text, matched as prefixes through PostgreSQL's full-text GIN index
or SQLite's FTS5 table (app/models/search.py, migration c5e8a2f4b6d1).

The query text given to the database is built here from letters, digits and combining
marks only, each word quoted: nothing typed (quotes, `*`, `-`, `:`, `&`, `|`, `!`,
parentheses, `NEAR`, `OR`, `col:`) can become a query operator in either syntax."""

from __future__ import annotations

import unicodedata

from sqlalchemy import ColumnElement, any_, column, func, literal_column, or_, select, table

from app.extensions import db
from app.models import Case, Category
from app.models.search import FOLD, FTS_TABLE, SEARCH_DOCUMENT, TRIGRAM_TABLE

MAX_WORDS = 8  # more words narrow a search no further in practice, and each costs a probe

_DOCUMENT = literal_column(SEARCH_DOCUMENT)
_FTS = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))
_TRIGRAM = table(TRIGRAM_TABLE, column("rowid"), column("reference"), column("requester_name"),
                 column("requester_mobile"))


def words(text: str) -> list[str]:
    """The words of `text`: runs of letters (L*), digits (N*) and combining marks (M*,
    Devanagari's vowel signs and viramas, Arabic's harakat), after folding (ZWNJ/ZWJ
    removed, Arabic yeh/kaf to Persian), lower-cased, at most MAX_WORDS, no repeats."""
    out: list[str] = []
    current: list[str] = []
    for ch in text.translate(FOLD) + " ":
        if unicodedata.category(ch)[0] in "LNM":
            current.append(ch)
        elif current:
            word = "".join(current).lower()
            current = []
            if word not in out:
                out.append(word)
    return out[:MAX_WORDS]


def tsquery(found: list[str]) -> str:
    """PostgreSQL's `to_tsquery` text: every word as a quoted prefix, all required."""
    return " & ".join(f"'{w}':*" for w in found)


def fts5_query(found: list[str]) -> str:
    """SQLite FTS5's MATCH text: every word as a quoted string with a prefix star, all
    required (FTS5's implicit AND). A quoted string is never an operator or a column."""
    return " ".join('"' + w.replace('"', '""') + '"*' for w in found)


def words_match(text: str) -> ColumnElement | None:
    """The condition "all of `text`'s words, as prefixes, are in the case's subject,
    description or requester's name", or None when `text` has no word."""
    found = words(text)
    if not found:
        return None
    if db.engine.dialect.name == "postgresql":
        return _DOCUMENT.op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), tsquery(found)))
    rows = select(_FTS.c.rowid).where(_FTS.c[FTS_TABLE].op("MATCH")(fts5_query(found)))
    return Case.id.in_(rows)


def inside(text: str) -> list[ColumnElement]:
    """The conditions "`text` is inside the reference (upper-cased), the requester's name
    (any case) or mobile": on PostgreSQL `LIKE`/`ILIKE` on the case's columns, which the
    pg_trgm indexes serve; on SQLite `LIKE` on the FTS5 trigram table's columns (which its
    index serves, case-insensitively), joined by rowid. Three characters or more use an
    index; fewer read every row, as `LIKE '%x%'` always did."""
    like = f"%{text}%"
    if db.engine.dialect.name == "postgresql":
        return [Case.reference.like(f"%{text.upper()}%"), Case.requester_name.ilike(like),
                Case.requester_mobile.like(like)]
    return [Case.id.in_(select(_TRIGRAM.c.rowid).where(column_.like(like)))
            for column_ in (_TRIGRAM.c.reference, _TRIGRAM.c.requester_name, _TRIGRAM.c.requester_mobile)]


def category_named(text: str) -> ColumnElement:
    """The condition "the case's catalogue row is named `text` (inside its English, Hindi or
    Persian name)". The catalogue is a few hundred rows, read whole; then the cases by their
    category index. On PostgreSQL as `= ANY(ARRAY(subquery))`, an init plan run once, so the
    branch is an index condition the planner combines with the others (`IN (subquery)`
    becomes a hashed subplan, which reads every case)."""
    like = f"%{text}%"
    named = select(Category.id).where(or_(Category.name_en.ilike(like), Category.name_hi.ilike(like),
                                          Category.name_fa.ilike(like)))
    if db.engine.dialect.name == "postgresql":
        return Case.category_id == any_(func.array(named.scalar_subquery()))
    return Case.category_id.in_(named)
