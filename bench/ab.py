"""A/B one page between two revisions, in-process, alternating them on the same database.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/sevadesk_bench \\
        .venv/bin/python bench/ab.py --base 6a42ee1 --page case --rounds 3
    ... bench/ab.py --base 6a42ee1 --page queue --callgrind    # instructions, not seconds

On a shared two-core machine a page's time moves by a fifth between two runs of the same
code, so one run of each side says little. This runs `bench/profile_pages.py PAGE
--no-profile --no-ceiling --db-cpu` for the base revision and the working tree in turn,
ROUNDS times, and prints each run's time, its CPU and (PostgreSQL) the server's CPU per
request, then the median of each side. With `--callgrind` it counts instructions instead
(valgrind, the difference of 30 and 10 requests divided by 20, `PYTHONHASHSEED=0`: with
random hash seeds the same code moves by about 2 %): repeatable, whatever else the machine
does, but blind to the database server's work. Even so, the same code checked out in two
directories differs by up to 1.5 % (7.65 against 7.53 million for the partial): read
smaller differences as none.

The base revision is checked out in a temporary git worktree that shares this checkout's
`.venv`; its translations are compiled there, and the working tree's harness
(`bench/profile_pages.py`, `bench/ceiling.py`) is copied in, so both sides are driven alike
and the base can be asked for a page the harness learnt since. `--base-page` names the
base's page when it had another address (`--page request --base-page old-request`: a
doorstep request's one case page against its own page before). The worktree is removed
at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"

_TIMES = re.compile(r"^\S+: ([\d.]+) ms per request, ([\d.]+) ms of it this process's CPU", re.M)
_SERVER = re.compile(r"^PostgreSQL server processes: ([\d.]+) ms CPU per request", re.M)
_COLLECTED = re.compile(r"Collected : (\d+)")


def parse_timing(output: str) -> dict:
    """ms, cpu_ms and (when reported) server_ms of one profile_pages.py --no-profile run."""
    m = _TIMES.search(output)
    if not m:
        raise ValueError(f"no timing in the output:\n{output[-2000:]}")
    out = {"ms": float(m.group(1)), "cpu_ms": float(m.group(2))}
    s = _SERVER.search(output)
    if s:
        out["server_ms"] = float(s.group(1))
    return out


def instructions_per_request(total_10: int, total_30: int) -> int:
    """The cost of one request: start-up and warm-up cancel out in the difference."""
    return (total_30 - total_10) // 20


def medians(runs: list[dict]) -> dict:
    keys = sorted({k for r in runs for k in r})
    return {k: round(statistics.median(r[k] for r in runs if k in r), 3) for k in keys}


def _worktree(base: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="sevadesk-ab-")) / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(path), base], check=True)
    (path / ".venv").symlink_to(VENV)
    for harness in ("bench/profile_pages.py", "bench/ceiling.py"):
        shutil.copyfile(ROOT / harness, path / harness)
    subprocess.run([str(VENV / "bin" / "pybabel"), "--quiet", "compile", "-d", "translations"], cwd=path,
                   check=True)
    return path


def _profile(tree: Path, page: str, n: int, env: dict) -> str:
    cmd = [str(VENV / "bin" / "python"), "bench/profile_pages.py", page, "--no-profile", "--no-ceiling",
           "--n", str(n)]
    if env.get("DATABASE_URL", "").startswith("postgresql"):
        cmd.append("--db-cpu")
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    return done.stdout + done.stderr


def _instructions(tree: Path, page: str, env: dict) -> int:
    totals = {}
    for n in (10, 30):
        done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                               str(VENV / "bin" / "python"), "bench/profile_pages.py", page, "--no-profile",
                               "--no-ceiling", "--n", str(n)],
                              cwd=tree, env={**env, "PYTHONHASHSEED": "0"}, capture_output=True, text=True)
        m = _COLLECTED.search(done.stderr)
        if not m:
            raise RuntimeError(f"valgrind gave no total:\n{done.stderr[-2000:]}")
        totals[n] = int(m.group(1))
    return instructions_per_request(totals[10], totals[30])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the revision to compare with (the working tree is the other)")
    ap.add_argument("--page", default="queue", help="a page of bench/profile_pages.py")
    ap.add_argument("--base-page", help="the base's page, when it had another address (default: --page)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=2000, help="requests per timed run")
    ap.add_argument("--callgrind", action="store_true", help="count instructions (valgrind) instead of timing")
    args = ap.parse_args()
    if "DATABASE_URL" not in os.environ:
        ap.error("set DATABASE_URL to a seeded benchmark database")
    if args.callgrind and not shutil.which("valgrind"):
        ap.error("valgrind is not installed (apt-get install valgrind)")
    env = {**os.environ, "RATELIMIT_ENABLED": "0"}
    base = _worktree(args.base)
    sides = {f"base {args.base}, {args.base_page or args.page}": (base, args.base_page or args.page),
             f"working tree, {args.page}": (ROOT, args.page)}
    try:
        if args.callgrind:
            for name, (tree, page) in sides.items():
                print(f"{name}: {_instructions(tree, page, env):,} instructions per request", flush=True)
            return 0
        runs: dict[str, list[dict]] = {name: [] for name in sides}
        for i in range(args.rounds):
            for name, (tree, page) in sides.items():
                r = parse_timing(_profile(tree, page, args.n, env))
                runs[name].append(r)
                print(f"round {i + 1}, {name}: {r}", flush=True)
        for name, rs in runs.items():
            print(f"median, {name}: {medians(rs)}")
        return 0
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
        shutil.rmtree(base.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
