"""The README's sandbox lines, typed one after the other in a fresh clone: `make sandbox &`, then at once
`source .sandbox.env && .venv/bin/airflow dags test severa_netvisor_registers` (the clone shares this
checkout's venv, so make has nothing to install; the env file must still wait for the sandbox)."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

TIMEOUT = 500


def readme_sandbox_lines() -> list[str]:
    """The shell block of the README that starts the sandbox, without its comments."""
    block = next(b for b in re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
                 if "make sandbox &" in b)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def fresh_clone(target: Path) -> Path:
    """The checkout's files as git would clone them (uncommitted edits included), with this venv."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)  # keeps the times: make sees the venv as up to date
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


@pytest.fixture
def clone_dir():
    """Outside pytest's tmp_path: other pytest sessions reset its permissions, and PostgreSQL runs as
    another user that must reach its data directory."""
    path = Path(tempfile.mkdtemp(prefix="erpbridge-clone-"))
    yield path / "erpbridge"
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.timeout(TIMEOUT + 120)
def test_readme_sandbox_lines_work_on_a_fresh_clone(clone_dir):
    lines = readme_sandbox_lines()
    assert lines == ["make sandbox &", "source .sandbox.env && .venv/bin/airflow dags test severa_netvisor_registers"]
    clone = fresh_clone(clone_dir)
    typing = "sleep 1"  # a person takes that long to type the next line; the sandbox is far from ready then
    script = "\n".join([lines[0], typing, "test -e .sandbox.env || echo 'NO ENV FILE'", lines[1], "echo \"rc=$?\""])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))}
    shell = subprocess.Popen(["bash", "-c", script], cwd=clone, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines_out: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines_out.put(line) for line in shell.stdout], daemon=True).start()
    output: list[str] = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while not (output and output[-1].startswith("rc=")) and time.monotonic() < deadline:
            try:
                output.append(lines_out.get(timeout=5))
            except queue.Empty:
                pass
    finally:
        os.killpg(shell.pid, signal.SIGTERM)  # as Ctrl-C: the sandbox stops its simulators and PostgreSQL
        shell.wait(timeout=120)
        stopped = time.monotonic() + 90
        while (clone / ".sandbox" / "pgdata" / "postmaster.pid").exists() and time.monotonic() < stopped:
            time.sleep(0.5)
    text = "".join(output)
    assert "NO ENV FILE" not in text
    assert output and output[-1].strip() == "rc=0", text[-3000:]
    assert "summary customer: created=" in text
    assert "state=success" in text
    assert not (clone / ".sandbox.env").exists(), "a stopped sandbox leaves no env file to source"
    assert not (clone / ".sandbox" / "pgdata" / "postmaster.pid").exists(), "PostgreSQL stopped"
