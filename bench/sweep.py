"""Time the timer sweep alone, as `make bench` does (`bench/run.py: time_sweep`): re-arm
WANT due confirmations on the database of DATABASE_URL, sweep, report seconds.

    DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/sweep.py --due 10000
    ... bench/sweep.py --due 10000 --profile /tmp/sweep.prof   # cProfile of the sweep

Repeatable: each run puts closed complaints back to awaiting confirmation first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import SWEEP_CODE, time_sweep  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--due", type=int, default=10000)
    ap.add_argument("--profile", help="write a cProfile dump of the sweep to this file")
    args = ap.parse_args()
    if not args.profile:
        print(json.dumps(time_sweep(dict(os.environ), args.due)))
        return
    code = SWEEP_CODE.replace("WANT", str(args.due)).replace(
        "    counts = timers.sweep(now)\n",
        "    import cProfile\n    _prof = cProfile.Profile()\n    _prof.enable()\n"
        "    counts = timers.sweep(now)\n    _prof.disable()\n"
        f"    _prof.dump_stats({args.profile!r})\n")
    exec(compile(code, "sweep_code", "exec"), {"__name__": "__sweep__"})  # noqa: S102 - our own code


if __name__ == "__main__":
    main()
