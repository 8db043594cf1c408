"""Issue 7, secrets in real task log files: dag.test() writes none, so here Airflow runs as production
runs it (api-server, scheduler, dag-processor on the LocalExecutor, PostgreSQL metadata; each task in
its own supervised process writing its log file). A Severa -> Netvisor flow and both flow B DAGs run
against the seeded simulators, then a run meets a rotated Severa secret; every file under the log
folder, the services' own output and every XCom are searched for each secret the connections hold."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psycopg

from include.airflow_services import AirflowServices
from include.simulators.standard_books import DEMO_SEED as SB_DEMO
from tests.conftest import SECRET_VALUES
from tests.flows import test_severa_netvisor_sales_invoices as sales
from tests.flows.test_standardbooks_envoice import doc

RUNS = {"severa_netvisor_registers": None, "severa_netvisor_sales_invoices": None,
        "standardbooks_envoice_master_data": {"mode": "send_all"}, "envoice_standardbooks_purchase_documents": None}
TIMEOUT = 240


def test_no_secret_in_the_log_files_of_a_real_scheduler_run(postgres, ledger, netvisor, severa, standard_books,
                                                            envoice, tmp_path):
    severa.configure(rate_limit_per_second=1000)
    severa.seed(**sales.severa_seed([sales.invoice(5301), sales.invoice(5302, customer="1003")]))
    netvisor.seed(**sales.NETVISOR_SEED)
    standard_books.seed(**SB_DEMO)
    envoice.seed(documents=[doc(4301, "LOGGED-DOC"), doc(4302, "REFUSED", supplier="9999")])
    metadata = f"airflow_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.get_uri(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {metadata}")
    deadline = time.monotonic() + TIMEOUT

    with AirflowServices(tmp_path / "airflow", postgres.get_uri(metadata), {}) as airflow:
        airflow.wait_parsed(list(RUNS), deadline)
        for dag_id, conf in RUNS.items():
            airflow.trigger(dag_id, "secrets_check", conf)
        finished = {run[0]: run[2] for run in airflow.wait_finished(deadline, "secrets_check")}
        assert finished == dict.fromkeys(RUNS, "success"), airflow.tail()

        severa.configure(client_secret="rotated-elsewhere")  # the stored secret is now refused
        airflow.trigger("severa_netvisor_registers", "refused_credential", {"full_resync": True})
        while not any(state in ("up_for_retry", "failed") for _, state, *_ in
                      airflow.task_instances("severa_netvisor_registers", "refused_credential")):
            assert time.monotonic() < deadline, airflow.tail()
            time.sleep(0.5)
        xcoms = " ".join(str(row) for row in airflow.query("SELECT dag_id, task_id, key, value::text FROM xcom"))
        task_logs = {path: path.read_text(errors="replace") for path in airflow.logs.rglob("*") if path.is_file()}
        service_output = {path: path.read_text(errors="replace") for path in airflow.process_logs.glob("*.log")}

    run_logs = [p for p in task_logs if "run_id=secrets_check" in str(p)]
    # the places searched hold what the runs did
    assert {dag_id for dag_id in RUNS if any(f"dag_id={dag_id}" in str(p) for p in run_logs)} == set(RUNS)
    everything = "\n".join(task_logs.values())
    assert "LOGGED-DOC" in everything, "the document transfer left no trace in the logs"
    assert "Invalid client_id or client_secret" in everything, "the refused credential left no trace in the logs"
    assert any(dag_id in xcoms for dag_id in RUNS)
    for secret in SECRET_VALUES:
        for place, texts in {"task log files": task_logs, "service output": service_output,
                             "XCom": {Path("xcom"): xcoms}}.items():
            leaks = [str(path) for path, text in texts.items() if secret in text]
            assert leaks == [], f"a secret appears in the {place}: {leaks}"
    print(f"secrets in real task logs: searched {len(task_logs)} log files ({len(everything)} chars), "
          f"{len(service_output)} service outputs, {len(xcoms)} chars of XCom")
