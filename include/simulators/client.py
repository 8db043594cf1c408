"""Driving the simulators from outside: the runner in a subprocess (``launch`` / ``stop``) and the admin
side (/_sim/) of one simulator (``SimulatorAdmin``). Used by the tests, the benchmarks and the sandbox."""

from __future__ import annotations

import importlib.util
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterable

import requests

from include.airflow_services import free_port
from include.simulators import REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def available() -> list[str]:
    """The simulators whose module exists."""
    return [name for name, (module, _) in REGISTRY.items() if importlib.util.find_spec(module)]


def launch(seed: str, names: Iterable[str] | None = None, *, free_ports: bool = True, detach: bool = False,
           timeout: float = 60) -> tuple[subprocess.Popen, dict[str, str]]:
    """``python -m include.simulators`` with ``names`` (default: every available one), on free ports or
    their default ones; returns the process and name -> base URL once all are ready. Unless ``detach``
    (own process group, stopped by a signal), the simulators exit when ``stop`` closes their stdin."""
    names = list(names or available())
    args = ["--only", ",".join(names), "--seed", seed]
    if free_ports:
        args += ["--port", *(f"{name}={free_port()}" for name in names)]
    if not detach:
        args.append("--exit-on-stdin-close")
    process = subprocess.Popen([sys.executable, "-m", "include.simulators", *args], cwd=ROOT,
                               stdin=subprocess.DEVNULL if detach else subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, start_new_session=detach)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    urls = {}
    while (line := lines.get(timeout=timeout)) != "ALL READY":
        if line is None:
            raise RuntimeError(f"the simulators exited ({process.wait()}) before they were ready")
        if line.startswith("READY "):
            _, name, url = line.split()
            urls[name] = url
    return process, urls


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)  # the runner's output ended


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """End simulators started by ``launch`` (not detached)."""
    if process.stdin:
        process.stdin.close()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class SimulatorAdmin:
    """The admin side of one simulator: reset, seed, configure, faults, state and the request log."""

    def __init__(self, base: str, timeout: float = 30):
        self.base = base
        self.timeout = timeout
        self.http = requests.Session()

    def admin(self, method: str, path: str, payload=None):
        response = self.http.request(method, f"{self.base}/_sim/{path}", json=payload, timeout=self.timeout)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self):
        return self.admin("POST", "reset")

    def seed(self, **collections):
        return self.admin("POST", "seed", collections)

    def state(self) -> dict:
        return self.admin("GET", "state")

    def configure(self, **settings):
        return self.admin("POST", "config", settings)

    def faults(self, **faults):
        return self.admin("POST", "faults", faults)

    def requests(self, since: int | None = None) -> list[dict]:
        return self.admin("GET", "requests" + (f"?since={since}" if since is not None else ""))

    def writes(self, since: int | None = None) -> list[dict]:
        """Requests that change the vendor's data (the token calls excluded)."""
        return [r for r in self.requests(since) if r["method"] in ("POST", "PUT", "PATCH", "DELETE")
                and not r["path"].lower().endswith(("/token", "/refreshtoken"))]

    def last_seq(self) -> int:
        log = self.requests()
        return log[-1]["seq"] if log else 0

    def clear_requests(self) -> None:
        self.admin("DELETE", "requests")
