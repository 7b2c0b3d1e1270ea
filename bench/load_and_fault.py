"""Load and fault run (`make fault`): gunicorn (2 sync workers) + PostgreSQL on
127.0.0.1, mixed traffic for a bounded time, one worker killed and every database
connection of the app broken mid-run; then every request the server accepted must be
in the database exactly once.

    .venv/bin/python bench/load_and_fault.py --duration 40 --threads 6

Traffic (urllib, one cookie jar per simulated person):
- citizens GET the doorstep form, POST it with its CSRF token and the form's own unique
  submission key; a connection error or 5xx is retried once with the SAME key (what a
  browser's resubmit does), and one submission in five is deliberately sent twice;
- tracking GETs of accepted references;
- Division staff sign in, open their queue and a request, and post a status update.

Faults: at 35 % of the run one gunicorn worker gets SIGTERM (the master respawns it);
at 60 % `pg_terminate_backend` cuts every connection the app holds. Only 127.0.0.1 is
contacted; the scratch database `sevadesk_fault` is dropped and re-created each run.
Exit status 0 when nothing was lost or duplicated.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "sevadesk_fault"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
DEMO_PASSWORD = "Seva@2026"
ACCEPTED = re.compile(r"^/request/([A-Z0-9-]+)/registered$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # keep the 303 to read its Location
        return None


def opener():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)


def call(op, url, data=None, headers=None, timeout=15):
    """(status, location, body) — status 0 for a connection error."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with op.open(req, timeout=timeout) as r:
            return r.status, r.headers.get("Location", ""), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", ""), e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, "", ""


def hidden(page: str, name: str) -> str | None:
    m = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    if not m:
        return None
    v = re.search(r'value="([^"]*)"', m.group(0))
    return v.group(1) if v else None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = Counter()  # kind -> requests
        self.status = Counter()  # (kind, status) -> n
        self.accepted: dict[str, str] = {}  # submission key -> reference
        self.mismatch = []  # same key answered with two references
        self.retried = 0
        self.doubled = 0

    def record(self, kind, status):
        with self.lock:
            self.sent[kind] += 1
            self.status[(kind, status)] += 1

    def accept(self, key, ref):
        with self.lock:
            old = self.accepted.setdefault(key, ref)
            if old != ref:
                self.mismatch.append((key, old, ref))


def citizen(base, stop, stats: Stats, pincodes, services, rnd: random.Random):
    while not stop.is_set():
        op = opener()
        status, _loc, page = call(op, base + "/request")
        stats.record("GET /request", status)
        token, key = hidden(page, "csrf_token"), hidden(page, "submission_key")
        if status != 200 or not token or not key:
            time.sleep(0.05)
            continue
        form = {"csrf_token": token, "submission_key": key, "name": f"Load Test {rnd.randint(1, 9999)}",
                "address": "12 Station Road", "pincode": rnd.choice(pincodes),
                "email": "load@example.in", "mobile": f"98{rnd.randint(10_000_000, 99_999_999)}",
                "service": str(rnd.choice(services)), "details": "Please come after 10 am."}
        sends = 2 if rnd.random() < 0.2 else 1
        if sends == 2:
            stats.doubled += 1
        for attempt in range(sends + 1):
            status, loc, _ = call(op, base + "/request", form)
            stats.record("POST /request", status)
            path = urllib.parse.urlsplit(loc).path
            m = ACCEPTED.match(path) if status == 303 else None
            if m:
                stats.accept(key, m.group(1))
                if attempt + 1 >= sends:
                    break
            elif status == 0 or status >= 500:
                stats.retried += 1  # resubmit with the same key, once more
                if attempt >= sends:
                    break
            else:
                break
        if stats.accepted and rnd.random() < 0.7:
            ref = rnd.choice(list(stats.accepted.values()))
            status, _, _ = call(opener(), base + f"/track/{ref}")
            stats.record("GET /track/<ref>", status)


def staff(base, stop, stats: Stats, login_id, rnd: random.Random):
    op, token = None, None
    while not stop.is_set():
        if op is None:
            op = opener()
            status, _, page = call(op, base + "/auth/login")
            stats.record("GET /auth/login", status)
            csrf = hidden(page, "csrf_token")
            if not csrf:
                op = None
                time.sleep(0.2)
                continue
            status, _, _ = call(op, base + "/auth/login",
                                {"csrf_token": csrf, "login_id": login_id, "password": DEMO_PASSWORD})
            stats.record("POST /auth/login", status)
            status, _, page = call(op, base + "/cases/?view=doorstep")
            m = re.search(r'"X-CSRFToken": "([^"]+)"', page)
            token = m.group(1) if m else None
            if status != 200 or not token:
                op = None
                time.sleep(0.2)
                continue
        status, _, page = call(op, base + "/cases/?view=doorstep")  # the inbox's view (was /doorstep/)
        stats.record("GET /cases/?view=doorstep", status)
        refs = re.findall(r'href="/(?:cases|doorstep)/([A-Z]{2}-[A-Z0-9-]+)"', page)
        if refs:
            ref = rnd.choice(refs)
            status, _, _ = call(op, base + f"/cases/{ref}")  # the one case page
            stats.record("GET /cases/<ref>", status)
            status, _, _ = call(op, base + f"/cases/{ref}/act",
                                {"csrf_token": token, "action": "note", "text": "Called the citizen."})
            stats.record("POST /cases/<ref>/act", status)
        time.sleep(0.05)


def workers_of(master_pid: int) -> list[int]:
    out = []
    for child in Path("/proc").glob("[0-9]*"):
        try:
            status = (child / "status").read_text()
        except OSError:
            continue
        if re.search(rf"PPid:\s+{master_pid}\b", status):
            out.append(int(child.name))
    return out


def break_connections() -> int:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname=%s AND pid <> pg_backend_pid()", (PG_DB,)).fetchall()
    return len(rows)


def prepare(env, cases: int):
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")
    for args in (["db", "upgrade"], ["demo-data", "--cases", str(cases)]):
        subprocess.run([str(VENV / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with psycopg.connect(PG_URL) as conn:
        pins = [r[0] for r in conn.execute("SELECT pincode FROM pincode WHERE division_id IS NOT NULL")]
        services = [r[0] for r in conn.execute(
            "SELECT id FROM category WHERE kind='service_request' AND level='service' AND active")]
        logins = [r[0] for r in conn.execute(
            "SELECT u.login_id FROM \"user\" u JOIN org_unit o ON o.id=u.office_id "
            "JOIN user_role r ON r.user_id=u.id WHERE o.kind='division' AND r.role='operator' "
            "ORDER BY u.id LIMIT 3")]
    return pins, services, logins


def verify(stats: Stats) -> dict:
    """Every accepted (key, reference) is in the database exactly once, complete."""
    import psycopg

    lost, dup_ref, dup_key, incomplete = [], [], [], []
    with psycopg.connect(PG_URL) as conn:
        for key, ref in stats.accepted.items():
            by_ref = conn.execute('SELECT id, submission_key FROM "case" WHERE reference=%s', (ref,)).fetchall()
            by_key = conn.execute('SELECT reference FROM "case" WHERE submission_key=%s', (key,)).fetchall()
            if not by_ref:
                lost.append(ref)
                continue
            if len(by_ref) > 1:
                dup_ref.append(ref)
            if len(by_key) != 1 or by_key[0][0] != ref:
                dup_key.append(key)
            created = conn.execute("SELECT count(*) FROM case_event WHERE case_id=%s AND type='created'",
                                   (by_ref[0][0],)).fetchone()[0]
            if created != 1:
                incomplete.append(ref)
        orphans = conn.execute('SELECT count(*) FROM "case" c WHERE NOT EXISTS '
                               "(SELECT 1 FROM case_event e WHERE e.case_id=c.id AND e.type='created')"
                               ).fetchone()[0]
    return {"lost": lost, "duplicate_refs": dup_ref, "duplicate_keys": dup_key,
            "incomplete": incomplete, "cases_without_created_event": orphans}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=40.0, help="seconds of traffic")
    ap.add_argument("--threads", type=int, default=6, help="citizen threads (plus 2 staff threads)")
    ap.add_argument("--cases", type=int, default=20, help="demo cases seeded first")
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args()
    signal.alarm(int(args.duration) + 300)  # the whole run stops by itself, whatever happens

    env = {**os.environ, "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}",
           "RATELIMIT_ENABLED": "0", "SECRET_KEY": "load-and-fault", "NOTIFY_EMAIL_BACKEND": "file",
           "NOTIFY_SMS_BACKEND": "file", "FLASK_APP": "wsgi"}
    env.pop("PORTAL_ENV", None)
    print(f"preparing {PG_DB} (db upgrade, demo-data --cases {args.cases}) ...", flush=True)
    pins, services, logins = prepare(env, args.cases)
    port = free_port()
    log_path = ROOT / "bench" / "results" / "fault-gunicorn.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115 - kept open for the server's lifetime
    server = subprocess.Popen([str(VENV / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "error", "--graceful-timeout", "5", "wsgi:app"],
                              cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    stats, stop, events = Stats(), threading.Event(), []
    try:
        for _ in range(150):
            if call(opener(), base + "/healthz", timeout=2)[0] == 200:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        rnd = random.Random(args.seed)
        threads = [threading.Thread(target=citizen, args=(base, stop, stats, pins, services,
                                                          random.Random(rnd.random())), daemon=True)
                   for _ in range(args.threads)]
        threads += [threading.Thread(target=staff, args=(base, stop, stats, login_id, random.Random(rnd.random())),
                                     daemon=True) for login_id in logins[:2]]
        start = time.monotonic()
        for t in threads:
            t.start()
        print(f"driving traffic for {args.duration:.0f} s on {base} ...", flush=True)
        faults = [(0.35, "worker"), (0.60, "database")]
        while (elapsed := time.monotonic() - start) < args.duration:
            if faults and elapsed >= faults[0][0] * args.duration:
                _, what = faults.pop(0)
                if what == "worker":
                    pids = workers_of(server.pid)
                    if pids:
                        os.kill(pids[0], signal.SIGTERM)
                    events.append(f"{elapsed:5.1f} s  SIGTERM to worker {pids[0] if pids else '-'} "
                                  f"(workers were {pids})")
                else:
                    n = break_connections()
                    events.append(f"{elapsed:5.1f} s  pg_terminate_backend on {n} app connections")
                print("  " + events[-1], flush=True)
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(timeout=20)
        events.append(f"workers at the end: {workers_of(server.pid)}")
    finally:
        stop.set()
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)

    log.close()
    result = verify(stats)
    total = sum(stats.sent.values())
    posts = stats.sent["POST /request"]
    failed = {f"{k} -> {s or 'connection error'}": n for (k, s), n in sorted(stats.status.items(), key=str)
              if s == 0 or s >= 400}
    print("\n== load and fault summary ==")
    for e in events:
        print("  " + e)
    print(f"  server log (tracebacks of the in-flight requests the faults broke): {log_path.relative_to(ROOT)}")
    print(f"  requests sent:            {total}")
    for kind, n in sorted(stats.sent.items()):
        codes = ", ".join(f"{s or 'conn-err'}: {c}" for (k, s), c in sorted(stats.status.items(), key=str)
                          if k == kind)
        print(f"    {kind:<28} {n:>6}   ({codes})")
    print(f"  doorstep requests posted: {posts} (incl. {stats.doubled} sent twice on purpose, "
          f"{stats.retried} resubmits after an error)")
    print(f"  accepted (303 + reference): {len(stats.accepted)}")
    print(f"  failed requests by status:  {failed or 'none'}")
    print(f"  same key, two references:   {len(stats.mismatch)}")
    print(f"  accepted but not in the database: {len(result['lost'])}")
    print(f"  duplicates found (by reference / by submission key): "
          f"{len(result['duplicate_refs'])} / {len(result['duplicate_keys'])}")
    print(f"  accepted cases without their 'created' event: {len(result['incomplete'])}; "
          f"cases in the database without one: {result['cases_without_created_event']}")
    ok = not (result["lost"] or result["duplicate_refs"] or result["duplicate_keys"] or result["incomplete"]
              or result["cases_without_created_event"] or stats.mismatch) and stats.accepted
    print("  RESULT: " + ("OK - every accepted request is in the database exactly once" if ok else "PROBLEM"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
