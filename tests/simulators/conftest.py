"""Fixtures starting the simulators as a real subprocess (``python -m include.simulators``)."""

from __future__ import annotations

import queue
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the simulators live in include/, outside any installed package
    sys.path.insert(0, str(REPO))

from include.simulators import REGISTRY  # noqa: E402

STARTUP_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


@pytest.fixture(scope="session")
def simulators():
    """Start every available simulator on free ports; yield name -> base URL."""
    ports = [f"{name}={free_port()}" for name in REGISTRY]
    process = subprocess.Popen(
        [sys.executable, "-m", "include.simulators", "--seed", "empty", "--exit-on-stdin-close",
         "--port", *ports],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    urls = {}
    try:
        while (line := lines.get(timeout=STARTUP_TIMEOUT)) != "ALL READY":
            if line.startswith("READY "):
                _, name, url = line.split()
                urls[name] = url
        yield urls
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
