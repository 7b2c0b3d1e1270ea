"""Benchmark runner (`make bench`): seeds a large database, serves the portal with
gunicorn (2 sync workers) on 127.0.0.1 and measures pages with wrk, next to a bare
Flask + Jinja ceiling; then times the timer sweep and reads each worker's peak RSS.

    .venv/bin/python bench/run.py --cases 1000000 --db both --duration 15

Figures are printed and written to bench/results/ (git-ignored). Nothing is asserted:
targets are compared and reported.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
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


def db_url(kind: str) -> str:
    if kind == "sqlite":
        RESULTS.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{RESULTS / 'bench.sqlite'}"
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (PG_DB,)).fetchone():
            conn.execute(f"CREATE DATABASE {PG_DB}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"


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

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
    flask(env, "db", "upgrade")
    have = case_count(env)
    if have >= n:
        print(f"  database already holds {have:,} cases: reused")
        return 0.0
    t = time.perf_counter()
    flask(env, "bench-data", "--cases", str(n - have), "--due", "10000")
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


def wrk(wrk_bin, url, duration, headers=(), script=None) -> dict:
    cmd = [wrk_bin, "-t2", "-c16", f"-d{duration}s", "--latency", "--timeout", "10s"]
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


def time_sweep(env) -> dict:
    code = ("import time, json; from datetime import datetime; from app import create_app; "
            "from app.services import timers; app=create_app();\n"
            "with app.app_context():\n t=time.perf_counter(); r=timers.sweep(datetime.utcnow()); "
            "print(json.dumps({'seconds': round(time.perf_counter()-t, 2), **r}))")
    out = subprocess.run([str(VENV / "python"), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": out.stderr[-500:]}


def run_one(kind: str, args, wrk_bin: str) -> dict:
    env = {**os.environ, "DATABASE_URL": db_url(kind), "RATELIMIT_ENABLED": "0",
           "NOTIFY_EMAIL_BACKEND": "file", "NOTIFY_SMS_BACKEND": "file"}
    print(f"== {kind}: seeding {args.cases:,} cases")
    seed_seconds = seed(env, args.cases, args.fresh)
    # the busiest division and a case it holds; a circle supervisor
    division = pick(env, 'SELECT o.code, o.id FROM org_unit o JOIN "case" c ON c.current_office_id=o.id '
                         "WHERE o.kind='division' GROUP BY o.code, o.id ORDER BY COUNT(*) DESC LIMIT 1")[0]
    div_user = pick(env, f"SELECT login_id FROM \"user\" WHERE office_id={division[1]} ORDER BY id LIMIT 1")[0][0]
    circle_user = pick(env, "SELECT u.login_id FROM \"user\" u JOIN user_role r ON r.user_id=u.id JOIN org_unit o "
                            "ON o.id=u.office_id WHERE o.kind='circle' AND r.role='supervisor' ORDER BY u.id LIMIT 1")[0][0]
    ref = pick(env, f"SELECT reference FROM \"case\" WHERE current_office_id={division[1]} ORDER BY id DESC LIMIT 1")[0][0]
    results = {"db": kind, "cases": args.cases, "seed_seconds": round(seed_seconds, 1), "pages": {}}

    ceiling_srv = Server(env, "bench.ceiling:app")
    try:
        results["ceiling"] = wrk(wrk_bin, ceiling_srv.base + "/", args.duration)
    finally:
        ceiling_srv.stop()
    print(f"  ceiling: {results['ceiling']}")

    srv = Server(env, "wsgi:app")
    try:
        div_cookie, _ = login(srv.base, div_user)
        circle_cookie, _ = login(srv.base, circle_user)
        pages = [
            ("division queue (50 rows)", "/cases/?size=50", div_cookie, []),
            ("queue htmx partial", "/cases/?q=&size=50", div_cookie, ["HX-Request: true"]),
            ("case page", f"/cases/{ref}", div_cookie, []),
            ("circle dashboard", "/dashboard/", circle_cookie, []),
            ("doorstep form GET", "/request", None, []),
            ("tracking by reference", f"/track/{ref}", None, []),
        ]
        for name, path, cookie, extra in pages:
            probe = urllib.request.Request(srv.base + path, headers={"Cookie": cookie or ""})
            try:
                status = urllib.request.urlopen(probe, timeout=30).status
            except urllib.error.HTTPError as exc:
                status = exc.code
            if status != 200:
                results["pages"][name] = {"skipped": f"HTTP {status}"}
                print(f"  {name}: skipped (HTTP {status})")
                continue
            headers = [f"Cookie: {cookie}"] if cookie else []
            r = wrk(wrk_bin, srv.base + path, args.duration, headers + extra)
            r["ratio"] = round(r["rps"] / results["ceiling"]["rps"], 3) if results["ceiling"]["rps"] else None
            results["pages"][name] = r
            print(f"  {name}: {r}")
        results["rss_mb_per_worker"] = srv.worker_peak_rss_mb()
    finally:
        srv.stop()
    results["sweep"] = time_sweep(env)
    print(f"  sweep: {results['sweep']}; peak RSS per worker: {results['rss_mb_per_worker']} MB")
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--fresh", action="store_true", help="drop and re-seed the benchmark database")
    args = ap.parse_args()
    wrk_bin = ensure_wrk()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    all_results = [run_one(k, args, wrk_bin) for k in kinds]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(all_results, indent=2))
    print("\n| db | page | req/s | median ms | ratio to ceiling |")
    print("|---|---|---|---|---|")
    for r in all_results:
        print(f"| {r['db']} | ceiling (bare Flask, 50 rows) | {r['ceiling']['rps']:.0f} | {r['ceiling']['median_ms']} | 1.0 |")
        for name, p in r["pages"].items():
            if "skipped" in p:
                print(f"| {r['db']} | {name} | – | – | {p['skipped']} |")
            else:
                print(f"| {r['db']} | {name} | {p['rps']:.0f} | {p['median_ms']} | {p['ratio']} |")
    print(f"\nresults: {RESULTS / f'bench-{stamp}.json'}")


if __name__ == "__main__":
    sys.exit(main())
