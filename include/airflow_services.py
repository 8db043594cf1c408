"""Airflow as production runs it, on one machine: api-server, scheduler and dag-processor on the
LocalExecutor with a PostgreSQL metadata DB, each task in its own supervised process writing its own
log file. Used by the benchmark P5, the test that reads real task log files and the browser tests of
Airflow's own pages (tests/ui/).

``make demo`` uses ``airflow standalone`` instead (one command, a login for a person); both take the
settings below and write connections and pools into the metadata DB the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FINISHED = ("success", "failed")


def pools(path: Path | None = None) -> dict[str, dict]:
    """Every company's pools as ``airflow pools import`` reads them (companies file: ``path``, else dags/'s or
    $ERPBRIDGE_COMPANIES_FILE)."""
    from erpbridge.companies import companies_file, pool_import

    return pool_import(path or companies_file(ROOT / "dags"))


def airflow_settings() -> dict[str, str]:
    """The Airflow settings every erpbridge Airflow on this machine shares (the sandbox, the demo, the tests)."""
    from erpbridge.provider import SECRET_EXTRAS

    return {
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the Test button in Admin > Connections
        "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES": ",".join(SECRET_EXTRAS),  # masked in the API, UI and logs
    }


def import_connections_and_pools(env: dict[str, str], connections: dict[str, dict], pools: dict[str, dict]) -> None:
    """Migrate the metadata DB, then write the pools and connections into it (replacing older ones), so
    Admin > Connections lists them and they can be edited there."""
    full_env = {**os.environ, **env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory() as tmp:
        conn_file, pool_file = Path(tmp) / "connections.json", Path(tmp) / "pools.json"
        # no extra rather than "{}": Airflow masks the extra string and warns in every task that it is too short
        conn_file.write_text(json.dumps({conn_id: {**conn, "extra": json.dumps(conn["extra"]) if conn.get("extra") else None}
                                         for conn_id, conn in connections.items()}))
        pool_file.write_text(json.dumps(pools))
        steps = [["db", "migrate"], ["pools", "import", str(pool_file)]]
        if connections:
            steps.append(["connections", "import", "--overwrite", str(conn_file)])
        for args in steps:
            done = subprocess.run([sys.executable, "-m", "airflow", *args], env=full_env, cwd=ROOT,
                                  capture_output=True, text=True, timeout=600)
            if done.returncode:
                raise RuntimeError(f"airflow {' '.join(args[:2])} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Until ``url`` answers 200 (Airflow's health endpoint); fails when ``process`` exits first."""
    import requests

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"Airflow exited with {process.returncode} before it was up")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"Airflow not up after {timeout:.0f} s ({url})")
        time.sleep(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AirflowServices:
    """``metadata_uri``: a psycopg URI of an empty database; ``env``: settings (they win over the defaults
    below) and the like for the tasks; ``connections``: written into the metadata DB (conn id -> fields)."""

    def __init__(self, home: Path, metadata_uri: str, env: dict[str, str], connections: dict[str, dict] | None = None):
        self.home = home
        self.metadata_uri = metadata_uri
        self.logs = home / "logs"
        self.process_logs = home / "process-logs"
        self.process_logs.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.connections = connections or {}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}  # connections stay
        self.env.update({
            **airflow_settings(),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # only the DAGs a caller unpauses run
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_uri.replace("postgresql://", "postgresql+psycopg2://", 1),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "PYTHONPATH": str(ROOT),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        })
        self.env.update(env)
        self.procs: dict[str, subprocess.Popen] = {}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, check=True, timeout=600)

    def start(self) -> None:
        """Migrate the metadata DB, write the pools (of the companies file the services are given, if any) and
        connections, start the three services."""
        given = self.env.get("ERPBRIDGE_COMPANIES_FILE")
        import_connections_and_pools(self.env, self.connections, pools(Path(given) if given else None))
        for name, args in {"api-server": ["api-server", "--port", self.env["AIRFLOW__API__PORT"]],
                           "scheduler": ["scheduler"], "dag-processor": ["dag-processor"]}.items():
            out = open(self.process_logs / f"{name}.log", "w")
            self.procs[name] = subprocess.Popen([sys.executable, "-m", "airflow", *args], env=self.env, cwd=ROOT,
                                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def __enter__(self) -> AirflowServices:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.metadata_uri, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def wait_parsed(self, dag_ids: list[str], deadline: float) -> None:
        """Until the dag-processor has stored these DAGs; then unpause them (the others stay paused)."""
        while True:
            rows = dict(self.query("SELECT dag_id, is_paused FROM dag WHERE dag_id = ANY(%s)", (dag_ids,)))
            if len(rows) == len(dag_ids):
                break
            self._check_alive(deadline, f"DAGs not parsed: {sorted(set(dag_ids) - set(rows))}")
            time.sleep(1)
        paused = [dag_id for dag_id, is_paused in rows.items() if is_paused]
        if paused:  # in one CLI call: each call costs seconds of start-up
            self.cli("dags", "unpause", "--treat-dag-id-as-regex", "--yes", f"^({'|'.join(map(re.escape, paused))})$")

    def trigger(self, dag_id: str, run_id: str, conf: dict | None = None) -> None:
        self.cli("dags", "trigger", dag_id, "--run-id", run_id, *(["--conf", json.dumps(conf)] if conf else []))

    def runs(self, dag_id: str | None = None) -> list[tuple]:
        """(dag_id, run_id, state, queued_at, start_date, end_date), oldest first."""
        return self.query("SELECT dag_id, run_id, state, queued_at, start_date, end_date FROM dag_run"
                           " WHERE %s::text IS NULL OR dag_id = %s ORDER BY id", (dag_id, dag_id))

    def task_instances(self, dag_id: str, run_id: str) -> list[tuple]:
        """(task_id, state, queued_dttm, start_date, end_date) in start order."""
        return self.query("SELECT task_id, state, queued_dttm, start_date, end_date FROM task_instance"
                           " WHERE dag_id = %s AND run_id = %s ORDER BY start_date", (dag_id, run_id))

    def wait_finished(self, deadline: float, run_id: str | None = None) -> list[tuple]:
        """Until every run (or every run with this id) has succeeded or failed; returns those runs."""
        while True:
            runs = [r for r in self.runs() if run_id in (None, r[1])]
            if runs and all(r[2] in FINISHED for r in runs):
                return runs
            waiting = [(r[0], r[1], r[2]) for r in runs if r[2] not in FINISHED]
            self._check_alive(deadline, f"runs not finished: {waiting}")
            time.sleep(0.5)

    def _check_alive(self, deadline: float, what: str) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}\n{self.tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        """The last lines of each service's output, for an error message."""
        return "\n".join(f"--- {log.name}:\n" + "\n".join(
            line[:300] for line in log.read_text(errors="replace").splitlines()[-lines:])
            for log in sorted(self.process_logs.glob("*.log")))
