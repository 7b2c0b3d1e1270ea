"""Serve the real application for the browser tests, in its own process.

    python -m tests.e2e.server DIRECTORY

builds a fresh SQLite database in DIRECTORY with the migrations (`flask db upgrade`),
loads `flask demo-data --cases 40`, raises a few scenario cases through the case engine
(until the public front doors exist on this branch, there is no browser way to raise
them), then serves on 127.0.0.1 with a free port and prints ONE line of JSON on stdout:

    {"base_url": "http://127.0.0.1:PORT", "logins": {description: login id}, "cases": {tag: reference},
     "database": "/path/to/e2e.sqlite"}

(the database path lets a scenario read what a person would receive, e.g. the signed link
in the outbox, as the recipient would: read-only).

The configuration is the production `Config` (CSRF on, security headers, sessions, limits on
uploads); only the database, the secret key, the upload folder,
the rate limiter (the suite signs in more often than a person would) and the cost of
hashing the demo passwords are overridden.
"""

from __future__ import annotations

import json
import secrets
import sys
from datetime import datetime
from pathlib import Path

from werkzeug.serving import make_server

# Open doorstep requests in Bengaluru East Division, one per scenario that changes a
# case (a scenario must never depend on another having run). Tag → requester name.
SCENARIO_CASES = ("en", "fa", "hi", "nojs-en", "nojs-fa", "errors", "mobile")


def build(directory: Path):
    from app import create_app

    directory.mkdir(parents=True, exist_ok=True)
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'e2e.sqlite'}",
        "SECRET_KEY": secrets.token_hex(32),
        "UPLOAD_FOLDER": str(directory / "uploads"),
        "RATELIMIT_ENABLED": False,
        # 80 demo users x 0.3 s of scrypt would be most of the suite's time.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["demo-data", "--cases", "40"]):
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            sys.stderr.write(f"flask {' '.join(args)} failed:\n{result.output}\n")
            raise SystemExit(1) from result.exception
    with app.app_context():
        info = {"logins": {desc: login for login, desc in _demo_logins()},
                "cases": _scenario_cases(), "database": str(directory / "e2e.sqlite")}
    return app, info


def _demo_logins():
    from app.services.administration import demo

    return demo.demo_logins()


def _scenario_cases() -> dict[str, str]:
    from sqlalchemy import select

    from app.domain import workflow as wf
    from app.extensions import db
    from app.models import Category, OrgUnit
    from app.services.engine import cases

    division = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "KA-BGE"))
    service = db.session.scalar(select(Category).where(Category.kind == wf.SERVICE_REQUEST,
                                                       Category.code == "pension_delivery"))
    refs = {}
    for tag in SCENARIO_CASES:
        case = cases.raise_case(
            wf.SERVICE_REQUEST, office=division, now=datetime.utcnow(), category=service,
            subject=service.name_en, description="Please come after 10 am.",
            requester={"name": f"Scenario {tag}", "mobile": "9876543210", "pincode": "560001",
                       "address": "12, MG Road", "locale": "en"})
        refs[tag] = case.reference
    return refs


def main() -> None:
    app, info = build(Path(sys.argv[1]))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    info["base_url"] = f"http://127.0.0.1:{server.server_port}"
    print(json.dumps(info), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
