"""Two companies on one installation: a companies file naming two companies against two separate simulator
sets. Every flow has a DAG per company; a register flow and a document flow run for both, each target holds
only its own company's records, and one company's failing run leaves the other's alone."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from erpbridge.catalog import FLOWS
from include.simulators.client import free_port
from include.simulators.envoice import DEMO_SEED as ENVOICE_DEMO
from include.simulators.standard_books import DEMO_SEED as SB_DEMO
from tests.flows.dagrun import load_dag, run_dag, task_states
from tests.flows.test_severa_netvisor_registers import GOOD_CUSTOMERS
from tests.flows.test_standardbooks_envoice import doc, incoming
from tests.flows.two_companies import COMPANIES, companies_file, connect_all, second_simulators  # noqa: F401

REGISTERS, DOCUMENTS = "severa_netvisor_registers", "envoice_standardbooks_purchase_documents"


@pytest.fixture
def companies(airflow_db, ledger, simulators, second_simulators, companies_file, monkeypatch):
    """north on the session's simulators, south on the second set."""
    sims = connect_all(simulators, second_simulators, monkeypatch)
    for company in COMPANIES:
        sims[company]["standard_books"].seed(**SB_DEMO)
    return ledger, sims


def test_every_flow_has_a_dag_per_company_with_its_own_pools_and_tags(companies, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from tests.flows.dagrun import DAGS

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert set(bag.dags) == {f"{flow}__{company}" for flow in FLOWS for company in COMPANIES}
    for company in COMPANIES:
        registers = bag.dags[f"{REGISTERS}__{company}"]
        assert f"company:{company}" in registers.tags
        assert {t.pool for t in registers.tasks if t.task_id.startswith("sync_")} == {f"netvisor__{company}"}
        documents = bag.dags[f"{DOCUMENTS}__{company}"]
        assert {t.pool for t in documents.tasks if t.task_id == "transfer_documents"} == {
            f"standard_books__{company}"}
        scope = documents.get_task("transfer_documents").op_kwargs["scope"]
        assert scope["connections"] == {"standard_books": f"standard_books_{company}", "envoice": f"envoice_{company}"}
        assert scope["settings_variable"] == f"erpbridge_standardbooks_envoice_{company}"


def test_a_task_process_builds_only_the_dag_it_runs(companies_file, monkeypatch):
    """Airflow parses the DAG file again in each task's process, naming the DAG in the parsing context."""
    from tests.flows.dagrun import DAGS

    spec = importlib.util.spec_from_file_location("dagfile_companies", DAGS / f"{REGISTERS}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert [d.dag_id for d in module.severa_netvisor_registers.for_every_company()] == [
        f"{REGISTERS}__north", f"{REGISTERS}__south"]
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", f"{REGISTERS}__south")
    assert [d.dag_id for d in module.severa_netvisor_registers.for_every_company()] == [f"{REGISTERS}__south"]


def test_each_company_runs_on_its_own_systems_and_a_failing_one_leaves_the_other(companies, monkeypatch):
    ledger, sims = companies
    north, south = sims["north"], sims["south"]
    north["severa"].seed(customers=GOOD_CUSTOMERS[:2])
    south["severa"].seed(customers=GOOD_CUSTOMERS[2:])
    north["envoice"].seed(**ENVOICE_DEMO)
    south["envoice"].seed(documents=[doc(5001, "SOUTH-1")])

    for company in COMPANIES:
        for flow in (REGISTERS, DOCUMENTS):
            run = run_dag(f"{flow}__{company}")
            assert run.state == "success", (company, flow, task_states(run))

    assert sorted(c["code"] for c in north["netvisor"].state()["customers"]) == ["1001", "1002"]
    assert sorted(c["code"] for c in south["netvisor"].state()["customers"]) == ["1003"]
    assert sorted(incoming(north["standard_books"].state())) == ["ER-2024-117", "R-5531", "SÕJ-0042"]
    assert sorted(incoming(south["standard_books"].state())) == ["SOUTH-1"]
    runs = dict(ledger.execute("SELECT DISTINCT dag_id, flow FROM transfer_log").fetchall())
    assert runs == {f"{flow}__{company}": flow for flow in (REGISTERS, DOCUMENTS) for company in COMPANIES}

    # south's Netvisor goes away: south's run fails, north's next run still moves north's new customer
    conn = json.loads(os.environ["AIRFLOW_CONN_NETVISOR_SOUTH"])
    monkeypatch.setenv("AIRFLOW_CONN_NETVISOR_SOUTH", json.dumps({**conn, "host": f"http://127.0.0.1:{free_port()}"}))
    north["severa"].seed(customers=[{"number": 1004, "name": "Only North Oy"}])
    south["severa"].seed(customers=[{"number": 1005, "name": "Only South Ab"}])
    assert run_dag(f"{REGISTERS}__south").state == "failed"
    assert run_dag(f"{REGISTERS}__north").state == "success"
    assert sorted(c["code"] for c in north["netvisor"].state()["customers"]) == ["1001", "1002", "1004"]
    assert sorted(c["code"] for c in south["netvisor"].state()["customers"]) == ["1003"]


def test_without_a_companies_file_the_dags_are_todays(airflow_db, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from tests.flows.dagrun import DAGS

    monkeypatch.delenv("ERPBRIDGE_COMPANIES_FILE", raising=False)
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {} and set(bag.dags) == set(FLOWS)  # one DAG per flow, named as before
    dag = load_dag(REGISTERS)
    assert dag.dag_id == REGISTERS
    assert {t.pool for t in dag.tasks if t.task_id.startswith("sync_")} == {"netvisor_default"}
    assert dag.get_task("sync_customers").op_kwargs["scope"] == {
        "flow": REGISTERS, "company": "default", "connections": {"severa": "severa_default",
                                                                 "netvisor": "netvisor_default"},
        "settings_variable": "erpbridge_severa_netvisor"}
