"""`make run` as a newcomer meets it: it installs only the run-time packages, listens on
`PORT`, and Ctrl+C stops the web server and the scheduler without a make error line.

The recipe runs for real under a pseudo-terminal, with stand-ins for `flask` and
`pybabel` (FLASK= and VENV= on make's command line), so nothing is installed or served."""

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

STUB_FLASK = """#!/bin/sh
# a stand-in for `flask --app wsgi`: FLASK=<this file> makes "$1" the command
case "$1" in
  run) echo "stub web server $*"; exec sleep 120 ;;
  scheduler) echo $$ > "$STUB_DIR/scheduler.pid"; echo "stub scheduler"; exec sleep 120 ;;
  *) echo "stub flask $1" ;;
esac
"""


def _stubs(tmp_path: Path) -> dict:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "pybabel").write_text("#!/bin/sh\nexit 0\n")
    flask = tmp_path / "flask"
    flask.write_text(STUB_FLASK)
    for f in (venv / "bin" / "pybabel", flask):
        f.chmod(0o755)
    (venv / ".installed").touch()  # newer than requirements.txt: nothing to install
    return {"VENV": str(venv), "FLASK": str(flask)}


def test_run_needs_only_the_runtime_packages():
    plan = subprocess.run(["make", "-pn", "run", "VENV=/nonexistent-venv"], cwd=ROOT,
                          capture_output=True, text=True).stdout
    rule = re.search(r"^/nonexistent-venv/\.installed: ([^:=\n]*)$", plan, re.M).group(1)
    assert rule.split() == ["requirements.txt"]
    assert "venv-dev" not in re.search(r"^run: ([^:=\n]*)$", plan, re.M).group(1).split()
    test_rule = re.search(r"^test: ([^:=\n]*)$", plan, re.M).group(1)
    assert "venv-dev" in test_rule.split()


def test_ctrl_c_stops_both_quietly_on_the_chosen_port(tmp_path):
    variables = _stubs(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: make in the foreground of its own terminal, as in a shell
        os.chdir(ROOT)
        os.environ["STUB_DIR"] = str(tmp_path)
        os.execvp("make", ["make", "run", "PORT=8080"] + [f"{k}={v}" for k, v in variables.items()])
    out = b""

    def read(until: bytes | None, seconds: float) -> None:
        nonlocal out
        end = time.monotonic() + seconds
        while time.monotonic() < end and (until is None or until not in out):
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                out += chunk

    try:
        read(b"stub web server", 20)
        assert b"--port 8080" in out, out.decode(errors="replace")
        assert b"http://127.0.0.1:8080" in out
        read(None, 0.5)
        assert (tmp_path / "scheduler.pid").exists(), out.decode(errors="replace")
        scheduler = int((tmp_path / "scheduler.pid").read_text())
        os.write(fd, b"\x03")  # Ctrl+C: the terminal sends SIGINT to the foreground group
        read(None, 5)
        _, status = os.waitpid(pid, 0)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        raise
    text = out.decode(errors="replace")
    assert "Seva Desk stopped." in text
    assert "make: ***" not in text and "Error" not in text, text
    # make ends by the signal it was sent (as any program stopped with Ctrl+C), or 0
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 or \
        os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT, status
    for _ in range(50):
        try:
            os.kill(scheduler, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(scheduler, signal.SIGKILL)
        pytest.fail("the scheduler was still running after Ctrl+C")
