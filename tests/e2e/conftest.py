"""Fixtures of the browser tests (marked `e2e`).

The application runs in its own process (tests/e2e/server.py) with the production
configuration, CSRF on, against a fresh SQLite database built by the migrations and the
demo data; Playwright drives Debian's Chromium (/usr/bin/chromium, never a downloaded
browser). Nothing here uses the unit tests' `app` fixture.

Without Chromium (or with E2E=0) every test in this folder is reported as SKIPPED with
the reason (`make test` passes `-rs` so the reason is printed).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.e2e import support

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
SERVER_START_SECONDS = 120


def _skip_reason() -> str | None:
    if os.environ.get("E2E", "1") == "0":
        return "E2E=0: browser tests switched off for this run"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium): browser tests SKIPPED"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if E2E_DIR not in Path(str(item.fspath)).resolve().parents:
            continue
        item.add_marker(pytest.mark.e2e)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


class LiveServer:
    def __init__(self, info: dict, log: Path):
        self.base_url: str = info["base_url"]
        self.logins: dict[str, str] = info["logins"]
        self.cases: dict[str, str] = info["cases"]
        self.database = Path(info["database"])
        self.log = log

    def login(self, description: str) -> str:
        """Login id of a demo showcase account, by its description in demo_logins()."""
        return self.logins[description]

    def query(self, sql: str, *params) -> list[tuple]:
        """Rows of a read-only query on the server's SQLite database."""
        import sqlite3

        db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def outbox(self, reference: str, template: str | None = None) -> list[str]:
        """Bodies of the notifications written for case `reference` (oldest first), as the
        recipient would read them."""
        sql = ('SELECT n.body FROM notification n JOIN "case" c ON c.id = n.case_id '
               "WHERE c.reference = ?" + (" AND n.template = ?" if template else "") + " ORDER BY n.id")
        return [row[0] for row in self.query(sql, *((reference, template) if template else (reference,)))]

    def user_name(self, login_id: str) -> str:
        return self.query('SELECT name FROM "user" WHERE login_id = ?', login_id)[0][0]


@pytest.fixture(scope="session")
def _server_process():
    """Start building the database and serving at once (the browser starts meanwhile)."""
    tmp = Path(tempfile.mkdtemp(prefix="sevadesk-e2e-"))
    shutil.rmtree(support.ARTIFACTS, ignore_errors=True)  # only this run's screenshots
    support.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = support.ARTIFACTS / "server.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tests.e2e.server", str(tmp)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        yield proc, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def live_server(_server_process, browser):
    """The real app on 127.0.0.1:<free port> with a fresh database (one per test session)."""
    proc, log = _server_process
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=SERVER_START_SECONDS):
        pytest.fail(f"the e2e server did not start in {SERVER_START_SECONDS} s; see {log}")
    line = proc.stdout.readline()
    if not line:
        pytest.fail(f"the e2e server exited ({proc.wait()}); see {log}:\n{log.read_text()[-3000:]}")
    return LiveServer(json.loads(line), log)


@pytest.fixture(scope="session")
def browser(_server_process):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser, live_server):
    """Factory: a page in a fresh browser context (own cookies), English by default.

    new_page(java_script_enabled=False) for the no-JavaScript path,
    new_page(viewport={"width": 360, "height": 740}) for a cheap phone.
    Uncaught script errors and Content-Security-Policy violations fail the test.
    """
    contexts, problems = [], []

    def make(**options):
        options = {"base_url": live_server.base_url, "locale": "en-US",
                   "viewport": {"width": 1280, "height": 800}, **options}
        ctx = browser.new_context(**options)
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        page = ctx.new_page()
        if options.get("java_script_enabled") is False:
            # axe needs JavaScript: check_page audits this page's HTML in a twin that has it.
            twin_ctx = browser.new_context(**{**options, "java_script_enabled": True})
            contexts.append(twin_ctx)
            page.e2e_twin = twin_ctx.new_page()
        page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
        page.on("console", lambda msg: problems.append(f"console: {msg.text} at {msg.location} on {page.url}")
                if msg.type == "error" and "Content Security Policy" in msg.text else None)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not problems, "\n".join(problems)
