"""Benchmark of the monitoring dashboard.

Seeds an office tree (CEPT → 4 Circles → 12 Regions → 48 Divisions → 240 Head Offices
→ 960 Sub Offices) and N cases with bulk inserts (COPY on PostgreSQL, executemany on
SQLite), then signs in as a Circle supervisor and requests the dashboard page
repeatedly, reporting the median response time. Numbers are reported, not asserted.

    DATABASE_URL=sqlite:////tmp/bench.sqlite .venv/bin/python bench/dashboard_bench.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python bench/dashboard_bench.py --cases 1000000 --runs 21

The database is emptied and rebuilt by the migrations unless --reuse is given and it
already holds the requested number of cases. Never point it at a database you want to keep.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KINDS = ("service_request", "office_ticket", "complaint", "interaction", "helpdesk")
STATUSES = (("closed", 60), ("open", 10), ("in_progress", 17), ("awaiting_info", 5),
            ("awaiting_confirmation", 5), ("pending_external", 3))
PASSWORD = "Bench-Password-1"
CASE_COLUMNS = ("id", "reference", "kind", "status", "category_id", "subject", "description", "priority",
                "channel", "raising_office_id", "current_office_id", "escalation_level", "sla_breached",
                "external_seconds", "customer_seconds", "data", "version", "created_at", "updated_at",
                "closed_at", "resolution_due")


def build_app(url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                       "RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://",
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "NOTIFY_EMAIL_BACKEND": "memory",
                       "NOTIFY_SMS_BACKEND": "memory", "TESTING": True})


def reset_schema(db, url: str) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    if url.startswith("postgresql"):
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade()


def seed_offices(db, circles: int = 4) -> tuple[list[tuple], int]:
    """Insert the office tree with explicit ids; returns (rows, id of the first Circle)."""
    from sqlalchemy import insert

    from app.models import OrgUnit
    from app.services.read_models import refcache

    rows: list[dict] = []

    def add(code, name, kind, parent):
        oid = len(rows) + 1
        path = (parent["path"] if parent else "/") + f"{oid}/"
        row = {"id": oid, "code": code, "name": name, "kind": kind, "parent_id": parent["id"] if parent else None,
               "path": path, "depth": (parent["depth"] + 1) if parent else 0, "active": True}
        rows.append(row)
        return row

    cept = add("CEPT", "CEPT", "cept", None)
    for c in range(circles):
        circle = add(f"C{c}", f"Circle {c}", "circle", cept)
        for r in range(3):
            region = add(f"C{c}R{r}", f"Region {c}.{r}", "region", circle)
            for d in range(4):
                div = add(f"C{c}R{r}D{d}", f"Division {c}.{r}.{d}", "division", region)
                for h in range(5):
                    ho = add(f"C{c}R{r}D{d}H{h}", f"Head Office {c}.{r}.{d}.{h}", "head_office", div)
                    for s in range(4):
                        add(f"C{c}R{r}D{d}H{h}S{s}", f"Sub Office {c}.{r}.{d}.{h}.{s}", "sub_office", ho)
    db.session.execute(insert(OrgUnit), rows)
    refcache.bump()  # a bulk write: running workers drop their cached reference data
    db.session.commit()
    return rows, rows[1]["id"]


def seed_categories(db) -> dict[str, list[int]]:
    from sqlalchemy import insert

    from app.models import Category
    from app.services.read_models import refcache

    rows, by_kind = [], {}
    for kind in KINDS:
        for i in range(5):
            cid = len(rows) + 1
            rows.append({"id": cid, "kind": kind, "level": "category", "code": f"{kind}-{i}",
                         "name_en": f"{kind} {i}", "name_hi": "", "name_fa": "", "active": True, "sort_order": i})
            by_kind.setdefault(kind, []).append(cid)
    db.session.execute(insert(Category), rows)
    refcache.bump()  # a bulk write: running workers drop their cached reference data
    db.session.commit()
    return by_kind


def case_rows(n: int, offices: list[dict], cats: dict, now: datetime, seed: int = 12):
    """Yield tuples in CASE_COLUMNS order."""
    rnd = random.Random(seed)
    holders = [o["id"] for o in offices if o["kind"] in ("division", "head_office", "sub_office")]
    holders += [o["id"] for o in offices if o["kind"] in ("region", "circle")] * 3
    statuses = [s for s, w in STATUSES for _ in range(w)]
    for i in range(1, n + 1):
        kind = KINDS[i % 5]
        status = rnd.choice(statuses)
        created = now - timedelta(seconds=rnd.randint(0, 120 * 86400))
        closed = created + timedelta(seconds=rnd.randint(600, 10 * 86400)) if status == "closed" else None
        if closed is not None and closed > now:
            closed = now
        office = rnd.choice(holders)
        yield (i, f"BN-{i:09d}", kind, status, rnd.choice(cats[kind]), "", "", f"P{rnd.randint(1, 4)}", "web",
               office, office, 0, rnd.random() < 0.08, 0, 0, "{}", 1, created, closed or created, closed,
               created + timedelta(days=7))


def seed_cases(db, n: int, offices, cats, now: datetime, chunk: int = 50_000) -> None:
    engine = db.engine
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur:
                with cur.copy(f'COPY "case" ({", ".join(CASE_COLUMNS)}) FROM STDIN') as copy:
                    for row in case_rows(n, offices, cats, now):
                        copy.write_row(row)
                rnd = random.Random(7)
                with cur.copy("COPY feedback (case_id, rating, comment, created_at) FROM STDIN") as copy:
                    for i in range(1, n + 1, 7):
                        copy.write_row((i, rnd.randint(1, 5), "", now))
                cur.execute("SELECT setval(pg_get_serial_sequence('case', 'id'), %s)", (n + 1,))
            raw.commit()
        finally:
            raw.close()
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        sql = f'INSERT INTO "case" ({", ".join(CASE_COLUMNS)}) VALUES ({", ".join("?" * len(CASE_COLUMNS))})'
        batch = []
        for row in case_rows(n, offices, cats, now):
            batch.append(tuple(v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in row))
            if len(batch) >= chunk:
                cur.executemany(sql, batch)
                batch.clear()
        if batch:
            cur.executemany(sql, batch)
        rnd = random.Random(7)
        cur.executemany("INSERT INTO feedback (case_id, rating, comment, created_at) VALUES (?, ?, '', ?)",
                        [(i, rnd.randint(1, 5), now.isoformat(sep=" ")) for i in range(1, n + 1, 7)])
        raw.commit()
    finally:
        raw.close()


def analyze(db) -> None:
    """Fresh statistics (and, on PostgreSQL, a visibility map for index-only scans)."""
    engine = db.engine
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            raw.driver_connection.autocommit = True
            with raw.driver_connection.cursor() as cur:
                for table in ('"case"', "feedback", "org_unit", "category", "case_tally", "case_day_tally",
                              "case_flow_tally", "case_disposal_tally"):
                    cur.execute(f"VACUUM ANALYZE {table}")
        else:
            raw.cursor().execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()


def measure(app, login_id: str, runs: int, path: str = "/dashboard/") -> list[float]:
    client = app.test_client()
    r = client.post("/auth/login", data={"login_id": login_id, "password": PASSWORD})
    if r.status_code not in (302, 303):
        raise SystemExit(f"login failed: {r.status_code}")
    for _ in range(2):  # warm-up (caches, query plans)
        assert client.get(path).status_code == 200
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        resp = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, resp.status_code
    return times


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases to seed (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=21, help="timed requests (default 21)")
    parser.add_argument("--reuse", action="store_true", help="keep existing data when it has --cases cases")
    parser.add_argument("--circles", type=int, default=4, help="Circles in the office tree (default 4)")
    parser.add_argument("--path", default="/dashboard/", help="page to time (default /dashboard/)")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("Set DATABASE_URL (sqlite:///... or postgresql+psycopg://...)")

    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Case, OrgUnit, User

    app = build_app(url)
    with app.app_context():
        have = None
        if args.reuse:
            try:
                have = db.session.scalar(select(func.count()).select_from(Case))
            except Exception:  # noqa: BLE001 - no schema yet
                db.session.rollback()
        t0 = time.perf_counter()
        if have != args.cases:
            reset_schema(db, url)
            offices, _circle_id = seed_offices(db, args.circles)
            cats = seed_categories(db)
            seed_cases(db, args.cases, offices, cats, datetime.utcnow())
            from app.services.read_models import tallies

            tallies.rebuild()  # COPY bypasses the hook that keeps the dashboard counters
            seeded = time.perf_counter() - t0
        else:
            from flask_migrate import upgrade

            upgrade()  # an index added since the data was seeded is built now
            seeded = 0.0
        analyze(db)
        circle = db.session.scalar(select(OrgUnit).where(OrgUnit.kind == "circle").order_by(OrgUnit.id))
        user = db.session.scalar(select(User).where(User.login_id == "BENCHC1"))
        if user is None:
            user = User(login_id="BENCHC1", name="Circle supervisor", office_id=circle.id)
            user.set_password(PASSWORD)
            user.set_roles(["supervisor", "monitor"])
            db.session.add(user)
            db.session.commit()
        in_circle = db.session.scalar(
            select(func.count()).select_from(Case).join(OrgUnit, OrgUnit.id == Case.current_office_id)
            .where(OrgUnit.path.like(f"{circle.path}%")))
        dialect = db.engine.dialect.name
        login_id = user.login_id
    times = measure(app, login_id, args.runs, args.path)
    result = {"dialect": dialect, "cases": args.cases, "cases_in_circle": in_circle, "seed_seconds": round(seeded, 1),
              "runs": args.runs, "median_ms": round(statistics.median(times), 1),
              "p90_ms": round(sorted(times)[int(0.9 * (len(times) - 1))], 1), "min_ms": round(min(times), 1)}
    print(f"{dialect}: {args.cases:,} cases ({in_circle:,} in the Circle), seeded in {result['seed_seconds']} s; "
          f"{args.path} for a Circle over {args.runs} runs: median {result['median_ms']} ms, "
          f"p90 {result['p90_ms']} ms, min {result['min_ms']} ms")
    return result


if __name__ == "__main__":
    main()
