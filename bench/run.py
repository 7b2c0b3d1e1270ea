"""Benchmark runner (`make bench`): seeds a large database, serves the portal with
gunicorn (2 sync workers) on 127.0.0.1 and measures pages with wrk, next to a bare
Flask + Jinja ceiling (measured before the pages and again after them); then times the timer
sweep and reads each worker's peak RSS.

    .venv/bin/python bench/run.py --cases 1000000 --db both --duration 15
    .venv/bin/python bench/run.py --cases 10000,1000000 --db postgres   # is page cost flat?

Measured: the Division queue (50 rows) and its htmx partial, a case page, the Circle
dashboard, the Circle league and heat table (week, and quarter), a CSV export of 10,000
rows, the doorstep form GET and POST (raising a
request, each POST with its own submission key), tracking by reference; the timer sweep
with 10,000 cases due; peak RSS per worker; EXPLAIN plans of the main queries.

Figures are printed and written to bench/results/ (git-ignored). Nothing is asserted:
targets are compared and reported.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "sevadesk_bench"
DEMO_PASSWORD = "Seva@2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    print("installing wrk (Debian package)...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    return shutil.which("wrk")


def db_name(cases: int) -> str:
    """The scratch database of one scale (the million-case one keeps the plain name)."""
    return PG_DB if cases == 1_000_000 else f"{PG_DB}_{cases}"


def db_url(kind: str, cases: int = 1_000_000) -> str:
    if kind == "sqlite":
        RESULTS.mkdir(parents=True, exist_ok=True)
        name = "bench.sqlite" if cases == 1_000_000 else f"bench-{cases}.sqlite"
        return f"sqlite:///{RESULTS / name}"
    import psycopg

    name = db_name(cases)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,)).fetchone():
            conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def flask(env, *args, check=True, capture=False):
    return subprocess.run([str(VENV / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=check,
                          capture_output=capture, text=True)


def case_count(env) -> int:
    code = ("from app import create_app; from app.extensions import db; from app.models import Case;"
            "from sqlalchemy import func, select;"
            "app=create_app();\nwith app.app_context(): print(db.session.scalar(select(func.count(Case.id))))")
    out = subprocess.run([str(VENV / "python"), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        return int(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return 0


def seed(env, n: int, fresh: bool) -> float:
    if fresh and env["DATABASE_URL"].startswith("sqlite"):
        Path(env["DATABASE_URL"][len("sqlite:///"):]).unlink(missing_ok=True)
    if fresh and env["DATABASE_URL"].startswith("postgresql"):
        import psycopg

        name = db_name(n)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    flask(env, "db", "upgrade")
    have = case_count(env)
    if have >= n:
        print(f"  database already holds {have:,} cases: reused")
        return 0.0
    t = time.perf_counter()
    flask(env, "bench-data", "--cases", str(n - have), "--due", str(min(10_000, n // 10)))
    return time.perf_counter() - t


class Server:
    def __init__(self, env, app_spec: str, workers: int = 2):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(VENV / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--log-level", "warning",
             app_spec], cwd=ROOT, env=env, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(self.base + "/", timeout=2)
                return
            except Exception:  # noqa: BLE001 - still starting
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def worker_peak_rss_mb(self) -> list[float]:
        out = []
        for child in Path("/proc").glob("[0-9]*"):
            try:
                status = (child / "status").read_text()
            except OSError:
                continue
            if re.search(rf"PPid:\s+{self.proc.pid}\b", status):
                m = re.search(r"VmHWM:\s+(\d+) kB", status)
                if m:
                    out.append(round(int(m.group(1)) / 1024, 1))
        return out

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)


def login(base: str, login_id: str) -> tuple[str, str]:
    """(Cookie header, CSRF token) for a signed-in demo user."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/auth/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "login_id": login_id, "password": DEMO_PASSWORD}).encode()
    opener.open(base + "/auth/login", data=data)
    page = opener.open(base + "/").read().decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, token


def wrk(wrk_bin, url, duration, headers=(), script=None, connections: int = 16) -> dict:
    cmd = [wrk_bin, f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--latency",
           "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    median_ms = None
    if p50:
        v, unit = float(p50.group(1)), p50.group(2)
        median_ms = v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    return {"rps": float(rps.group(1)) if rps else 0.0, "median_ms": median_ms,
            "errors": int(non2xx.group(1)) if non2xx else 0}


def pick(env, sql: str) -> list:
    code = ("import json; from app import create_app; from app.extensions import db; from sqlalchemy import text;"
            f"app=create_app();\nwith app.app_context(): print(json.dumps([list(r) for r in db.session.execute(text({sql!r}))], default=str))")
    out = subprocess.run([str(VENV / "python"), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


SWEEP_CODE = """
import json, time
from datetime import datetime, timedelta
from sqlalchemy import func, select, text, update
from app import create_app
from app.extensions import db
from app.models import Case
from app.services.engine import flow, timers
from app.services.read_models import tallies

app = create_app()
with app.app_context():
    now = datetime.utcnow()
    due = Case.confirmation_due <= now
    have = db.session.scalar(select(func.count()).where(Case.status == "awaiting_confirmation", due))
    if have < WANT:
        # Re-arm: an earlier run closed the due cases; put closed complaints back.
        ids = select(Case.id).where(Case.kind == "complaint", Case.status == "closed").order_by(Case.id.desc()) \
            .limit(WANT - have).scalar_subquery()
        db.session.execute(update(Case).where(Case.id.in_(ids)).values(
            status="awaiting_confirmation", confirmation_due=now - timedelta(hours=1), closed_at=None,
            resolution=None))
        db.session.commit()
        tallies.rebuild()
    if db.engine.dialect.name == "postgresql":
        # The re-armed cases' old row versions, as autovacuum would have cleared them long
        # before a live server's confirmations fell due (it may be off, as on the sixth round's machine).
        db.session.commit()  # no open snapshot of ours holding the old versions back
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql('VACUUM (ANALYZE) "case", case_tally')
    # PostgreSQL: the write-ahead log the sweep wrote (index entries, and the whole of each
    # page it is the first to change since the last checkpoint), a figure the machine's
    # speed does not move as it moves the seconds. A checkpoint first, so every run pays
    # for the pages it touches, not for wherever the server's own checkpoints happen to fall.
    pg = db.engine.dialect.name == "postgresql"
    if pg:
        db.session.execute(text("CHECKPOINT"))
    lsn = db.session.scalar(text("SELECT pg_current_wal_lsn()")) if pg else None
    db.session.commit()
    t = time.perf_counter()
    counts = timers.sweep(now)
    seconds = time.perf_counter() - t
    wal = {"wal_mb": round(float(db.session.scalar(
        text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:lsn AS pg_lsn))"), {"lsn": str(lsn)})) / 2**20,
        1)} if pg else {}
    changed = db.session.scalar(select(func.count()).where(Case.updated_at == now))
    # Put the closing times back in the past: 10,000 cases "closed today" by every run
    # would inflate the next run's dashboard trend.
    db.session.execute(update(Case).where(Case.updated_at == now, Case.status == "closed")
                       .values(closed_at=Case.created_at))
    tallies.rebuild_days()  # a bulk UPDATE of closing times: the per-day counters follow
    flow.rebuild()  # and the league's
    db.session.commit()
    print(json.dumps({"seconds": round(seconds, 2), "due_before": max(have, WANT), "cases_changed": changed,
                      **wal, **counts}))
"""


PURGE_CODE = """
import json
from sqlalchemy import delete, select
from app import create_app
from app.extensions import db
from app.models import Case
from app.services.read_models import tallies

app = create_app()
with app.app_context():
    ids = select(Case.id).where(Case.requester_name == "Bench Citizen").scalar_subquery()
    n = 0
    for table in reversed(db.metadata.sorted_tables):  # rows that point at those cases first
        for fk in table.foreign_keys:
            if fk.column.table.name == "case" and table.name != "case":
                db.session.execute(delete(table).where(fk.parent.in_(ids)))
    n = db.session.execute(delete(Case).where(Case.requester_name == "Bench Citizen")).rowcount
    db.session.commit()
    if n:
        tallies.rebuild()
    print(json.dumps({"purged": n}))
"""


def purge_raised(env) -> int:
    """Delete the cases earlier runs raised by POST (and their rows), so that every run
    measures the generated data: otherwise the newest cases of a queue would be the last
    run's one-event doorstep requests."""
    out = subprocess.run([str(VENV / "python"), "-c", PURGE_CODE], cwd=ROOT, env=env, capture_output=True,
                         text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])["purged"]
    except (ValueError, IndexError, KeyError):
        raise RuntimeError(out.stderr[-2000:]) from None


def vacuum(env) -> dict:
    """PostgreSQL: VACUUM (ANALYZE) the database, as autovacuum would by the time a live
    server's cases were read, and report whether autovacuum is on. The runner's own churn
    (the cases the last run raised, deleted; the sweep's re-armed and closed cases) leaves
    dead row versions that every index scan of the next run would step over — with
    autovacuum off, as on the sixth round's machine, for good. SQLite: nothing to do."""
    url = env["DATABASE_URL"]
    if not url.startswith("postgresql"):
        return {}
    import psycopg

    t = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        autovacuum = conn.execute("SHOW autovacuum").fetchone()[0]
        conn.execute("VACUUM (ANALYZE)")
    return {"vacuum_seconds": round(time.perf_counter() - t, 1), "autovacuum": autovacuum}


def time_sweep(env, want: int) -> dict:
    code = SWEEP_CODE.replace("WANT", str(want))
    out = subprocess.run([str(VENV / "python"), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": out.stderr[-500:]}


RAISE_LUA = """
-- POST the doorstep form: one session (cookie + CSRF token), a fresh submission key,
-- mobile and e-mail per request so that every POST raises a new case (the same mobile or
-- e-mail for the same service again is shown the open request instead: repeats at intake).
local counter, tid = 0, 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) tid = tonumber(wrk.thread:get("tid")) or 0 end
function request()
  counter = counter + 1
  local body = "csrf_token=" .. TOKEN .. "&submission_key=bench-" .. tid .. "-" .. counter .. "-" .. RUN ..
    "&name=Bench+Citizen&address=12+Station+Road&pincode=" .. PIN .. "&email=bench-" .. tid .. "-" .. counter .. "-" .. RUN .. "%40example.in" ..
    "&mobile=98" .. string.format("%08d", (tid * 1000003 + counter) % 100000000) ..
    "&service=" .. SERVICE .. "&details=Please+come+after+10+am."
  return wrk.format("POST", "/request", {["Content-Type"] = "application/x-www-form-urlencoded",
                                         ["Cookie"] = COOKIE}, body)
end
"""


def raise_script(base: str, env, measured_division: int) -> tuple[str, str]:
    """A wrk script that raises doorstep requests, and the Cookie it uses. They go to a
    Division other than the one whose queue and case page are measured."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/request").read().decode()
    field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page).group(0)
    token = re.search(r'value="([^"]*)"', field).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    pin = pick(env, "SELECT pincode FROM pincode WHERE division_id IS NOT NULL "
                    f"AND division_id <> {int(measured_division)} ORDER BY pincode LIMIT 1")[0][0]
    service = pick(env, "SELECT id FROM category WHERE kind='service_request' AND level='service' AND active "
                        "ORDER BY id LIMIT 1")[0][0]
    lua = (RAISE_LUA.replace("TOKEN", json.dumps(urllib.parse.quote(token)))
           .replace("COOKIE", json.dumps(cookie)).replace("PIN", json.dumps(str(pin)))
           .replace("SERVICE", json.dumps(str(service))).replace("RUN", json.dumps(str(int(time.time())))))
    path = RESULTS / "raise.lua"
    path.write_text(lua)
    return str(path), cookie


EXPLAIN_CODE = """
import json
from datetime import datetime
from sqlalchemy import func, select, text
from app import create_app
from app.domain import workflow as wf
from app.extensions import db
from app.models import Case, OrgUnit, User
from app.services.engine import access, timers
from app.services.read_models import dashboards, queues

app = create_app()
with app.app_context():
    dialect = db.engine.dialect.name
    division = db.session.get(OrgUnit, DIVISION)
    circle = db.session.get(OrgUnit, CIRCLE)
    now = datetime.utcnow()
    f = dashboards.Filters()
    q = select(Case).where(Case.current_office_id == division.id, Case.status != wf.CLOSED) \
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(51)
    g = dashboards._grouped(circle, f, now)
    rules = {name: (condition, statuses, kinds) for name, condition, statuses, _, kinds in timers.rules(now)}
    stmts = {
        "division queue, first page (50 rows)": q,
        "circle dashboard: grouped counts (counters + recent cases)": select(func.count()).select_from(g),
        "circle dashboard: trend, raised and closed per day (day counters)": dashboards._trend_statement(circle, f, now),
        # the sweep's own statements (`timers.rules`), as it reads its first chunk of due ids
        "timer sweep: confirmations due": timers._due_query(*rules["auto_closed"], 0, timers.CHUNK),
        "timer sweep: complaints and helpdesk cases overdue": timers._due_query(*rules["escalated"], 0,
                                                                              timers.CHUNK),
        "tracking by reference": select(Case).where(Case.reference == "SR-2611-XXXXXXX"),
    }
    out = {}
    for name, stmt in stmts.items():
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN ANALYZE " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
        rows = db.session.execute(text(prefix + sql)).all()
        out[name] = [r[0] if dialect == "postgresql" else r[-1] for r in rows]
    print(json.dumps(out))
"""


def explain(env, division_id: int, circle_id: int) -> dict:
    code = EXPLAIN_CODE.replace("DIVISION", str(division_id)).replace("CIRCLE", str(circle_id))
    out = subprocess.run([str(VENV / "python"), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": [out.stderr[-800:]]}


def versions(env) -> dict:
    code = ("import json, sqlite3, platform, flask, sqlalchemy; from app import create_app; "
            "from app.extensions import db; from sqlalchemy import text; app=create_app();\n"
            "with app.app_context():\n v = db.session.execute(text('SELECT version()')).scalar() "
            "if db.engine.dialect.name == 'postgresql' else 'SQLite ' + sqlite3.sqlite_version\n"
            " print(json.dumps({'python': platform.python_version(), 'flask': flask.__version__, "
            "'sqlalchemy': sqlalchemy.__version__, 'database': v.split(' on ')[0]}))")
    out = subprocess.run([str(VENV / "python"), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}


def measure_ceiling(env, wrk_bin, duration: int) -> tuple[dict, dict, dict]:
    """The bare Flask + Jinja 50-row page: compiled once (the ceiling), as the first two
    rounds measured it (compiled on every request), and the floor (`/floor`: the same
    table after a signed cookie and two plain SELECTs, the least a signed-in page of a
    database-backed application does)."""
    srv = Server({**env, "CEILING_SECRET_KEY": secrets.token_hex(32)}, "bench.ceiling:app")
    try:
        with urllib.request.urlopen(srv.base + "/floor/cookie", timeout=30) as resp:
            cookie = resp.headers["Set-Cookie"].split(";", 1)[0]
        return (wrk(wrk_bin, srv.base + "/", duration), wrk(wrk_bin, srv.base + "/compiled-per-request", duration),
                wrk(wrk_bin, srv.base + "/floor", duration, [f"Cookie: {cookie}"]))
    finally:
        srv.stop()


def _mean_of(before: dict, after: dict) -> dict:
    """One ceiling figure from the measurements before and after the pages (both kept)."""
    def mean(key):
        vals = [m[key] for m in (before, after) if m.get(key) is not None]
        return round(sum(vals) / len(vals), 2) if vals else None

    return {"rps": mean("rps") or 0.0, "median_ms": mean("median_ms"),
            "errors": before.get("errors", 0) + after.get("errors", 0),
            "before_rps": before["rps"], "after_rps": after["rps"]}


def _ratio(rps: float, ceiling: float) -> float | None:
    return round(rps / ceiling, 3) if ceiling else None


# The pages the first target names, measured once more against the floor side by side.
PAIRED = ("division queue (50 rows)", "queue htmx partial", "case page")


def _paired_summary(page_rps: list[float], floor_rps: list[float]) -> dict:
    """Rounds of (floor, page) measured one after the other: each round's ratio, and
    their median — what the page keeps of the floor with the machine in the same state."""
    ratios = [round(p / f, 3) if f else None for p, f in zip(page_rps, floor_rps, strict=True)]
    known = [r for r in ratios if r is not None]
    return {"page_rps": page_rps, "floor_rps": floor_rps, "ratios": ratios,
            "median": round(statistics.median(known), 3) if known else None}


def paired_with_floor(env, wrk_bin, requests: dict, rounds: int, seconds: int) -> dict:
    """Each of `requests` ({page: (url, headers)}, on a running portal) against the floor,
    alternately: floor, page, floor, page… `rounds` times, `seconds` each. The main table
    reads every page against a floor measured minutes before and after it, and on a shared
    machine a page's own figure moves by a tenth or more between runs; side by side, the
    ratio is steadier (and the runner's order does not favour one side)."""
    srv = Server({**env, "CEILING_SECRET_KEY": secrets.token_hex(32)}, "bench.ceiling:app")
    try:
        with urllib.request.urlopen(srv.base + "/floor/cookie", timeout=30) as resp:
            floor_cookie = resp.headers["Set-Cookie"].split(";", 1)[0]
        out = {}
        for name, (url, headers) in requests.items():
            pages, floors = [], []
            for _ in range(rounds):
                floors.append(wrk(wrk_bin, srv.base + "/floor", seconds, [f"Cookie: {floor_cookie}"])["rps"])
                pages.append(wrk(wrk_bin, url, seconds, headers)["rps"])
            out[name] = _paired_summary(pages, floors)
            print(f"  {name} side by side with the floor: {out[name]}")
        return out
    finally:
        srv.stop()


def paired_table(all_results) -> str:
    """The side-by-side measurements, a line per page."""
    lines = []
    for r in all_results:
        for name, p in r.get("paired", {}).items():
            each = ", ".join(f"{x:.0f}" for x in p["page_rps"])
            floors = ", ".join(f"{x:.0f}" for x in p["floor_rps"])
            ratios = ", ".join(str(x) for x in p["ratios"])
            lines.append(f"| {r['db']} | {r['cases']:,} | {name} | {each} | {floors} | {ratios} | {p['median']} |")
    if not lines:
        return ""
    return ("| db | cases | page | page req/s, each round | floor req/s, each round | × floor, each round "
            "| × floor, median |\n|---|---|---|---|---|---|---|\n" + "\n".join(lines))


def run_one(kind: str, cases: int, args, wrk_bin: str) -> dict:
    env = {**os.environ, "DATABASE_URL": db_url(kind, cases), "RATELIMIT_ENABLED": "0",
           "NOTIFY_EMAIL_BACKEND": "file", "NOTIFY_SMS_BACKEND": "file", "EXPORT_MAX_ROWS": "10000"}
    print(f"== {kind}: seeding {cases:,} cases")
    seed_seconds = seed(env, cases, args.fresh)
    purged = purge_raised(env)
    if purged:
        print(f"  removed {purged:,} cases raised by earlier runs")
    vacuumed = vacuum(env)
    if vacuumed:
        print(f"  VACUUM (ANALYZE): {vacuumed['vacuum_seconds']} s (the server's autovacuum: {vacuumed['autovacuum']})")
    # the busiest division and a case it holds; a circle supervisor
    division = pick(env, 'SELECT o.code, o.id FROM org_unit o JOIN "case" c ON c.current_office_id=o.id '
                         "WHERE o.kind='division' GROUP BY o.code, o.id ORDER BY COUNT(*) DESC LIMIT 1")[0]
    div_user = pick(env, f"SELECT login_id FROM \"user\" WHERE office_id={division[1]} ORDER BY id LIMIT 1")[0][0]
    circle_user, circle_id = pick(env, "SELECT u.login_id, o.id FROM \"user\" u JOIN user_role r ON r.user_id=u.id "
                                       "JOIN org_unit o ON o.id=u.office_id WHERE o.kind='circle' AND "
                                       "r.role='supervisor' ORDER BY u.id LIMIT 1")[0]
    ref = pick(env, f"SELECT reference FROM \"case\" WHERE current_office_id={division[1]} "
                    "AND status != 'closed' ORDER BY created_at DESC LIMIT 1")[0][0]
    # tracking is for doorstep requests (a citizen's reference)
    track_ref = pick(env, f"SELECT reference FROM \"case\" WHERE current_office_id={division[1]} "
                          "AND kind = 'service_request' ORDER BY created_at DESC LIMIT 1")[0][0]
    results = {"db": kind, "cases": cases, "seed_seconds": round(seed_seconds, 1), "pages": {},
               # which case the case page and tracking showed: runs compare only on the same kind
               # of case (a complaint's page reads more than a doorstep request's)
               "case_ref": ref, "track_ref": track_ref, "division": division[0],
               "versions": versions(env), **vacuumed, "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
               "machine": f"{os.cpu_count()} cores, {platform.machine()}, {platform.platform()}"}

    # The ceiling is measured before the pages and again after them, and the pages are read
    # against the mean of the two: on a shared machine it drifts by a quarter within minutes.
    bare_before = measure_ceiling(env, wrk_bin, args.duration)
    print(f"  ceiling before the pages: {bare_before[0]}; compiled per request: {bare_before[1]}; "
          f"floor: {bare_before[2]}")

    srv = Server(env, "wsgi:app")
    try:
        div_cookie, _ = login(srv.base, div_user)
        circle_cookie, _ = login(srv.base, circle_user)
        lua, raise_cookie = raise_script(srv.base, env, division[1])
        pages = [
            ("division queue (50 rows)", "/cases/?size=50", div_cookie, [], None),
            ("queue htmx partial", "/cases/?q=&size=50", div_cookie, ["HX-Request: true"], None),
            # The same page over closed cases: 50 rows at every scale (a small database's
            # busiest Division may have fewer open cases than a page holds).
            ("division queue, closed cases (50 rows)", "/cases/?status=closed&size=50", div_cookie, [], None),
            ("case page", f"/cases/{ref}", div_cookie, [], None),
            ("circle dashboard", "/dashboard/", circle_cookie, [], None),
            ("circle dashboard, one request at a time", "/dashboard/", circle_cookie, [], "c1"),
            # issue 27: the league table, its charts and the heat table are one page
            ("circle league and heat table", "/dashboard/league", circle_cookie, [], None),
            ("circle league and heat table, one request at a time", "/dashboard/league", circle_cookie, [], "c1"),
            ("circle league, quarter, one request at a time", "/dashboard/league?period=quarter", circle_cookie,
             [], "c1"),
            ("CSV export, 10,000 rows", "/cases/export.csv?status=closed", div_cookie, [], None),
            ("doorstep form GET", "/request", None, [], None),
            ("doorstep form POST (raise)", "/request", raise_cookie, [], lua),
            ("tracking by reference", f"/track/{track_ref}", None, [], None),
        ]
        for name, path, cookie, extra, script in pages:
            connections = 16
            if script == "c1":  # the page's own time, without 16 clients queueing for 2 workers
                script, connections = None, 1
            if script is None:
                probe = urllib.request.Request(srv.base + path, headers={"Cookie": cookie or ""})
                try:
                    with urllib.request.urlopen(probe, timeout=60) as resp:
                        status, body = resp.status, resp.read()
                except urllib.error.HTTPError as exc:
                    status, body = exc.code, b""
                if status != 200:
                    results["pages"][name] = {"skipped": f"HTTP {status}"}
                    print(f"  {name}: skipped (HTTP {status})")
                    continue
                if path.startswith("/cases/export.csv"):
                    results["export_rows"] = body.count(b"\n") - 1
                shown = body.count(b"<tr") - 1 if path.startswith("/cases/?") else None  # less the header
            headers = [f"Cookie: {cookie}"] if cookie and not script else []
            before = case_count(env) if script else None
            r = wrk(wrk_bin, srv.base + path, args.duration, headers + extra, script=script,
                    connections=connections)
            if script:
                r["cases_raised"] = case_count(env) - before
            elif shown is not None:
                r["rows_shown"] = shown
            results["pages"][name] = r
            print(f"  {name}: {r}")
        results["rss_mb_per_worker"] = srv.worker_peak_rss_mb()
        if args.paired_rounds:
            wanted = {name: (srv.base + path, [f"Cookie: {cookie}"] + extra)
                      for name, path, cookie, extra, _ in pages if name in PAIRED}
            results["paired"] = paired_with_floor(env, wrk_bin, wanted, args.paired_rounds,
                                                  args.paired_seconds)
    finally:
        srv.stop()
    bare_after = measure_ceiling(env, wrk_bin, args.duration)
    print(f"  ceiling after the pages: {bare_after[0]}; compiled per request: {bare_after[1]}; "
          f"floor: {bare_after[2]}")
    results["ceiling"] = _mean_of(bare_before[0], bare_after[0])
    results["ceiling_compiled_per_request"] = _mean_of(bare_before[1], bare_after[1])
    results["floor"] = _mean_of(bare_before[2], bare_after[2])
    for name, r in results["pages"].items():
        if "rps" in r:
            r["ratio"] = _ratio(r["rps"], results["ceiling"]["rps"])
            r["ratio_compiled_per_request"] = _ratio(r["rps"], results["ceiling_compiled_per_request"]["rps"])
            r["ratio_floor"] = _ratio(r["rps"], results["floor"]["rps"])
            print(f"  {name}: {r['ratio']}× ceiling ({r['ratio_compiled_per_request']}× compiled per request, "
                  f"{r['ratio_floor']}× floor)")
    results["sweep"] = time_sweep(env, min(10_000, cases // 10))
    results["explain"] = explain(env, division[1], circle_id)
    print(f"  sweep: {results['sweep']}; peak RSS per worker: {results['rss_mb_per_worker']} MB")
    return results


TARGETS = {
    "division queue (50 rows)": "≥ 0.5× ceiling",
    "queue htmx partial": "≥ 0.5× ceiling",
    "case page": "≥ 0.5× ceiling",
    "circle dashboard, one request at a time": "median ≤ 100 ms",
    # issue 27 item 5: the league and heat table answer within the dashboard's budget
    "circle league and heat table, one request at a time": "median ≤ 100 ms",
    "circle league, quarter, one request at a time": "median ≤ 100 ms",
    "doorstep form POST (raise)": "≥ 200/s",
}


def table(all_results) -> str:
    lines = ["| db | cases | page | req/s | median ms | × ceiling | × ceiling compiled per request | × floor | target |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in all_results:
        c, old, floor = r["ceiling"], r.get("ceiling_compiled_per_request", {}), r.get("floor", {})
        old_rps, floor_rps = old.get("rps"), floor.get("rps")

        def vs(rps, base):
            return round(rps / base, 3) if base else "–"

        drift = f" (before {c['before_rps']:.0f}, after {c['after_rps']:.0f})" if "before_rps" in c else ""
        lines.append(f"| {r['db']} | {r['cases']:,} | ceiling (bare Flask + Jinja, 50 rows){drift} | {c['rps']:.0f} | "
                     f"{c['median_ms']} | 1.0 | {vs(c['rps'], old_rps)} | {vs(c['rps'], floor_rps)} | |")
        if old_rps:
            lines.append(f"| {r['db']} | {r['cases']:,} | ceiling, template compiled per request (rounds 1–2) | "
                         f"{old_rps:.0f} | {old['median_ms']} | {vs(old_rps, c['rps'])} | 1.0 | "
                         f"{vs(old_rps, floor_rps)} | |")
        if floor_rps:
            lines.append(f"| {r['db']} | {r['cases']:,} | floor: signed cookie + 2 plain SELECTs + the same table | "
                         f"{floor_rps:.0f} | {floor['median_ms']} | {vs(floor_rps, c['rps'])} | "
                         f"{vs(floor_rps, old_rps)} | 1.0 | |")
        for name, p in r["pages"].items():
            if "skipped" in p:
                lines.append(f"| {r['db']} | {r['cases']:,} | {name} | – | – | {p['skipped']} | | | |")
                continue
            extra = f" ({p['cases_raised']:,} raised)" if "cases_raised" in p else ""
            if p.get("rows_shown") is not None:
                extra += f" [{p['rows_shown']} rows shown]"
            if "errors" in p and p["errors"]:
                extra += f" ({p['errors']} non-2xx/3xx)"
            lines.append(f"| {r['db']} | {r['cases']:,} | {name}{extra} | {p['rps']:.0f} | {p['median_ms']} | "
                         f"{p['ratio']} | {p.get('ratio_compiled_per_request', '–')} | {p.get('ratio_floor', '–')} | "
                         f"{TARGETS.get(name, '')} |")
        sw = r.get("sweep", {})
        lines.append(f"| {r['db']} | {r['cases']:,} | timer sweep, {sw.get('due_before', '?'):,} due | – | "
                     f"{round(sw['seconds'] * 1000) if 'seconds' in sw else '–'} (total) | – | – | – | ≤ 5 s |")
        lines.append(f"| {r['db']} | {r['cases']:,} | peak RSS per worker (MB) | – | "
                     f"{r.get('rss_mb_per_worker')} | – | – | – | ≤ 100 MB |")
    return "\n".join(lines)


def flatness(all_results) -> str:
    """req/s at the largest scale over req/s at the smallest, per db and page."""
    out = []
    for db in sorted({r["db"] for r in all_results}):
        runs = sorted((r for r in all_results if r["db"] == db), key=lambda r: r["cases"])
        if len(runs) < 2:
            continue
        small, big = runs[0], runs[-1]
        for name, p in big["pages"].items():
            q = small["pages"].get(name, {})
            if p.get("rps") and q.get("rps"):
                out.append(f"| {db} | {name} | {q['rps']:.0f} | {p['rps']:.0f} | {p['rps'] / q['rps']:.2f} |")
    if not out:
        return ""
    head = (f"| db | page | req/s at {runs[0]['cases']:,} | req/s at {runs[-1]['cases']:,} | ratio |\n"
            "|---|---|---|---|---|")
    return head + "\n" + "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="1000000", help="number of cases, or several: 10000,1000000")
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--fresh", action="store_true", help="drop and re-seed the benchmark database")
    ap.add_argument("--paired-rounds", type=int, default=3,
                    help="rounds of floor-then-page for the queue, its partial and the case page (0: none)")
    ap.add_argument("--paired-seconds", type=int, default=5, help="seconds of each side-by-side measurement")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)  # a fresh checkout has none (git-ignored)
    scales = [int(x) for x in str(args.cases).replace("_", "").split(",")]
    wrk_bin = ensure_wrk()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    all_results = [run_one(k, n, args, wrk_bin) for k in kinds for n in scales]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(all_results, indent=2))
    report = table(all_results)
    flat = flatness(all_results)
    print("\n" + report)
    if flat:
        print("\nPage cost against the number of cases (1.0 = flat):\n" + flat)
    paired = paired_table(all_results)
    if paired:
        print("\nSide by side with the floor (floor, then page, each round):\n" + paired)
    for r in all_results:
        print(f"\n{r['db']} {r['cases']:,}: versions {r['versions']}; machine {r['machine']}; "
              f"case page {r.get('case_ref')}, tracking {r.get('track_ref')} (Division {r.get('division')}); "
              f"export rows {r.get('export_rows')}; sweep {r.get('sweep')}"
              + (f"; autovacuum {r['autovacuum']}, VACUUM (ANALYZE) before the pages {r['vacuum_seconds']} s"
                 if "autovacuum" in r else ""))
    print(f"\nresults: {RESULTS / f'bench-{stamp}.json'}")


if __name__ == "__main__":
    sys.exit(main())
