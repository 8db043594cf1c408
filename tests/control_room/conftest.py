"""The control room against the real api-server: `airflow api-server` in a subprocess (the session's
Airflow home and SQLite metadata, SimpleAuthManager with users and a generated password file, the
plugin loaded from its entry point) and one ledger database it reads, emptied before each test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from include.airflow_services import free_port
from tests.conftest import ROOT

USERS = {"admin": "admin", "viewer": "viewer", "alice": "op"}  # name: role (alice: one DAG, one_dag_auth_manager)
STARTUP_TIMEOUT = 90


class Server:
    def __init__(self, base: str, passwords: dict[str, str], ledger_uri: str):
        self.base = base
        self.passwords = passwords
        self.ledger_uri = ledger_uri
        self._tokens: dict[str, str] = {}

    def token(self, user: str = "admin") -> str:
        if user not in self._tokens:
            response = requests.post(f"{self.base}/auth/token", timeout=30,
                                     json={"username": user, "password": self.passwords[user]})
            assert response.status_code == 201, response.text
            self._tokens[user] = response.json()["access_token"]
        return self._tokens[user]

    def session(self, user: str | None = "admin") -> requests.Session:
        """A client of the control room: signed in as ``user`` by a Bearer JWT, or anonymous (None)."""
        http = requests.Session()
        if user:
            http.headers["Authorization"] = f"Bearer {self.token(user)}"
        return http

    def url(self, path: str) -> str:
        return f"{self.base}/erpbridge{path}"


def _ledger_conn_json(postgres, name: str) -> str:
    socket_dir = postgres.get_uri().split("host=", 1)[1]
    return json.dumps({"conn_type": "postgres", "host": socket_dir, "login": "postgres", "schema": name})


@pytest.fixture(scope="session")
def control_room_ledger(postgres):
    """One ledger database for the api-server's lifetime, migrated (the DAG's first task does the same)."""
    import psycopg

    from erpbridge.ledger.store import Ledger

    name = f"ledger_cr_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.get_uri(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    conn = psycopg.connect(postgres.get_uri(name))
    Ledger(conn, "-").migrate()
    conn.autocommit = True
    yield name, conn
    conn.close()


@pytest.fixture(scope="session")
def api_server(airflow_db, postgres, control_room_ledger):
    """`airflow api-server` with the control room plugin, one worker, on a free port; no [api] base_url (as
    docker-compose.yaml ships), so nothing may depend on the request's Host."""
    home = Path(os.environ["AIRFLOW_HOME"])
    port = free_port()
    ledger_name, _ = control_room_ledger
    from airflow.configuration import conf

    env = {**os.environ,
           # the same Variable encryption as this process, which reads what the control room writes
           "AIRFLOW__CORE__FERNET_KEY": conf.get("core", "fernet_key", fallback="") or "",
           "AIRFLOW__CORE__AUTH_MANAGER": "tests.control_room.one_dag_auth_manager.OneDagAuthManager",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
           "AIRFLOW__API__BASE_URL": "", "AIRFLOW__API__PORT": str(port),
           "AIRFLOW__API_AUTH__JWT_SECRET": "control-room-tests-" + uuid.uuid4().hex,
           "AIRFLOW_CONN_ERPBRIDGE_LEDGER": _ledger_conn_json(postgres, ledger_name)}
    log_path = home / "api-server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"api-server exited {process.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if requests.get(f"{base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"api-server not up in {STARTUP_TIMEOUT}s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.5)
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        yield Server(base, passwords, postgres.get_uri(ledger_name))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def room(api_server, control_room_ledger, monkeypatch):
    """The server with an empty ledger; flows run in this process (run_dag) write to the same ledger."""
    _, conn = control_room_ledger
    tables = [row[0] for row in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migration'")]
    conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
    socket_dir = api_server.ledger_uri.split("host=", 1)[1]
    monkeypatch.setenv("AIRFLOW_CONN_ERPBRIDGE_LEDGER", json.dumps(
        {"conn_type": "postgres", "host": socket_dir, "login": "postgres",
         "schema": control_room_ledger[0]}))
    api_server.db = conn
    return api_server


def execute_queued_run(dag_id: str, run_id: str):
    """Run a DAG run that Airflow's REST API queued (there is no scheduler in the tests): dag.test() under the
    same run id, with the queued run's conf. dag.test replaces the queued run of that logical date by a
    running one of the same id and executes its tasks in this process, against the same metadata DB."""
    from sqlalchemy import select

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from tests.flows.dagrun import load_dag

    with create_session() as session:
        queued = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        assert queued is not None, f"no run {run_id} of {dag_id}"
        logical_date, run_after, conf = queued.logical_date, queued.run_after, dict(queued.conf or {})
    dag = load_dag(dag_id)
    for task in dag.tasks:
        task.retries = 0
    run = dag.test(logical_date=logical_date, run_after=run_after, run_conf=conf)
    assert run.run_id == run_id, (run.run_id, run_id)
    return run


def sync_dags() -> None:
    """Write the DAGs of dags/ to the metadata DB (as the dag processor, or dag.test(), would), so the
    REST API can trigger one that has not run in this session."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        sync_bag_to_db(BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name),
                       bundle.name, bundle.version)


@pytest.fixture
def settings_variable(room):
    """No Variable erpbridge_severa_netvisor in Airflow's metadata DB before and after the test (the control room
    writes it through the REST API; every flow test after would read it)."""
    url = f"{room.base}/api/v2/variables/erpbridge_severa_netvisor"
    room.session().delete(url, timeout=30)
    yield url
    room.session().delete(url, timeout=30)


@pytest.fixture
def netvisor_in_airflow(room, netvisor):
    """The hours flow's Netvisor connection (netvisor_default, at the simulator, as the ``netvisor`` fixture made
    it) in Airflow's metadata DB, where the api-server reads it; removed before and after the test."""
    conn = json.loads(os.environ["AIRFLOW_CONN_NETVISOR_DEFAULT"])
    url = f"{room.base}/api/v2/connections"
    admin = room.session()
    admin.delete(f"{url}/netvisor_default", timeout=30)
    created = admin.post(url, timeout=30, json={
        "connection_id": "netvisor_default", "conn_type": "netvisor", "host": conn["host"], "login": conn["login"],
        "password": conn["password"], "extra": json.dumps(conn["extra"])})
    assert created.status_code == 201, created.text
    yield netvisor
    admin.delete(f"{url}/netvisor_default", timeout=30)
