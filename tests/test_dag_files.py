"""DAG files: import without errors, without I/O, fast; every DAG follows the house rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))

PROBE = r"""
import importlib.util, json, sys, time
import airflow.sdk  # Airflow itself is loaded before any DAG file, as in the dag processor
import croniter  # ... with its timetables (croniter probes the platform with a subprocess at import)
events = []
def audit(event, args):
    if event in {"socket.connect", "socket.getaddrinfo", "subprocess.Popen", "os.system"}:
        events.append(f"{event} {args!r}"[:200])
    if event == "open" and isinstance(args[0], str) and "w" in str(args[1]) and not args[0].endswith(".pyc"):
        events.append(f"open for writing {args[0]}")
sys.addaudithook(audit)
path = sys.argv[1]
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("dagfile", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
elapsed = time.perf_counter() - start
from airflow.sdk import DAG
dags = [v for v in vars(module).values() if isinstance(v, DAG)]
print(json.dumps({"seconds": elapsed, "io": events, "dags": [d.dag_id for d in dags]}))
"""


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_fast_and_without_io(path):
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["io"] == []
    assert report["seconds"] < 1.0, f"{path.name} took {report['seconds']:.2f}s to import"


def test_every_dag_is_parsed_by_airflow_without_errors(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    # every DAG file is found (Airflow's safe mode skips a file that does not name both airflow and dag)
    assert set(bag.dags) >= {path.stem for path in DAG_FILES}
    for dag in bag.dags.values():
        assert dag.catchup is False
        assert dag.max_active_runs == 1
        assert all(task.retries >= 1 for task in dag.tasks), dag.dag_id


def test_registers_dag_schedule_params_and_pool(airflow_db):
    from datetime import timedelta

    from airflow.sdk.exceptions import ParamValidationError

    from tests.flows.dagrun import load_dag

    dag = load_dag("severa_netvisor_registers")
    assert dag.timetable.delta == timedelta(minutes=40)
    assert set(dag.params.keys()) == {"dry_run", "full_resync", "registers", "retry_records"}
    syncs = [t for t in dag.tasks if t.task_id.startswith("sync_")]
    assert {t.pool for t in syncs} == {"netvisor_default"}
    dag.params.validate()
    with pytest.raises(ParamValidationError, match="registers"):
        dag.params["registers"] = ["orders"]
    dag.params["retry_records"] = [{"entity": "customer", "source_id": "guid-1"}]  # the control room's retry
    with pytest.raises(ParamValidationError, match="retry_records"):
        dag.params["retry_records"] = [{"entity": "customer"}]


def test_standardbooks_envoice_dags_schedule_and_params(airflow_db):
    from datetime import timedelta

    from airflow.sdk.exceptions import ParamValidationError

    from tests.flows.dagrun import load_dag

    master = load_dag("standardbooks_envoice_master_data")
    assert master.timetable.delta == timedelta(minutes=20)  # the vendor asks for at least 20 minutes
    assert set(master.params.keys()) == {"mode", "dry_run", "retry_records"}
    assert master.params["mode"] == "changed"
    with pytest.raises(ParamValidationError, match="mode"):
        master.params["mode"] = "everything"
    documents = load_dag("envoice_standardbooks_purchase_documents")
    assert set(documents.params.keys()) == {"dry_run", "document_numbers", "resend"}
    assert {t.pool for t in documents.tasks if t.task_id == "transfer_documents"} == {"standard_books_default"}


@pytest.mark.parametrize("dag_id", ["severa_netvisor_sales_invoices", "severa_netvisor_hours",
                                    "severa_netvisor_travel_invoices", "netvisor_severa_purchase_invoices"])
def test_severa_netvisor_document_dags_schedule_params_approval_and_pool(airflow_db, dag_id):
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.sdk.exceptions import ParamValidationError

    from tests.flows.dagrun import load_dag

    dag = load_dag(dag_id)
    assert dag.schedule == "@hourly"
    assert set(dag.params.keys()) == {"dry_run", "document_numbers", "date_from", "date_to", "resend"}
    tasks = {t.task_id: t for t in dag.tasks}
    assert tasks["transfer_documents"].pool == tasks["preview_documents"].pool == "netvisor_default"
    assert isinstance(tasks["approve"], ApprovalOperator)
    assert tasks["approve"].downstream_task_ids == {"transfer_documents"}
    assert all(t.retries >= 1 and t.retry_exponential_backoff for t in dag.tasks)
    dag.params.validate()
    with pytest.raises(ParamValidationError, match="date_from"):
        dag.params["date_from"] = "2.3.2026"


FORM_DAGS = ["severa_netvisor_registers", "severa_netvisor_sales_invoices", "severa_netvisor_hours",
             "severa_netvisor_travel_invoices", "netvisor_severa_purchase_invoices", "standardbooks_envoice_master_data",
             "envoice_standardbooks_purchase_documents", "horizon_ad_accounts", "eshop_erp_orders", "eshop_erp_payments",
             "erp_eshop_catalog", "horizon_payroll_payments", "horizon_severa_absences",
             "saldeo_accounting_export", "accounting_saldeo_registers", "eservice_payments_horizon",
             "horizon_weighing"]  # the payroll time import: its own tests (a review step)


@pytest.mark.parametrize("dag_id", FORM_DAGS)
def test_trigger_form_needs_nothing_filled_in(airflow_db, dag_id):
    """Every Param may stay empty (the form sends null for an empty field), so the form submits untouched
    and with only dry_run on; dates are typed as dates, modes as choices, lists as lists."""
    from tests.flows.dagrun import load_dag

    dag = load_dag(dag_id)
    assert "(R-" not in dag.doc_md, "DAG docs speak the user's words, not requirement codes"
    assert dag.params["dry_run"] is False
    for name in dag.params:
        schema = dag.params.get_param(name).schema
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        assert "null" in kinds or kinds == ["boolean"] or "enum" in schema, f"{name} would be required"
        if name.startswith("date_"):
            assert schema["format"] == "date"
        if "null" in kinds:
            dag.params[name] = None
    dag.params.validate()
    dag.params["dry_run"] = True
    dag.params.validate()
