"""Load and fault run (`make fault`): gunicorn (2 sync workers), a standby pair of
`flask scheduler` processes and a PostgreSQL cluster of the run's own, on 127.0.0.1;
mixed traffic for a bounded time while workers, the database and the running scheduler
are killed; then every request the server accepted must be in the database exactly
once, and every timer that came due must have fired exactly once.

    .venv/bin/python bench/load_and_fault.py --duration 60 --threads 6

Traffic (urllib, one cookie jar per simulated person):
- citizens GET the doorstep form, POST it with its CSRF token and the form's own unique
  submission key; a connection error or 5xx is resubmitted (up to RESUBMITS times, after a
  short pause) with the SAME key (what a browser's resubmit does), and one submission in
  five is deliberately sent twice;
- tracking GETs of accepted references;
- Division staff sign in, open their queue and a request, and post a note on it.

Faults, at fractions of the run (`FAULTS`):
- a gunicorn worker SIGKILLed mid-request: a doorstep POST is sent with the last bytes
  of its body held back, the worker that accepted it is found (/proc) and killed with
  SIGKILL, then the POST is resubmitted with the same key;
- a gunicorn worker SIGKILLed mid-transaction: with `LOCK TABLE "case" IN SHARE MODE` held
  by the harness, a POST's worker waits at its INSERT with its transaction open and is
  killed; nothing may be left under its key, and its resubmit must be stored once;
- later a worker serving some request of the load at that moment is SIGKILLed at random;
- the running scheduler (the one holding the advisory lock) SIGKILLed; a replacement is
  started as the new standby (what systemd's Restart=always does);
- `pg_terminate_backend` on every connection of the app;
- PostgreSQL restarted (`pg_ctl restart -m immediate`: no shutdown checkpoint, crash
  recovery) — the run's own cluster, initdb'd in a temporary folder on a free port, so the
  machine's shared cluster is never touched.

Timers: before the traffic starts, complaints awaiting confirmation, overdue-to-be
complaints and service requests get due times spread over the run; the schedulers sweep
every second. Afterwards each must have exactly one system event of its kind
(confirmation_timeout, sla_escalate, sla_breach), and no case any timer event twice.

Only 127.0.0.1 is contacted. Exit status 0 when nothing was lost or duplicated.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "sevadesk_fault"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
DEMO_PASSWORD = "Seva@2026"
ACCEPTED = re.compile(r"^/request/([A-Z0-9-]+)/registered$")
RESUBMITS = 3  # a citizen resubmits after a connection error or 5xx, with the same key


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
        self.posted: set[str] = set()  # every submission key sent, accepted or not
        self.midrequest = []  # (key, reference or None) of the POSTs whose worker was killed
        self.rolled_back = []  # rows under the key right after a mid-transaction kill (0 each)

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
                # one person each: the same e-mail's open request of the same service is shown
                # to its person instead of raising another (issue 27)
                "email": f"load{rnd.randint(1, 10**9)}@example.in", "mobile": f"98{rnd.randint(10_000_000, 99_999_999)}",
                "service": str(rnd.choice(services)), "details": "Please come after 10 am."}
        sends = 2 if rnd.random() < 0.2 else 1
        if sends == 2:
            stats.doubled += 1
        stats.posted.add(key)
        answered, errors = 0, 0
        while True:
            status, loc, _ = call(op, base + "/request", form)
            stats.record("POST /request", status)
            path = urllib.parse.urlsplit(loc).path
            m = ACCEPTED.match(path) if status == 303 else None
            if m:
                stats.accept(key, m.group(1))
                answered += 1
                if answered >= sends:
                    break
            elif (status == 0 or status >= 500) and errors < RESUBMITS:
                errors += 1
                stats.retried += 1  # resubmit with the same key after a pause
                time.sleep(0.3 * errors)
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
            status, _, case_page = call(op, base + f"/cases/{ref}")  # the one case page
            stats.record("GET /cases/<ref>", status)
            version = hidden(case_page, "version")  # none: the page offers this operator no action
            if version:
                status, _, _ = call(op, base + f"/cases/{ref}/act", {"csrf_token": token, "action": "note",
                                                                     "text": "Called the citizen.", "version": version})
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


# --- the run's own PostgreSQL cluster (restarted mid-run) ------------------------------

def use_database(port: int) -> None:
    """Point the run's module-level URLs at the cluster on `port`."""
    global PG_ADMIN, PG_URL
    PG_ADMIN = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    PG_URL = f"postgresql://postgres@127.0.0.1:{port}/{PG_DB}"


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if not on_path:
        raise RuntimeError(f"{name} not found (apt-get install postgresql)")
    return on_path


class FaultCluster:
    """A PostgreSQL cluster of the run's own: initdb in a temporary folder, a free port on
    127.0.0.1, trust authentication; as the user `postgres` when run as root."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="sevadesk-fault-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgresql.log"
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres")

    def _run(self, *args):
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _pg_ctl(self, *args):
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=60 "
                "-c shared_buffers=32MB")
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", *args)

    def start(self):
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self._pg_ctl("start")

    def restart(self):
        """Immediate mode: the server is stopped as by a crash and recovers from its WAL."""
        self._pg_ctl("restart", "-m", "immediate")

    def stop(self):
        try:
            self._pg_ctl("stop", "-m", "fast")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


# --- which process holds a TCP connection (/proc, loopback IPv4) -----------------------

def _socket_inodes(local_port: int, remote_port: int | None = None) -> set[str]:
    """Inodes of the 127.0.0.1 sockets with this local port (and remote port)."""
    out = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        lport = int(f[1].split(":")[1], 16)
        rport = int(f[2].split(":")[1], 16)
        if lport == local_port and (remote_port is None or rport == remote_port) and f[3] == "01":  # ESTABLISHED
            out.add(f[9])
    return out


def owner_of(inodes: set[str], pids: list[int]) -> int | None:
    """The first of `pids` with an open descriptor on one of the sockets `inodes`."""
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    link = os.readlink(fd)
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return pid
        except OSError:
            continue
    return None


# --- faults on the web workers ---------------------------------------------------------

def _fault_form(op, base: str, pins, services, name: str) -> dict | None:
    """A filled doorstep form of a person of its own (own e-mail and mobile)."""
    status, _, page = call(op, base + "/request")
    token, key = hidden(page, "csrf_token"), hidden(page, "submission_key")
    if status != 200 or not token or not key:
        return None
    n = random.randint(10_000_000, 99_999_999)
    return {"csrf_token": token, "submission_key": key, "name": name, "address": "1 Fault Lane",
            "pincode": random.choice(pins), "email": f"fault{n}@example.in", "mobile": f"97{n}",
            "service": str(random.choice(services)), "details": "Sent while its worker was killed."}


def _raw_post(port: int, jar, form: dict, hold: int) -> tuple[socket.socket, bytes]:
    """Send a POST /request on a socket of its own, all but the last `hold` bytes of its body."""
    body = urllib.parse.urlencode(form).encode()
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    head = (f"POST /request HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nCookie: {cookies}\r\nConnection: close\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head + (body[:-hold] if hold else body))
    return sock, body[len(body) - hold:] if hold else b""


def _answer(sock: socket.socket, rest: bytes) -> str:
    try:
        if rest:
            sock.sendall(rest)
        first = sock.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
    except OSError:
        first = ""
    sock.close()
    return first or "connection dropped"


def _resubmit(op, base: str, form: dict, stats: Stats) -> str | None:
    """The browser's resubmit after the dropped connection: the same form, the same key."""
    for _ in range(10):
        status, loc, _ = call(op, base + "/request", form)
        stats.record("POST /request (resubmit after the kill)", status)
        m = ACCEPTED.match(urllib.parse.urlsplit(loc).path) if status == 303 else None
        if m:
            stats.accept(form["submission_key"], m.group(1))
            return m.group(1)
        time.sleep(0.5)
    return None


def _stored(key: str) -> int:
    import psycopg

    with psycopg.connect(PG_URL) as conn:
        return conn.execute('SELECT count(*) FROM "case" WHERE submission_key = %s', (key,)).fetchone()[0]


def kill_worker_mid_post(base: str, port: int, master_pid: int, stats: Stats, pins, services) -> str:
    """SIGKILL the worker that is in the middle of a doorstep POST, before its write: the
    form is sent with the last bytes of its body held back, so the worker that accepted it
    is inside the request, reading the body; it is found by its socket and killed. The
    client sees the connection drop and resubmits the same form (same submission key), as a
    browser does; the key must then be stored exactly once."""
    jar = http.cookiejar.CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    form = _fault_form(op, base, pins, services, "Killed Reading")
    if form is None:
        return "mid-request kill skipped: the form did not load"
    stats.posted.add(form["submission_key"])
    sock, rest = _raw_post(port, jar, form, hold=5)
    client_port = sock.getsockname()[1]
    victim = None
    for _ in range(100):  # the worker accepts it and starts reading the body
        victim = owner_of(_socket_inodes(port, client_port), workers_of(master_pid))
        if victim:
            break
        time.sleep(0.05)
    if victim is None:
        sock.close()
        return "mid-request kill skipped: no worker took the held POST within 5 s"
    time.sleep(0.3)  # well inside the request: headers parsed, the view reading the form
    os.kill(victim, signal.SIGKILL)
    first = _answer(sock, rest)
    stats.record("POST /request (worker SIGKILLed mid-request)", 0)
    ref = _resubmit(op, base, form, stats)
    stats.midrequest.append((form["submission_key"], ref))
    return (f"SIGKILL to worker {victim} in the middle of a doorstep POST (reading its body): client saw "
            f"'{first}'; resubmitted with the same key -> {ref or 'NOT accepted'}")


def kill_worker_mid_transaction(base: str, port: int, master_pid: int, stats: Stats, pins, services) -> str:
    """SIGKILL the worker of a doorstep POST in the middle of its database transaction: the
    harness holds `LOCK TABLE "case" IN SHARE MODE` (reads go on, writes of cases wait), sends
    a whole POST, waits until that worker's database session is waiting on the lock with its
    transaction open, kills the worker with SIGKILL and lets the lock go. PostgreSQL must roll
    the dead worker's transaction back (nothing stored under the key); the client sees the
    connection drop and resubmits with the same key, which must then be stored exactly once."""
    import psycopg

    jar = http.cookiejar.CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    form = _fault_form(op, base, pins, services, "Killed Writing")
    if form is None:
        return "mid-transaction kill skipped: the form did not load"
    key = form["submission_key"]
    stats.posted.add(key)
    victim, waited = None, ""
    # The POST is sent with its last bytes held back until its worker has accepted it (with
    # both sync workers blocked on the load's writes it would otherwise wait in the listen
    # queue); then the lock is taken and the rest sent. pg_stat_activity is read on a
    # connection of its own: inside the lock's transaction every read shows one snapshot.
    sock, rest = _raw_post(port, jar, form, hold=5)
    client_port = sock.getsockname()[1]
    for _ in range(100):
        worker = owner_of(_socket_inodes(port, client_port), workers_of(master_pid))
        if worker:
            break
        time.sleep(0.05)
    else:
        sock.close()
        return "mid-transaction kill skipped: no worker took the POST within 5 s"
    with psycopg.connect(PG_URL) as lock, psycopg.connect(PG_URL, autocommit=True) as watch:
        lock.execute('LOCK TABLE "case" IN SHARE MODE')
        sock.sendall(rest)
        for _ in range(100):
            rows = watch.execute("SELECT client_port, xact_start, left(query, 60) FROM pg_stat_activity "
                                 "WHERE datname = %s AND wait_event_type = 'Lock'", (PG_DB,)).fetchall()
            for cport, xact_start, query in rows:
                if xact_start and cport and owner_of(_socket_inodes(cport), [worker]):
                    victim, waited = worker, query
            if victim:
                break
            time.sleep(0.05)
        if victim:
            os.kill(victim, signal.SIGKILL)
            time.sleep(0.2)
        lock.rollback()  # the lock goes; the load's waiting writes go on
    first = _answer(sock, b"")
    if victim is None:
        return f"mid-transaction kill skipped: the POST's worker never waited on the lock (client saw '{first}')"
    stats.record("POST /request (worker SIGKILLed mid-transaction)", 0)
    before = _stored(key)
    ref = _resubmit(op, base, form, stats)
    stats.midrequest.append((key, ref))
    stats.rolled_back.append(before)
    return (f"SIGKILL to worker {victim} inside the transaction of a doorstep POST (waiting at '{waited}...'): "
            f"client saw '{first}'; rows under its key after the kill: {before}; resubmitted with the same "
            f"key -> {ref or 'NOT accepted'}")


def kill_busy_worker(port: int, master_pid: int) -> str:
    """SIGKILL, at a random moment of the load, a worker that is serving a request."""
    for _ in range(100):
        inodes = _socket_inodes(port)
        pids = workers_of(master_pid)
        random.shuffle(pids)
        victim = owner_of(inodes, pids)
        if victim:
            os.kill(victim, signal.SIGKILL)
            return f"SIGKILL to worker {victim} while it served a request of the load"
        time.sleep(0.02)
    return "random kill skipped: no worker was serving a request"


# --- the scheduler pair ----------------------------------------------------------------

class Schedulers:
    """Two `flask scheduler` processes (a standby pair) with 1 s sweeps and lock polls."""

    def __init__(self, env, log_dir: Path):
        self.env = {**env, "SCHEDULER_SWEEP_SECONDS": "1", "SCHEDULER_LOCK_POLL_SECONDS": "1",
                    # nothing is sent during the run: the messages stay in the outbox
                    "DELIVERY_WORKERS": "1"}
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        self.logs = []

    def start_one(self):
        n = len(self.procs) + 1
        log = open(self.log_dir / f"fault-scheduler-{n}.log", "w")  # noqa: SIM115 - the process's lifetime
        self.logs.append(log)
        self.procs.append(subprocess.Popen([str(VENV / "flask"), "--app", "wsgi", "scheduler"], cwd=ROOT,
                                           env=self.env, start_new_session=True, stdout=log, stderr=log))

    def alive(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is None]

    def holder(self) -> int | None:
        """The scheduler process holding the advisory lock (by its lock connection's port)."""
        import psycopg

        try:
            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
                row = conn.execute("SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                                   "WHERE l.locktype = 'advisory' AND l.granted "
                                   "AND a.application_name = 'sevadesk-scheduler-lock'").fetchone()
        except psycopg.Error:
            return None
        return owner_of(_socket_inodes(row[0]), self.alive()) if row and row[0] else None

    def kill_holder(self) -> str:
        for _ in range(100):
            pid = self.holder()
            if pid:
                os.kill(pid, signal.SIGKILL)
                self.start_one()  # systemd's Restart=always: it comes back as the standby
                return (f"SIGKILL to the running scheduler {pid} (the lock holder); a replacement "
                        f"{self.procs[-1].pid} started as the standby")
            time.sleep(0.1)
        return "scheduler kill skipped: no scheduler held the lock"

    def takeovers(self) -> int:
        return sum((self.log_dir / f"fault-scheduler-{i + 1}.log").read_text().count("Took over the scheduler lock")
                   for i in range(len(self.procs)))

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in self.logs:
            log.close()


# --- timers that come due during the run -----------------------------------------------

TIMER_EVENTS = ("confirmation_timeout", "sla_escalate", "sla_breach", "info_timeout_close",
                "info_timeout_escalate")


def arm_timers(env, per_kind: int, first: float, last: float) -> dict[int, tuple[str, datetime]]:
    """Give cases due times spread from `first` to `last` seconds from now: complaints
    awaiting the requester's confirmation (confirmation_due: closed by the timer), complaints
    in progress (their SLA deadline: escalated once) and service requests (flagged breached
    once). Returns {case id: (the system event expected, its due time)}. The dashboard
    counters are rebuilt after (`flask tallies --rebuild`), as bench/run.py does."""
    import psycopg

    armed: dict[int, tuple[str, datetime]] = {}
    now = datetime.utcnow()

    def due(i):
        return now + timedelta(seconds=first + (last - first) * i / max(per_kind - 1, 1))

    with psycopg.connect(PG_URL) as conn:
        offices = ("region", "division", "head_office", "sub_office")  # a complaint there has a level above to escalate to
        comp = [r[0] for r in conn.execute(
            "SELECT c.id FROM \"case\" c JOIN org_unit o ON o.id = c.current_office_id "
            "WHERE c.kind = 'complaint' AND o.kind = ANY(%s) ORDER BY c.id LIMIT %s",
            (list(offices), 2 * per_kind))]
        confirm, escalate = comp[:per_kind], comp[per_kind:]
        for i, cid in enumerate(confirm):
            conn.execute("UPDATE \"case\" SET status = 'awaiting_confirmation', confirmation_due = %s, "
                         "info_due = NULL, closed_at = NULL, resolution = NULL, version = version + 1 "
                         "WHERE id = %s", (due(i), cid))
            armed[cid] = ("confirmation_timeout", due(i))
        for i, cid in enumerate(escalate):
            conn.execute("UPDATE \"case\" SET status = 'in_progress', response_due = %s, resolution_due = %s, "
                         "first_response_at = NULL, confirmation_due = NULL, info_due = NULL, closed_at = NULL, "
                         "resolution = NULL, paused_since = NULL, paused_for = NULL, sla_breached = false, "
                         "version = version + 1 WHERE id = %s", (due(i), due(i), cid))
            armed[cid] = ("sla_escalate", due(i))
        srs = [r[0] for r in conn.execute(
            "SELECT id FROM \"case\" WHERE kind = 'service_request' ORDER BY id LIMIT %s", (per_kind,))]
        for i, cid in enumerate(srs):
            conn.execute("UPDATE \"case\" SET status = 'open', response_due = %s, resolution_due = %s, "
                         "first_response_at = NULL, closed_at = NULL, resolution = NULL, paused_since = NULL, "
                         "paused_for = NULL, sla_breached = false, version = version + 1 WHERE id = %s",
                         (due(i), due(i), cid))
            armed[cid] = ("sla_breach", due(i))
    subprocess.run([str(VENV / "flask"), "--app", "wsgi", "tallies", "--rebuild"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return armed


def timers_pending(armed) -> int:
    """How many armed cases still lack their event (polled after the traffic stops)."""
    import psycopg

    with psycopg.connect(PG_URL) as conn:
        done = conn.execute("SELECT count(DISTINCT case_id) FROM case_event WHERE case_id = ANY(%s) "
                            "AND actor_kind = 'system' AND type = ANY(%s)",
                            (list(armed), list(TIMER_EVENTS))).fetchone()[0]
    return len(armed) - done


def verify_timers(armed, since: datetime) -> dict:
    """Each armed case: exactly one system event of its kind. Every case: no timer event
    twice since the run began (the demo's own overdue cases included)."""
    import psycopg

    missing, doubled, late = [], [], []
    with psycopg.connect(PG_URL) as conn:
        for cid, (kind, due_at) in sorted(armed.items()):
            rows = conn.execute("SELECT at FROM case_event WHERE case_id = %s AND type = %s AND actor_kind = 'system'",
                                (cid, kind)).fetchall()
            if not rows:
                missing.append((cid, kind))
            elif len(rows) > 1:
                doubled.append((cid, kind, len(rows)))
            else:
                late.append((rows[0][0] - due_at).total_seconds())
        twice = conn.execute("SELECT case_id, type, count(*) FROM case_event WHERE actor_kind = 'system' "
                             "AND type = ANY(%s) AND at >= %s GROUP BY case_id, type HAVING count(*) > 1",
                             (list(TIMER_EVENTS), since)).fetchall()
        fired = conn.execute("SELECT type, count(*) FROM case_event WHERE actor_kind = 'system' AND type = ANY(%s) "
                             "AND at >= %s GROUP BY type ORDER BY type", (list(TIMER_EVENTS), since)).fetchall()
    by_kind = Counter(kind for kind, _ in armed.values())
    return {"armed": dict(by_kind), "missing": missing, "doubled": doubled, "any_case_twice": twice,
            "fired_since_start": dict(fired), "late_max_s": round(max(late), 1) if late else None,
            "late_median_s": round(sorted(late)[len(late) // 2], 1) if late else None}


def verify_keys(stats: Stats) -> dict:
    """Every submission key the run posted, accepted or not: stored at most once; how many
    the client never saw accepted but are stored (its next resubmit would get the reference)."""
    import psycopg

    with psycopg.connect(PG_URL) as conn:
        twice = conn.execute('SELECT submission_key FROM "case" WHERE submission_key IS NOT NULL '
                             "GROUP BY submission_key HAVING count(*) > 1").fetchall()
        stored = {r[0] for r in conn.execute('SELECT submission_key FROM "case" WHERE submission_key = ANY(%s)',
                                             (list(stats.posted),))}
    unanswered = stats.posted - set(stats.accepted)
    return {"keys_posted": len(stats.posted), "keys_stored_twice": [r[0] for r in twice],
            "not_accepted": len(unanswered), "not_accepted_but_stored": len(unanswered & stored)}


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


FAULTS = [(0.15, "worker mid-request"), (0.25, "worker mid-transaction"), (0.35, "scheduler"),
          (0.50, "connections"), (0.65, "database restart"), (0.80, "worker at random")]


def fire(what: str, ctx: dict) -> str:
    """One fault of `FAULTS`; returns the line for the summary."""
    if what == "worker mid-request":
        return kill_worker_mid_post(ctx["base"], ctx["port"], ctx["server"].pid, ctx["stats"], ctx["pins"],
                                    ctx["services"])
    if what == "worker mid-transaction":
        return kill_worker_mid_transaction(ctx["base"], ctx["port"], ctx["server"].pid, ctx["stats"], ctx["pins"],
                                           ctx["services"])
    if what == "scheduler":
        return ctx["schedulers"].kill_holder()
    if what == "connections":
        return f"pg_terminate_backend on {break_connections()} connections (app and schedulers)"
    if what == "database restart":
        t = time.monotonic()
        ctx["cluster"].restart()
        return f"PostgreSQL restarted (pg_ctl restart -m immediate), back after {time.monotonic() - t:.1f} s"
    return kill_busy_worker(ctx["port"], ctx["server"].pid)


def _out_of_time(_signum, _frame):
    raise TimeoutError("the load and fault run took too long; stopping it (servers, schedulers, cluster)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of traffic")
    ap.add_argument("--threads", type=int, default=6, help="citizen threads (plus 2 staff threads)")
    ap.add_argument("--cases", type=int, default=60, help="demo cases seeded first")
    ap.add_argument("--timers", type=int, default=8, help="cases armed per kind of timer")
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, _out_of_time)  # an exception: the cleanups below still run
    signal.alarm(int(args.duration) + 420)  # the whole run stops by itself, whatever happens
    random.seed(args.seed)

    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    cluster = FaultCluster()
    print(f"starting a PostgreSQL cluster of the run's own in {cluster.dir} on port {cluster.port} ...", flush=True)
    try:
        cluster.start()
        use_database(cluster.port)
        return run(args, cluster, results_dir)
    finally:
        cluster.stop()


def run(args, cluster: FaultCluster, results_dir: Path) -> int:
    """Prepare, drive the traffic with the faults, verify and report."""
    env = {**os.environ, "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/{PG_DB}",
           "RATELIMIT_ENABLED": "0", "SECRET_KEY": "load-and-fault", "NOTIFY_EMAIL_BACKEND": "file",
           "NOTIFY_SMS_BACKEND": "file", "FLASK_APP": "wsgi"}
    for name in ("PORTAL_ENV", "DATABASE_POOLER", "SCHEDULER_LOCK_DATABASE_URL", "REDIS_URL", "UPLOADS_S3_BUCKET"):
        env.pop(name, None)
    server = schedulers = log = None
    stats, stop, events = Stats(), threading.Event(), []
    try:
        print(f"preparing {PG_DB} (db upgrade, demo-data --cases {args.cases}) ...", flush=True)
        pins, services, logins = prepare(env, args.cases)
        port = free_port()
        log_path = results_dir / "fault-gunicorn.log"
        log = open(log_path, "w")  # noqa: SIM115 - kept open for the server's lifetime
        server = subprocess.Popen([str(VENV / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                                   "--log-level", "error", "--graceful-timeout", "5", "wsgi:app"],
                                  cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            if call(opener(), base + "/healthz", timeout=2)[0] == 200:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        # timers due from 10 % to 90 % of the run: before, during and after each fault
        armed = arm_timers(env, args.timers, 0.10 * args.duration + 5, 0.90 * args.duration + 5)
        run_began = datetime.utcnow()
        schedulers = Schedulers(env, results_dir)
        schedulers.start_one()
        time.sleep(1.0)
        schedulers.start_one()
        ctx = {"base": base, "port": port, "server": server, "stats": stats, "pins": pins, "services": services,
               "schedulers": schedulers, "cluster": cluster}
        rnd = random.Random(args.seed)
        threads = [threading.Thread(target=citizen, args=(base, stop, stats, pins, services,
                                                          random.Random(rnd.random())), daemon=True)
                   for _ in range(args.threads)]
        threads += [threading.Thread(target=staff, args=(base, stop, stats, login_id, random.Random(rnd.random())),
                                     daemon=True) for login_id in logins[:2]]
        time.sleep(4.0)  # both schedulers up (imports), one holding the lock
        start = time.monotonic()
        for t in threads:
            t.start()
        print(f"driving traffic for {args.duration:.0f} s on {base}; {len(armed)} timers armed; "
              f"schedulers {schedulers.alive()} ...", flush=True)
        faults = list(FAULTS)
        while (elapsed := time.monotonic() - start) < args.duration:
            if faults and elapsed >= faults[0][0] * args.duration:
                _, what = faults.pop(0)
                events.append(f"{elapsed:5.1f} s  {fire(what, ctx)}")
                print("  " + events[-1], flush=True)
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        events.append(f"workers at the end: {workers_of(server.pid)}")
        deadline = time.monotonic() + 60  # the last timers are due at 90 % of the run (+ 5 s)
        while (pending := timers_pending(armed)) and time.monotonic() < deadline:
            time.sleep(1)
        events.append(f"timers still pending {time.monotonic() - start - args.duration:.0f} s after the traffic: "
                      f"{pending}")
        events.append(f"schedulers alive at the end: {schedulers.alive()}, lock held by {schedulers.holder()}, "
                      f"take-overs logged: {schedulers.takeovers()}")
    finally:
        stop.set()
        if schedulers:
            schedulers.stop()
        if server:
            try:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(server.pid, signal.SIGKILL)
        if log:
            log.close()

    result = verify(stats)
    keys = verify_keys(stats)
    timer_result = verify_timers(armed, run_began)
    return report(stats, events, result, keys, timer_result, log_path)


def report(stats, events, result, keys, timer_result, log_path) -> int:
    total = sum(stats.sent.values())
    posts = sum(n for kind, n in stats.sent.items() if kind.startswith("POST /request"))
    failed = {f"{k} -> {s or 'connection error'}": n for (k, s), n in sorted(stats.status.items(), key=str)
              if s == 0 or s >= 400}
    print("\n== load and fault summary ==")
    for e in events:
        print("  " + e)
    print(f"  logs: {log_path.relative_to(ROOT)} (tracebacks of the in-flight requests the faults broke), "
          "bench/results/fault-scheduler-*.log")
    print(f"  requests sent:            {total}")
    for kind, n in sorted(stats.sent.items()):
        codes = ", ".join(f"{s or 'conn-err'}: {c}" for (k, s), c in sorted(stats.status.items(), key=str)
                          if k == kind)
        print(f"    {kind:<46} {n:>6}   ({codes})")
    print(f"  doorstep requests posted: {posts} (incl. {stats.doubled} sent twice on purpose, "
          f"{stats.retried} resubmits after an error)")
    print(f"  accepted (303 + reference): {len(stats.accepted)} of {keys['keys_posted']} submission keys; "
          f"not accepted: {keys['not_accepted']} (stored all the same, once: {keys['not_accepted_but_stored']})")
    print(f"  POSTs whose worker was SIGKILLed mid-request, then resubmitted: "
          f"{[(k[:8], ref) for k, ref in stats.midrequest]}; rows left by the killed transaction: "
          f"{stats.rolled_back}")
    print(f"  failed requests by status:  {failed or 'none'}")
    print(f"  same key, two references:   {len(stats.mismatch)}")
    print(f"  accepted but not in the database: {len(result['lost'])}")
    print(f"  duplicates found (by reference / by submission key, accepted keys / any key): "
          f"{len(result['duplicate_refs'])} / {len(result['duplicate_keys'])} / {len(keys['keys_stored_twice'])}")
    print(f"  accepted cases without their 'created' event: {len(result['incomplete'])}; "
          f"cases in the database without one: {result['cases_without_created_event']}")
    t = timer_result
    print(f"  timers armed: {t['armed']}; system events since the start: {t['fired_since_start']}")
    print(f"  timers missing: {len(t['missing'])} {t['missing'][:5]}; fired twice on an armed case: "
          f"{len(t['doubled'])} {t['doubled'][:5]}; any case with a timer event twice: {len(t['any_case_twice'])}")
    print(f"  timer lateness after its due time: median {t['late_median_s']} s, max {t['late_max_s']} s")
    mid_ok = len(stats.midrequest) == 2 and all(ref for _, ref in stats.midrequest) \
        and stats.rolled_back == [0]
    stored_ok = not (result["lost"] or result["duplicate_refs"] or result["duplicate_keys"] or result["incomplete"]
                     or result["cases_without_created_event"] or stats.mismatch or keys["keys_stored_twice"]) \
        and stats.accepted
    timers_ok = not (t["missing"] or t["doubled"] or t["any_case_twice"]) and sum(t["armed"].values())
    print("  RESULT: " + ("OK - every accepted request is in the database exactly once" if stored_ok
                          else "PROBLEM with the stored requests"))
    print("  RESULT: " + ("OK - every due timer fired exactly once" if timers_ok else "PROBLEM with the timers"))
    if not mid_ok:
        print("  RESULT: PROBLEM - a mid-request kill did not happen, left a row behind, or its resubmit "
              "was not accepted")
    return 0 if stored_ok and timers_ok and mid_ok else 1

if __name__ == "__main__":
    sys.exit(main())
