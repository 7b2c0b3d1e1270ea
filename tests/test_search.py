"""Issue 28 item 5: the queue search through full-text and trigram indexes (PostgreSQL's
`to_tsvector('simple', ...)` + pg_trgm, SQLite's FTS5), on whichever database the suite
runs (TEST_DATABASE_URL): Hindi and Persian words, with and without the zero-width
non-joiner, words typed in part, a reference typed in part, a mobile in Persian digits,
punctuation and query operators that must never reach the query syntax; the triggers
that keep SQLite's FTS5 table in step; the migration's downgrade; the plan on PostgreSQL."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from app.extensions import db
from app.models import Case
from app.services.read_models import queues, search
from tests.factories import CITIZEN, make_case
from tests.plans import with_parent_indexes

FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ZWNJ = "\u200c"


def found(q: str) -> set[int]:
    return set(db.session.scalars(queues.apply_search(select(Case.id), q)))


@pytest.fixture
def board(world):
    hi = make_case("complaint", world.d1, subject="पार्सल नहीं मिला",
                   description="मेरा पार्सल दो हफ़्ते से डाकघर में पड़ा है।",
                   requester={**CITIZEN, "name": "रवि कुमार", "mobile": "9123400001"})
    fa = make_case("complaint", world.d1, subject=f"بسته{ZWNJ}ام نرسیده است",
                   description=f"می{ZWNJ}خواهم بدانم بسته کجاست. شماره پیگیری ندارم",
                   requester={**CITIZEN, "name": "رضا کریمی", "mobile": "9123400002"})
    en = make_case("complaint", world.d1, subject="Lost parcel (registered)",
                   description="The parcel was booked at the head office; tracking says 'delivered'.",
                   requester={**CITIZEN, "name": "Asha O'Brien", "mobile": "9123400003", "pincode": "570001"})
    other = make_case("complaint", world.d1, subject="Pension not credited",
                      description="Monthly pension missing since October.",
                      requester={**CITIZEN, "name": "Vikram Das", "mobile": "9988776655"})
    db.session.commit()
    return {"hi": hi.id, "fa": fa.id, "en": en.id, "other": other.id}


def test_hindi_words_whole_and_in_part(board):
    assert found("पार्सल") == {board["hi"]}
    assert found("पार्") == {board["hi"]}  # typed in part: a prefix, vowel signs and all
    assert found("डाकघर") == {board["hi"]}  # from the description
    assert found("पार्सल डाकघर") == {board["hi"]}  # every word, in any of the texts
    assert found("पार्सल Vikram") == set()


def test_persian_words_with_and_without_the_zero_width_non_joiner(board):
    for typed in (f"بسته{ZWNJ}ام", "بستهام", f"می{ZWNJ}خواهم", "میخواهم", "میخوا", "کجاست"):
        assert found(typed) == {board["fa"]}, typed
    # Arabic yeh and kaf (an Arabic keyboard) find the Persian letters
    assert found("رضا كريمي") == {board["fa"]}


def test_names_of_every_script_and_a_name_in_part(board):
    assert found("रवि") == {board["hi"]}
    assert found("کریمی") == {board["fa"]}
    assert found("asha") == {board["en"]} and found("O'Brien") == {board["en"]}
    assert found("brie") == {board["en"]}  # inside a name: the trigram branch


def test_reference_mobile_and_pincode(board):
    ref = db.session.get(Case, board["en"]).reference
    assert found(ref) == {board["en"]}
    assert found(ref[3:12]) == {board["en"]}  # a reference typed in part
    assert found(ref.lower()[-6:]) == {board["en"]}
    assert found("9123400003".translate(FA)) == {board["en"]}  # a mobile in Persian digits
    assert found("۴۰۰۰۰۳") == {board["en"]}  # the end of a mobile
    assert found("570001") == {board["en"]}


def test_english_words_prefixes_and_case(board):
    assert found("parcel") == {board["en"]}
    assert found("PARC") == {board["en"]}
    assert found("parcel head") == {board["en"]}
    assert found("delivered") == {board["en"]}
    assert found("pension october") == {board["other"]}
    assert found("nothing-like-this") == set()


PUNCTUATION = ['"parcel"', "parcel*", "-parcel", "(parcel)", "parcel)", "((parcel", "parcel:",
               "parcel'", "'parcel", "parcel & ", "|parcel", "!parcel", "parcel\\", "parcel;--",
               "parcel <-> lost", "lost + parcel", "^parcel", "parcel %", "parcel _"]
NOTHING = ['"', "*", "-", "'", "(", ")", "()", "NEAR", "NEAR(", "NEAR(parcel lost, 2)", "OR", "AND", "NOT",
           "parcel OR pension", "subject:parcel", "\\", "&", "|", "!", ":*", "''", '""', "\u200c",
           "* OR *", "a:* | b:*", "'a':*", "{subject}: parcel"]


@pytest.mark.parametrize("typed", PUNCTUATION)
def test_punctuation_around_a_word_does_not_break_the_query(board, typed):
    assert board["en"] in found(typed)
    assert board["other"] not in found(typed)


@pytest.mark.parametrize("typed", NOTHING)
def test_query_syntax_cannot_be_injected(board, typed):
    got = found(typed)  # never a syntax error from PostgreSQL's tsquery or FTS5's MATCH
    # Operators are words like any other (each a prefix): "NOT" finds "not credited",
    # "OR" nothing here; "parcel OR pension" needs all three words, no case has them.
    expected = {"NOT": {board["other"]}, "OR": set(), "parcel OR pension": set(),
                "NEAR": set(), "subject:parcel": set(), "NEAR(parcel lost, 2)": set()}
    if typed in expected:
        assert got == expected[typed]


def test_the_words_given_to_the_database():
    assert search.words(f'"می{ZWNJ}خواهم" NEAR(पार्सल) a*b -- x:y') == ["میخواهم", "near", "पार्सल", "a", "b", "x", "y"]
    assert search.tsquery(["میخواهم", "a"]) == "'میخواهم':* & 'a':*"
    assert search.fts5_query(["near", "a"]) == '"near"* "a"*'
    assert search.words("-- () * ' \"") == []
    assert len(search.words(" ".join(f"w{i}" for i in range(30)))) == search.MAX_WORDS


def test_the_index_follows_changes(world, board):
    case = db.session.get(Case, board["other"])
    case.subject, case.requester_name = "Money order not paid", "Meera Nair"
    case.requester_mobile = "9000012345"
    db.session.commit()
    assert found("money") == {case.id} and found("meera") == {case.id} and found("eera") == {case.id}
    assert found("0001234") == {case.id} and found("88776") == set()
    assert found("pension") == {case.id}  # still in the description
    case.description = "Sent to Jaipur."
    db.session.commit()
    case_id = case.id
    assert found("pension") == set() and found("jaipur") == {case.id}
    for t in reversed(db.metadata.sorted_tables):  # the case and what refers to it
        for fk in t.foreign_keys:
            if fk.column.table.name == "case" and t.name != "case":
                db.session.execute(t.delete().where(fk.parent == case_id))
    db.session.execute(text('DELETE FROM "case" WHERE id = :id'), {"id": case_id})
    db.session.commit()
    db.session.expunge_all()
    assert found("jaipur") == set()
    if db.engine.dialect.name == "sqlite":
        for table in ("case_search", "case_search_trigram"):
            left = db.session.execute(text(f"SELECT count(*) FROM {table} WHERE rowid = :id"), {"id": case_id})
            assert left.scalar() == 0


def test_the_migration_downgrades_and_fills_the_index_of_existing_cases(app, board):
    db.session.commit()
    db.session.close()
    downgrade(revision="c5e2a8f4d7b1")  # the migration before the search's
    try:
        names = {ix["name"] for ix in inspect(db.engine).get_indexes("case")}
        assert "ix_case_pincode" not in names and "ix_case_search" not in names
        tables = inspect(db.engine).get_table_names()
        assert "case_search" not in tables and "case_search_trigram" not in tables
        db.session.close()
    finally:
        upgrade()
    assert found("पार्सल") == {board["hi"]} and found("میخواهم") == {board["fa"]}


def _plan(q: str) -> str:
    """The plan, but for the catalogue's lines: a few hundred rows read whole for their names."""
    stmt = queues.apply_search(select(Case.id), q)
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    lines = [r[0] for r in db.session.execute(text(f"EXPLAIN {compiled}"))]
    return with_parent_indexes(db.session.connection(),
                               "\n".join(line for line in lines if "on category" not in line))


def test_postgresql_reads_the_gin_indexes(board):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan")
    words = _plan("parcel")
    assert "ix_case_search" in words and "ix_case_requester_name_trgm" in words, words
    assert "ix_case_reference_trgm" in words and "ix_case_requester_mobile_trgm" in words, words
    assert "Seq Scan" not in words, words
    assert "Seq Scan" not in _plan("पार्सल"), _plan("पार्सल")
    ref = db.session.get(Case, board["en"]).reference
    assert "Seq Scan" not in _plan(ref[3:12])
    db.session.rollback()


def test_sqlite_reads_its_fts5_tables_and_indexes(board):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    for typed in ("parcel", "पार्सल", "brie", "9123400003"):
        stmt = queues.apply_search(select(Case.id), typed).order_by(Case.created_at.desc()).limit(26)
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = [r[3] for r in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
        assert "MULTI-INDEX OR" in plan, plan  # each branch by an index, no scan of the cases
        # no scan of the cases; the catalogue (a few hundred rows) is read whole for its names
        assert not [step for step in plan if step.startswith("SCAN") and "VIRTUAL TABLE" not in step
                    and step != "SCAN category"], plan
        assert any("case_search VIRTUAL TABLE INDEX 0:M" in step for step in plan), plan
        assert any("case_search_trigram VIRTUAL TABLE INDEX 0:L" in step for step in plan), plan


def test_random_text_never_breaks_the_query(board):
    """Seeded random strings of query punctuation, quotes, marks, joiners, digits of three
    scripts, letters of four and symbols: every one is a query both databases accept."""
    import random

    pool = list("\"'*-+:^&|!()<>{}[]\\/%_.,;~@#$ \t") + ["NEAR", "OR", "AND", "NOT", "\u200c", "\u200d",
                                                        "\u093f", "\u094d", "\u0902", "\u064b", "\u0651",
                                                        "پ", "ي", "ك", "क", "ष", "a", "Z", "é", "ß", "İ",
                                                        "۳", "३", "٣", "7", "½", "²", "€", "\u00a0", "\ufeff"]
    rnd = random.Random(28)
    for _ in range(150):
        typed = "".join(rnd.choice(pool) for _ in range(rnd.randint(1, 12)))
        found(typed)  # no error
    assert board["en"] in found("parcel")


def test_the_migrated_database_keeps_the_triggers(app):
    """A later migration that rebuilds `case` on SQLite (Alembic's batch mode copies the
    table and drops the old one) drops its triggers with it: it must create them again."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's triggers")
    names = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                        "AND tbl_name = 'case'")))
    assert {"case_search_insert", "case_search_update", "case_search_delete"} <= names
