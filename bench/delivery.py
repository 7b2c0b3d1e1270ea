"""Delivery benchmark (issue 28 item 4): fills the outbox with N e-mails and measures
messages delivered per second by 1, 2 and 4 `flask deliver --once` worker processes on
PostgreSQL, against a local SMTP sink (aiosmtpd, in this process).

    .venv/bin/python bench/delivery.py                       # 2,000 messages, 1, 2 and 4 workers
    .venv/bin/python bench/delivery.py --messages 5000 --workers 1,4 --batch 100 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/sevadesk_bench_delivery

The database's outbox is emptied before each run: give it a scratch database (the default,
created and migrated when missing). The rate is counted at the sink, from the first message received to the last (the
workers' start-up, ~1 s of imports, is reported apart as wall time). Every run checks
that the sink got each message exactly once and that every row is marked sent.
Figures are printed and written to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/sevadesk_bench_delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """An SMTP server that accepts everything and notes when each message arrived."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.lock = threading.Lock()
        self.times: list[float] = []
        self.ids: list[str] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
                raw = envelope.original_content or envelope.content
                head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
                mid = next((line.split(":", 1)[1].strip() for line in head.splitlines()
                            if line.lower().startswith("message-id:")), "")
                with sink.lock:
                    sink.times.append(time.perf_counter())
                    sink.ids.append(mid)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def reset(self):
        with self.lock:
            self.times.clear()
            self.ids.clear()

    def stop(self):
        self.controller.stop()


def pg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def prepare(url: str, env: dict) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([str(VENV / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)


def fill(url: str, n: int) -> None:
    """`n` pending e-mails of mixed priorities (codes, waiting, staff, office), due now."""
    import psycopg

    rng = random.Random(28)
    now = datetime.utcnow() - timedelta(seconds=5)
    priorities = [(0, "otp"), (1, "case_updated"), (5, "assigned"), (7, "office_received")]
    with psycopg.connect(pg_url(url)) as conn:
        conn.execute("DELETE FROM notification")
        with conn.cursor() as cur, cur.copy(
                "COPY notification (channel, recipient, template, locale, subject, body, status, priority, "
                "attempts, next_attempt_at, created_at) FROM STDIN") as copy:
            for i in range(n):
                priority, template = priorities[rng.randrange(4)]
                copy.write_row(("email", f"staff{i}@example.in", template, "en", f"Bench message {i}",
                                f"Message {i} of the delivery benchmark.\n" * 4, "pending", priority, 0,
                                now, now))
        conn.commit()
    with psycopg.connect(pg_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE notification")


def counts(url: str) -> dict:
    import psycopg

    with psycopg.connect(pg_url(url)) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM notification GROUP BY status").fetchall())


def run(url: str, env: dict, sink: Sink, n: int, workers: int, batch: int) -> dict:
    fill(url, n)
    sink.reset()
    started = time.perf_counter()
    procs = [subprocess.Popen([str(VENV / "flask"), "--app", "wsgi", "deliver", "--once", "--batch", str(batch)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(workers)]
    outputs = [p.communicate(timeout=600) for p in procs]
    wall = time.perf_counter() - started
    failed = [err[-2000:] for p, (_out, err) in zip(procs, outputs, strict=True) if p.returncode]
    with sink.lock:
        times, ids = list(sink.times), list(sink.ids)
    span = (times[-1] - times[0]) if len(times) > 1 else float("nan")
    statuses = counts(url)
    return {
        "workers": workers, "batch": batch, "messages": n, "received": len(times),
        "duplicates": len(ids) - len(set(ids)), "statuses": statuses,
        "per_second": round((len(times) - 1) / span, 1) if len(times) > 1 else 0.0,
        "wall_seconds": round(wall, 2), "wall_per_second": round(len(times) / wall, 1),
        "worker_errors": failed,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--database-url", default=os.environ.get("DELIVERY_BENCH_DATABASE_URL", DEFAULT_URL))
    args = ap.parse_args()
    if not args.database_url.startswith("postgresql"):
        print("bench/delivery.py measures PostgreSQL (SKIP LOCKED): give a postgresql+psycopg:// URL")
        return 2
    sink = Sink()
    env = {**os.environ, "DATABASE_URL": args.database_url, "NOTIFY_EMAIL_BACKEND": "smtp",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "SMTP_STARTTLS": "0",
           "DELIVERY_WORKERS": "1", "PORTAL_ENV": "", "FLASK_DEBUG": "0"}
    env.pop("SMTP_USER", None)
    try:
        prepare(args.database_url, env)
        results = []
        for k in [int(x) for x in args.workers.split(",")]:
            r = run(args.database_url, env, sink, args.messages, k, args.batch)
            results.append(r)
            ok = r["received"] == args.messages and not r["duplicates"] and r["statuses"] == {"sent": args.messages}
            print(f"{k} worker(s), batch {args.batch}: {r['per_second']:>8.1f} messages/s at the sink "
                  f"({r['received']} received, {r['duplicates']} twice; wall {r['wall_seconds']} s with start-up)"
                  + ("" if ok else f"  CHECK FAILED: {r['statuses']} {r['worker_errors']}"))
    finally:
        sink.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"delivery-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"cpus": os.cpu_count(), "python": sys.version.split()[0], "results": results},
                              indent=2))
    print(f"results: {out}")
    return 0 if all(r["received"] == args.messages and not r["duplicates"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
