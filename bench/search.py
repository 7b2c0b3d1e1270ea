"""The queue search over a million cases (issue 28 item 5): the old `LIKE '%q%'` search
against the full-text and trigram one (`app.services.read_models.queues.apply_search`).

    .venv/bin/python bench/search.py                       # PostgreSQL, 1,000,000 cases
    .venv/bin/python bench/search.py --db sqlite --cases 200000

A database of its own (`sevadesk_search_<n>` on the local PostgreSQL, or
/tmp/sevadesk_search_<n>.sqlite), migrated to the revision before the search's
(b7d3e5f9a1c2) and filled with N cases of English, Hindi and Persian subjects,
descriptions and names (COPY on PostgreSQL). The old search is timed there, on the
schema it ran on; then the search's migration is applied (its time is reported: building
the indexes) and both searches are timed again. A second run finds the database at the
head and times both searches on it. Each figure is the median of --repeat runs of the
queue's statement: the first 26 matching cases, newest first, in the whole database (the
widest scope, a Circle's or an administrator's search)."""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, or_, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.domain.references import normalize  # noqa: E402
from app.extensions import db  # noqa: E402
from app.inputs import search_text  # noqa: E402
from app.models import Case  # noqa: E402
from app.services.read_models import queues  # noqa: E402

BEFORE = "b7d3e5f9a1c2"  # the revision before the search's indexes
PG_SERVER = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")

WORDS = ["parcel", "pension", "delivery", "delayed", "money", "order", "refund", "passbook", "savings",
         "account", "letter", "speed", "post", "registered", "missing", "damaged", "counter", "staff",
         "rude", "queue", "insurance", "premium", "aadhaar", "update", "address", "wrong", "tracking",
         "पार्सल", "पेंशन", "डाकघर", "शिकायत", "नहीं", "मिला", "खाता", "बचत", "पत्र", "देरी", "पैसा",
         "بسته", "نرسیده", "حساب", "نامه", "پست", "شکایت", "تأخیر", "پول", "می‌خواهم", "بیمه"]
FIRST = ["Ravi", "Asha", "Vikram", "Meera", "Anil", "Sunita", "रवि", "सुनीता", "अनिल", "رضا", "مریم", "علی", "Homa"]
LAST = ["Kumar", "Rao", "Das", "Nair", "Sharma", "Iyer", "कुमार", "शर्मा", "راد", "کریمی", "رحیمی", "Patel"]
RARE = {"kaleidoscope": 100_000, "ज्वालामुखी": 100_000}  # one case in N carries the word

# (label, typed text): every kind of search a desk makes.
SEARCHES = [
    ("a common word", "parcel"),
    ("a word typed in part", "pensi"),
    ("a rare word", "kaleidoscope"),
    ("a rare Hindi word", "ज्वालामुखी"),
    ("a Persian word (ZWNJ)", "می‌خواهم"),
    ("two words", "refund delayed"),
    ("a full reference", None),  # filled in from the data
    ("a reference in part", None),
    ("a mobile", None),
    ("a name", "Meera Nair"),
    ("no match", "xylophonist"),
]


def old_search(q, typed: str):
    """The search before issue 28 (ILIKE on the subject, LIKE elsewhere)."""
    typed = search_text(typed)
    like = f"%{typed}%"
    return q.where(or_(Case.reference == normalize(typed), Case.reference.like(f"%{typed.upper()}%"),
                       Case.subject.ilike(like), Case.requester_name.ilike(like),
                       Case.requester_mobile.like(like), Case.pincode == typed))


def statement(search, typed: str):
    q = select(Case.id).order_by(Case.created_at.desc(), Case.id.desc()).limit(26)
    return search(q, typed)


def database_url(kind: str, n: int) -> str:
    if kind == "sqlite":
        return f"sqlite:////tmp/sevadesk_search_{n}.sqlite"
    name = f"sevadesk_search_{n}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG_SERVER}/{name}"


def rows(n: int, office_id: int, now: datetime):
    rnd = random.Random(7)
    for i in range(1, n + 1):
        words = [rnd.choice(WORDS) for _ in range(3)]
        for word, every in RARE.items():
            if i % every == 0:
                words.append(word)
        subject = " ".join(words[:2] + words[3:])
        description = " ".join(rnd.choice(WORDS) for _ in range(12))
        name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
        mobile = f"9{rnd.randrange(10**9):09d}"
        created = now - timedelta(seconds=rnd.randrange(2 * 365 * 86400))
        yield (f"CM-2612-{i:07X}Z", "complaint", "closed" if rnd.random() < 0.7 else "open", subject,
               description, name, mobile, f"{560000 + rnd.randrange(1000)}", office_id, created)


COLUMNS = ("reference", "kind", "status", "subject", "description", "requester_name", "requester_mobile",
           "pincode", "current_office_id", "created_at")
FIXED = {"priority": "P3", "channel": "web", "escalation_level": 0, "sla_breached": False,
         "external_seconds": 0, "customer_seconds": 0, "data": "{}", "version": 1}


def fill(n: int) -> float:
    """N cases, in one office, if the database has fewer; seconds it took."""
    have = db.session.scalar(select(db.func.count()).select_from(Case))
    if have >= n:
        return 0.0
    t0 = time.perf_counter()
    office = db.session.scalar(text("SELECT id FROM org_unit LIMIT 1"))
    if office is None:
        db.session.execute(text("INSERT INTO org_unit (code, name, kind, path, depth, active) "
                                "VALUES ('BENCH', 'Bench division', 'division', '/', 0, true)"))
        office = db.session.scalar(text("SELECT id FROM org_unit LIMIT 1"))
    db.session.execute(text('DELETE FROM "case"'))
    db.session.commit()
    now = datetime(2026, 12, 1)
    columns = COLUMNS + tuple(FIXED) + ("updated_at",)
    if db.engine.dialect.name == "postgresql":
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f'COPY "case" ({", ".join(columns)}) FROM STDIN') as copy:
                for row in rows(n, office, now):
                    copy.write_row(row + tuple(FIXED.values()) + (row[-1],))
            raw.commit()
        finally:
            raw.close()
    else:
        marks = ", ".join("?" * len(columns))
        raw = db.engine.raw_connection()
        try:
            batch = []
            for row in rows(n, office, now):
                batch.append(row + tuple(FIXED.values()) + (row[-1],))
                if len(batch) == 20_000:
                    raw.cursor().executemany(f'INSERT INTO "case" ({", ".join(columns)}) VALUES ({marks})', batch)
                    batch = []
            if batch:
                raw.cursor().executemany(f'INSERT INTO "case" ({", ".join(columns)}) VALUES ({marks})', batch)
            raw.commit()
        finally:
            raw.close()
    analyze()
    return time.perf_counter() - t0


def analyze():
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def time_searches(searches, repeat: int, like_only: bool = False) -> dict:
    out = {}
    pairs = (("like", old_search),) if like_only else (("like", old_search), ("fts", queues.apply_search))
    for label, typed in searches:
        for name, search in pairs:
            stmt = statement(search, typed)
            db.session.execute(stmt).all()  # warm the cache
            took = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                found = db.session.execute(stmt).all()
                took.append((time.perf_counter() - t0) * 1000)
            out.setdefault(label, {})[name] = (statistics.median(took), len(found))
        db.session.rollback()
    return out


def revision() -> str:
    return db.session.scalar(text("SELECT version_num FROM alembic_version"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    url = database_url(args.db, args.cases)
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": url})
    report = io.StringIO()
    with app.app_context():
        fresh = True
        try:
            fresh = revision() == BEFORE
        except Exception:  # noqa: BLE001 - no alembic_version yet: a new database
            db.session.rollback()
            upgrade(revision=BEFORE)
        seconds = fill(args.cases)
        count = db.session.scalar(select(db.func.count()).select_from(Case))
        print(f"{args.db}: {count:,} cases" + (f" (filled in {seconds:.0f} s)" if seconds else ""), file=report)
        sample = db.session.execute(
            select(Case.reference, Case.requester_mobile).order_by(Case.id).offset(count // 2).limit(1)).one()
        searches = [(label, {"a full reference": sample[0], "a reference in part": sample[0][8:14],
                             "a mobile": sample[1]}.get(label, typed)) for label, typed in SEARCHES]
        before = None
        if fresh and revision() == BEFORE:
            before = time_searches(searches, args.repeat, like_only=True)
            db.session.close()
            t0 = time.perf_counter()
            upgrade()
            print(f"the search's migration (indexes built over {count:,} cases): "
                  f"{time.perf_counter() - t0:.0f} s", file=report)
            analyze()
        after = time_searches(searches, args.repeat)
    print(file=report)
    print("| search | typed | LIKE before the migration | LIKE, indexes in place | full-text + trigram | rows |",
          file=report)
    print("|---|---|---:|---:|---:|---:|", file=report)
    for label, typed in searches:
        b = f"{before[label]['like'][0]:.1f} ms" if before else "–"
        print(f"| {label} | `{typed}` | {b} | {after[label]['like'][0]:.1f} ms | "
              f"{after[label]['fts'][0]:.1f} ms | {after[label]['fts'][1]} |", file=report)
    print(report.getvalue())


if __name__ == "__main__":
    main()
