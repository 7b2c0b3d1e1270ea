"""Time (and optionally profile) the Circle dashboard in-process, one request at a time.

Signs in the first Circle supervisor of an existing database (the benchmark's choice,
`bench/run.py`) with the Flask test client and requests `/dashboard/` N times; prints the
median and the SQL time per request. Read-only: it never writes to the database (the
sign-in's `last_login` update aside, which is what the portal does on every sign-in).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/sevadesk_bench_10000 \\
        .venv/bin/python bench/profile_dashboard.py --runs 31 [--profile] [--url /dashboard/?days=90]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--url", default="/dashboard/")
    ap.add_argument("--profile", action="store_true", help="cProfile the timed requests")
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--sql", action="store_true", help="print each statement's median time")
    args = ap.parse_args()

    from sqlalchemy import event, text

    from app import create_app
    from app.extensions import db
    from app.services.administration.demo import DEMO_PASSWORD

    app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"], "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        login_id = db.session.execute(text(
            "SELECT u.login_id FROM \"user\" u JOIN user_role r ON r.user_id=u.id "
            "JOIN org_unit o ON o.id=u.office_id WHERE o.kind='circle' AND "
            "r.role='supervisor' ORDER BY u.id LIMIT 1")).scalar_one()
        engine = db.engine
    sql = {"n": 0, "t": 0.0}
    per_statement: dict[str, list[float]] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, executemany):
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, executemany):
        sql["n"] += 1
        dt = time.perf_counter() - conn.info.pop("t0")
        sql["t"] += dt
        per_statement.setdefault(" ".join(statement.split())[:160], []).append(dt * 1000)

    client = app.test_client()
    r = client.post("/auth/login", data={"login_id": login_id, "password": DEMO_PASSWORD})
    assert r.status_code in (302, 303), r.status_code
    for _ in range(3):  # warm-up: template compilation, statement caches
        r = client.get(args.url)
        assert r.status_code == 200, r.status_code
    times, sql_times, sql_counts = [], [], []
    per_statement.clear()
    prof = cProfile.Profile() if args.profile else None
    for _ in range(args.runs):
        sql["n"], sql["t"] = 0, 0.0
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        r = client.get(args.url)
        if prof:
            prof.disable()
        times.append((time.perf_counter() - t0) * 1000)
        sql_times.append(sql["t"] * 1000)
        sql_counts.append(sql["n"])
        assert r.status_code == 200
    print(f"{args.url} as {login_id}: median {statistics.median(times):.1f} ms "
          f"(min {min(times):.1f}, max {max(times):.1f}) over {args.runs}; "
          f"SQL {statistics.median(sql_times):.1f} ms in {statistics.median(sql_counts):.0f} statements; "
          f"{len(r.data):,} bytes")
    if args.sql:
        for stmt, ts in sorted(per_statement.items(), key=lambda kv: -sum(kv[1])):
            print(f"  {statistics.median(ts):7.2f} ms x{len(ts) / args.runs:.0f}  {stmt}")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
