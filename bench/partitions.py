"""Issue 28 item 6: the queue and the case page at a million and at ten million cases on
PostgreSQL, with `case` and `case_event` in monthly partitions (docs/performance.md,
"Monthly partitions").

    # a million cases, the revision before the partitions (bench-data raises oldest first)
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/p1m \\
        .venv/bin/flask --app wsgi db upgrade e6a4c2f8b1d3
    DATABASE_URL=... .venv/bin/flask --app wsgi bench-data --cases 1000000
    .venv/bin/python bench/partitions.py copy p1m p1m_plain   # a copy kept unpartitioned
    .venv/bin/python bench/partitions.py copy p1m p10m
    .venv/bin/python bench/partitions.py scale p10m --times 10  # ten cases for each one
    .venv/bin/python bench/partitions.py migrate p1m            # `flask db upgrade`, timed
    .venv/bin/python bench/partitions.py migrate p10m
    .venv/bin/python bench/partitions.py measure p1m p10m p1m_plain   # against the first

`scale` makes N cases of each: copy k of case i gets id (i-1)·N+k+1 and the same dates a
few milliseconds apart, so ids still grow with time and each month holds N times its
cases (the same two years, N times the volume: every office's queue N times as long);
the copies' references carry a suffix (`-3`), their events and attachment rows follow
them. The indexes of both tables are dropped for the load and made again after it, as a
restore would. `measure` serves the portal on each database with gunicorn (2 workers) and reads the
busiest Division's queue (50 rows), its htmx partial and a case page with wrk, one
request at a time (median ms) and with 16 connections (requests/s), the databases in turn
round after round; it prints the median of the rounds and each against the first."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.run import PG_ADMIN, RESULTS, Server, ensure_wrk, flask, login, pick, wrk  # noqa: E402

TABLES = ("case", "case_event", "attachment")
EXTRA_ENV: dict = {}


def url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _connect(name: str):
    return psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}", autocommit=True)


def copy(source: str, target: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {target} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {target} TEMPLATE {source}")


def _columns(conn, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
        "ORDER BY ordinal_position", (table,))]


def _mapped(n: int, column: str) -> str:
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE ({column} - 1) * {n} + k + 1 END"


def _select(conn, table: str, n: int) -> str:
    ids = {"case": ("id", "related_case_id", "repeat_of_id"), "case_event": ("id", "case_id"),
           "attachment": ("id", "case_id", "event_id")}[table]
    times = ("created_at", "updated_at", "closed_at", "at", "response_due", "resolution_due", "confirmation_due",
             "info_due", "first_response_at")
    out = []
    for c in _columns(conn, table):
        if c in ids:
            out.append(_mapped(n, c))
        elif c in times:
            out.append(f"{c} + k * interval '1 millisecond'")
        elif c in ("reference", "stored_name"):
            out.append(f"CASE WHEN k = 0 THEN {c} ELSE {c} || '-' || k END")
        elif c == "submission_key":
            out.append(f"CASE WHEN k = 0 THEN {c} END")
        else:
            out.append(c)
            continue
        out[-1] += f" AS {c}"
    return ", ".join(out)


def scale(name: str, n: int) -> None:
    """N cases for each case of an unpartitioned database (see the module's docstring)."""
    t0 = time.perf_counter()
    with _connect(name) as conn:
        if conn.execute("SELECT 1 FROM pg_partitioned_table").fetchone():
            raise SystemExit("scale an unpartitioned database (before `flask db upgrade` partitions it)")
        saved = {t: [r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes i WHERE schemaname = 'public' AND tablename = %s AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", (t,))] for t in TABLES}
        for t in TABLES:
            conn.execute(f'DROP TABLE IF EXISTS "scaled_{t}"')
            conn.execute(f'CREATE UNLOGGED TABLE "scaled_{t}" AS SELECT {_select(conn, t, n)} '
                         f'FROM "{t}", generate_series(0, {n - 1}) AS k ORDER BY "{t}".id, k')
            print(f"  {t}: copies made ({time.perf_counter() - t0:.0f} s)", flush=True)
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")  # no foreign-key triggers
            for t in TABLES:
                for sql in saved[t]:
                    conn.execute(f"DROP INDEX {sql.split(' ON ')[0].split()[-1]}")
            conn.execute('TRUNCATE "case", case_event, attachment CASCADE')  # and what points at them
            for t in TABLES:
                conn.execute(f'INSERT INTO "{t}" SELECT * FROM "scaled_{t}"')
                conn.execute(f'DROP TABLE "scaled_{t}"')
                print(f"  {t}: loaded ({time.perf_counter() - t0:.0f} s)", flush=True)
        for t in TABLES:
            for sql in saved[t]:
                conn.execute(sql)
            conn.execute(f"SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), (SELECT MAX(id) FROM \"{t}\"))")
            print(f"  {t}: indexed ({time.perf_counter() - t0:.0f} s)", flush=True)
        conn.execute("VACUUM (ANALYZE)")
    print(f"scaled {name} ×{n} in {time.perf_counter() - t0:.0f} s")


def migrate(name: str) -> None:
    env = _env(name)
    t = time.perf_counter()
    flask(env, "db", "upgrade")
    print(f"migrated {name} in {time.perf_counter() - t:.0f} s")
    with _connect(name) as conn:
        conn.execute("VACUUM (ANALYZE)")


def _env(name: str) -> dict:
    return {**os.environ, **EXTRA_ENV, "DATABASE_URL": url(name), "RATELIMIT_ENABLED": "0", "NOTIFY_EMAIL_BACKEND": "file",
            "NOTIFY_SMS_BACKEND": "file"}


def _target(name: str) -> tuple[dict, str, str, dict]:
    """(environment, signed-in user, case reference) of one database: the busiest Division
    and its newest open case that is not a copy (the same case at both scales)."""
    env = _env(name)
    division = pick(env, 'SELECT o.code, o.id FROM org_unit o JOIN "case" c ON c.current_office_id = o.id '
                         "WHERE o.kind = 'division' GROUP BY o.code, o.id ORDER BY COUNT(*) DESC LIMIT 1")[0]
    user = pick(env, f'SELECT login_id FROM "user" WHERE office_id = {division[1]} ORDER BY id LIMIT 1')[0][0]
    ref = pick(env, f"SELECT reference FROM \"case\" WHERE current_office_id = {division[1]} "
                    "AND status != 'closed' AND reference NOT LIKE '%-_' ORDER BY created_at DESC LIMIT 1")[0][0]
    counts = pick(env, 'SELECT (SELECT COUNT(*) FROM "case"), (SELECT COUNT(*) FROM case_event), '
                       "(SELECT COUNT(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
                       "WHERE p.relname = 'case')")[0]
    print(f"{name}: {counts[0]:,} cases, {counts[1]:,} events, {counts[2]} partitions of case; "
          f"Division {division[0]}, case {ref}")
    return env, user, ref, {"cases": counts[0], "events": counts[1], "case_partitions": counts[2],
                            "division": division[0], "case_ref": ref}


PAGES = (("division queue (50 rows)", "/cases/?size=50", ()),
         ("queue htmx partial", "/cases/?q=&size=50", ("HX-Request: true",)),
         ("case page", "/cases/{ref}", ()))


def measure(names: list[str], seconds: int, rounds: int) -> dict:
    """Each page of each database, round after round in turn (a shared machine drifts
    within minutes: alternating keeps the comparison fair); the median of the rounds."""
    wrk_bin = ensure_wrk()
    servers, found = {}, {}
    try:
        for name in names:
            env, user, ref, info = _target(name)
            srv = Server(env, "wsgi:app")
            servers[name] = srv
            cookie, _ = login(srv.base, user)
            found[name] = {**info, "cookie": cookie, "runs": {page: [] for page, _p, _h in PAGES}}
            for _page, path, extra in PAGES:  # warm both workers' caches and prepared statements
                wrk(wrk_bin, srv.base + path.format(ref=ref), 3, [f"Cookie: {cookie}", *extra], connections=2)
        for r in range(rounds):
            for name in names:
                srv, got = servers[name], found[name]
                for page, path, extra in PAGES:
                    url_ = srv.base + path.format(ref=got["case_ref"])
                    headers = [f"Cookie: {got['cookie']}", *extra]
                    one = wrk(wrk_bin, url_, seconds, headers, connections=1)
                    many = wrk(wrk_bin, url_, seconds, headers, connections=16)
                    got["runs"][page].append({"median_ms": one["median_ms"], "rps": many["rps"],
                                              "errors": one["errors"] + many["errors"]})
                    print(f"  round {r + 1}, {name}, {page}: {one['median_ms']} ms one at a time, "
                          f"{many['rps']:.0f} req/s with 16", flush=True)
    finally:
        for srv in servers.values():
            srv.stop()
    result = {"date": datetime.now().strftime("%Y-%m-%d %H:%M"), "seconds": seconds, "rounds": rounds,
              "databases": {}}
    for name, got in found.items():
        got.pop("cookie")
        got["pages"] = {page: {"median_ms": statistics.median(x["median_ms"] for x in runs),
                               "rps": statistics.median(x["rps"] for x in runs),
                               "errors": sum(x["errors"] for x in runs)} for page, runs in got["runs"].items()}
        result["databases"][name] = got
    base = names[0]
    print(f"\n| page | {' | '.join(f'{n}: ms (one at a time) / req/s (16)' for n in names)} | "
          + " | ".join(f"{n} vs {base}" for n in names[1:]) + " |")
    print("|---|" + "---|" * (2 * len(names) - 1))
    for page, _p, _h in PAGES:
        cells = [f"{result['databases'][n]['pages'][page]['median_ms']:.2f} / "
                 f"{result['databases'][n]['pages'][page]['rps']:.0f}" for n in names]
        b = result["databases"][base]["pages"][page]
        ratios = [f"{result['databases'][n]['pages'][page]['median_ms'] / b['median_ms'] - 1:+.1%} / "
                  f"{result['databases'][n]['pages'][page]['rps'] / b['rps'] - 1:+.1%}" for n in names[1:]]
        print(f"| {page} | {' | '.join(cells)} | {' | '.join(ratios)} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"partitions-{'-'.join(names)}-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"results: {out}")
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("copy")
    c.add_argument("source")
    c.add_argument("target")
    s = sub.add_parser("scale")
    s.add_argument("database")
    s.add_argument("--times", type=int, default=10)
    m = sub.add_parser("migrate")
    m.add_argument("database")
    r = sub.add_parser("measure")
    r.add_argument("databases", nargs="+", help="the first is the base of the comparison")
    r.add_argument("--seconds", type=int, default=10)
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--no-prepare", action="store_true",
                   help="as behind PgBouncer in transaction mode (DATABASE_POOLER=pgbouncer): no prepared statements")
    args = ap.parse_args()
    if args.command == "copy":
        copy(args.source, args.target)
    elif args.command == "scale":
        scale(args.database, args.times)
    elif args.command == "migrate":
        migrate(args.database)
    else:
        if args.no_prepare:
            EXTRA_ENV["DATABASE_POOLER"] = "pgbouncer"
        measure(args.databases, args.seconds, args.rounds)


if __name__ == "__main__":
    main()
