"""Profile one page in-process: where does a request's time go?

    DATABASE_URL=... .venv/bin/python bench/profile_pages.py queue [--n 200] [--top 40]

Signs in the busiest Division's operator (or a Circle supervisor for the dashboard), warms the
page up, then runs it N times under cProfile and prints the mean time per request and the
functions with the most own time. Pages: queue, closed, partial, case, ticket, request, old-request (a doorstep request's page
before the one case page, for bench/ab.py --base-page), dashboard, doorstep, raise, track,
ceiling, floor (bench/ceiling.py's bare page, and the same table after a signed cookie and two
plain SELECTs on DATABASE_URL).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RATELIMIT_ENABLED", "0")
os.environ.setdefault("NOTIFY_EMAIL_BACKEND", "file")
os.environ.setdefault("NOTIFY_SMS_BACKEND", "file")

from sqlalchemy import text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402

DEMO_PASSWORD = "Seva@2026"


def one(sql: str):
    return db.session.execute(text(sql)).first()


def _server_cpu(pids) -> float:
    """Seconds of CPU (user + system) the given local processes have used."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--no-profile", action="store_true", help="only time the requests")
    ap.add_argument("--sql", action="store_true", help="print the SQL statements of one request")
    ap.add_argument("--no-ceiling", action="store_true", help="with --no-profile: skip the bare page")
    ap.add_argument("--db-cpu", action="store_true",
                    help="with --no-profile: also the CPU PostgreSQL's server processes spent per request "
                         "(a local server: read from /proc)")
    ap.add_argument("--callers", metavar="PATTERN", help="who calls the functions matching PATTERN")
    ap.add_argument("--callees", metavar="PATTERN", help="what the functions matching PATTERN call")
    args = ap.parse_args()
    app = create_app()
    backends: set[int] = set()  # the PostgreSQL server processes serving this process
    if args.db_cpu:
        from sqlalchemy import event

        with app.app_context():
            @event.listens_for(db.engine, "connect")
            def _backend_pid(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                cur.execute("SELECT pg_backend_pid()")
                backends.add(cur.fetchone()[0])
                cur.close()

            db.engine.dispose()  # connections from here on are seen
    with app.app_context():
        div_code, div_id = one('SELECT o.code, o.id FROM org_unit o JOIN "case" c ON c.current_office_id=o.id '
                               "WHERE o.kind='division' GROUP BY o.code, o.id ORDER BY COUNT(*) DESC LIMIT 1")
        div_user = one(f'SELECT login_id FROM "user" WHERE office_id={div_id} ORDER BY id LIMIT 1')[0]
        circle_user = one("SELECT u.login_id FROM \"user\" u JOIN user_role r ON r.user_id=u.id "
                          "JOIN org_unit o ON o.id=u.office_id WHERE o.kind='circle' AND "
                          "r.role='supervisor' ORDER BY u.id LIMIT 1")[0]
        ref = one(f"SELECT reference FROM \"case\" WHERE current_office_id={div_id} "
                  "AND status != 'closed' ORDER BY created_at DESC LIMIT 1")[0]
        track = one(f"SELECT reference FROM \"case\" WHERE current_office_id={div_id} "
                    "AND kind = 'service_request' ORDER BY created_at DESC LIMIT 1")[0]
        # the Division's newest open case of each of two kinds (`ticket`, `request`, `old-request`)
        open_of = {kind: one(f"SELECT reference FROM \"case\" WHERE current_office_id={div_id} AND kind = '{kind}' "
                             "AND status != 'closed' ORDER BY created_at DESC LIMIT 1")
                   for kind in ("office_ticket", "service_request")}
        pin = one("SELECT pincode FROM pincode WHERE division_id IS NOT NULL ORDER BY pincode LIMIT 1")[0]
        service = one("SELECT id FROM category WHERE kind='service_request' AND level='service' AND active "
                      "ORDER BY id LIMIT 1")[0]
        db.session.remove()

    client = app.test_client()
    user = circle_user if args.page == "dashboard" else div_user
    if args.page not in ("doorstep", "raise", "track"):
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/auth/login", data={"csrf_token": token, "login_id": user, "password": DEMO_PASSWORD})
    counter = iter(range(10**9))
    raise_token: list[str] = []
    stamp = int(time.time())

    from bench.ceiling import app as ceiling

    bare = ceiling.test_client()
    bare.get("/floor/cookie")  # the floor's signed session cookie

    def request():
        if args.page == "ceiling":  # the bare Flask + Jinja 50-row page, for comparison
            r = bare.get("/")
        elif args.page == "floor":  # the same table after a signed cookie and two plain SELECTs
            r = bare.get("/floor")
        elif args.page == "queue":
            r = client.get("/cases/?size=50")
        elif args.page == "closed":  # the queue over closed cases: 50 rows at every scale
            r = client.get("/cases/?status=closed&size=50")
        elif args.page == "partial":
            r = client.get("/cases/?q=&size=50", headers={"HX-Request": "true"})
        elif args.page == "case":
            r = client.get(f"/cases/{ref}")
        elif args.page == "ticket":  # an office ticket's case page
            r = client.get(f"/cases/{open_of['office_ticket'][0]}")
        elif args.page == "request":  # a doorstep request's case page
            r = client.get(f"/cases/{open_of['service_request'][0]}")
        elif args.page == "old-request":  # its page before the one case page (a 301 since)
            r = client.get(f"/doorstep/{open_of['service_request'][0]}")
        elif args.page == "dashboard":
            r = client.get("/dashboard/")
        elif args.page == "doorstep":
            r = client.get("/request")
        elif args.page == "track":
            r = client.get(f"/track/{track}")
        elif args.page == "raise":  # the same form the benchmark's wrk script sends
            if not raise_token:
                form = client.get("/request").get_data(as_text=True)
                field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', form).group(0)
                raise_token.append(re.search(r'value="([^"]*)"', field).group(1))
            n = next(counter)  # a mobile and e-mail per request: the same again shows the open one
            data = {"csrf_token": raise_token[0], "submission_key": f"prof-{stamp}-{n}",
                    "name": "Bench Citizen", "address": "12 Station Road", "pincode": str(pin),
                    "email": f"bench-{stamp}-{n}@example.in", "mobile": f"98{n % 100_000_000:08d}", "service": str(service),
                    "details": "Please come after 10 am."}
            r = client.post("/request", data=data)
        else:
            raise SystemExit(f"unknown page {args.page}")
        assert r.status_code in (200, 302, 303), (r.status_code, r.get_data(as_text=True)[:500])
        return r

    for _ in range(10):
        request()
    if args.sql:
        from sqlalchemy import event

        seen = []

        def log(conn, cursor, statement, *_):
            import traceback

            where = [f"{f.filename.rsplit('/app/', 1)[-1]}:{f.lineno} {f.name}" for f in traceback.extract_stack()
                     if "/app/" in f.filename and "site-packages" not in f.filename][-2:]
            seen.append(" ".join(statement.split())[:120] + "\n      from " + " < ".join(reversed(where)))

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", log)
        request()
        event.remove(engine, "before_cursor_execute", log)
        print(f"{args.page}: {len(seen)} SQL statements")
        for s in seen:
            print("  ", s)
        return
    t, cpu = time.perf_counter(), time.process_time()
    server_before = _server_cpu(backends)
    if args.no_profile:
        for _ in range(args.n):
            request()
    else:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.n):
            request()
        prof.disable()
    ms = (time.perf_counter() - t) / args.n * 1000
    cpu_ms = (time.process_time() - cpu) / args.n * 1000
    print(f"{args.page}: {ms:.2f} ms per request, {cpu_ms:.2f} ms of it this process's CPU "
          f"({args.n} requests{'' if args.no_profile else ', profiled'})")
    if backends:
        spent = _server_cpu(backends) - server_before
        print(f"PostgreSQL server processes: {spent / args.n * 1000:.3f} ms CPU per request "
              f"({len(backends)} connection(s); clock ticks of {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms)")
    if args.no_profile and not args.no_ceiling:
        # The bare Flask + Jinja 50-row page and the floor, timed the same way at the same moment.
        for name, path in (("ceiling", "/"), ("floor", "/floor")):
            for _ in range(10):
                bare.get(path)
            t, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.n):
                bare.get(path)
            c_ms = (time.perf_counter() - t) / args.n * 1000
            c_cpu = (time.process_time() - cpu) / args.n * 1000
            print(f"{name}: {c_ms:.2f} ms per request, {c_cpu:.2f} ms CPU; the page costs "
                  f"{ms / c_ms:.1f}× the {name}'s time, {cpu_ms / c_cpu:.1f}× its CPU")
    if not args.no_profile:
        stats = pstats.Stats(prof).sort_stats(args.sort)
        if args.callers:
            stats.print_callers(args.callers)
        elif args.callees:
            stats.print_callees(args.callees)
        else:
            stats.print_stats(args.top)


if __name__ == "__main__":
    main()
