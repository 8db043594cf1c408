"""R-A.9 end to end: dag.test() of netvisor_severa_purchase_invoices against the Netvisor and Severa
simulators over HTTP, real PostgreSQL ledger."""

from __future__ import annotations

import copy
import json

import pytest

from include.simulators.severa import DEMO_SEED as SEVERA_DEMO
from tests.conftest import unthrottled
from tests.contract.severa_openapi import scope_connection
from tests.flows.dagrun import run_dag, task_states
from tests.flows.hitl import run_dag_answering

DAG = "netvisor_severa_purchase_invoices"
RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


def line(project: str | None, quantity, price, description: str, product: str = "") -> dict:
    dims = [{"name": "Projekti", "item": project}] if project else []
    return {"quantity": quantity, "unit_price": price, "description": description, "product_code": product,
            "dimensions": dims}


PURCHASES = [
    {"number": "P-1", "date": "2026-03-03", "vendor": "Hotelli Oy", "lines": [
        line("2001 ERP rollout", "2", "89.90", "Hotel night", product="LIC-Y"),
        line("2001 ERP rollout", "1", "0.10", "Rounding check")]},
    {"number": "P-2", "date": "2026-03-04", "vendor": "Closed Oy", "lines": [line("2002 Support", "1", "10", "x")]},
    {"number": "P-3", "date": "2026-03-04", "vendor": "Nowhere Oy", "lines": [line("2099 Gone", "1", "10", "x")]},
    {"number": "P-4", "date": "2026-03-05", "vendor": "Open Oy", "status": "open",
     "lines": [line("2001 ERP rollout", "1", "10", "x")]},
]


@pytest.fixture
def flow(airflow_db, ledger, severa, netvisor, monkeypatch):
    unthrottled(severa, monkeypatch)
    scope_connection(monkeypatch, DAG)
    severa.seed(**copy.deepcopy(SEVERA_DEMO))
    netvisor.seed(purchase_invoices=copy.deepcopy(PURCHASES))
    return ledger, severa, netvisor


def costs(severa) -> list[tuple]:
    return sorted((f["project"]["name"], f["quantity"], f["unitCost"]["amount"], (f.get("product") or {}).get("name"),
                   (f.get("unitPrice") or {}).get("amount"), f["description"]) for f in severa.state()["projectfees"])


def test_approved_purchase_invoices_become_costs_on_open_projects_once(flow):
    ledger, severa, netvisor = flow
    run = run_dag(DAG, RANGE)
    assert run.state == "success", task_states(run)
    key = netvisor.state()["purchase_invoices"][0]["key"]
    assert costs(severa) == [
        ("ERP rollout", 1.0, 0.1, None, None, f"Hotelli Oy P-1: Rounding check [netvisor-purchase-invoice-{key}-2]"),
        ("ERP rollout", 2.0, 89.9, "Annual licence", 1200.0,
         f"Hotelli Oy P-1: Hotel night [netvisor-purchase-invoice-{key}-1]")]
    reasons = dict(ledger.execute("SELECT source_key, reason FROM quarantine WHERE flow = %s", (DAG,)).fetchall())
    assert reasons == {
        "P-2": "purchase invoice P-2 (Closed Oy) line 1: project 2002 is closed in Severa; costs go only to open "
               "projects",
        "P-3": "purchase invoice P-3 (Nowhere Oy) line 1: project 2099 is unknown in Severa"}

    since = severa.last_seq()
    assert run_dag(DAG, RANGE).state == "success"
    assert severa.writes(since) == []
    assert run_dag(DAG, {**RANGE, "resend": "P-1"}).state == "success"
    assert severa.writes(since) == [] and len(costs(severa)) == 2  # found by reference, not added twice


def test_per_invoice_costs_and_dry_run(flow, monkeypatch):
    ledger, severa, netvisor = flow
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", json.dumps({"purchase_invoices": {"per_line": False}}))
    assert run_dag(DAG, {**RANGE, "dry_run": True}).state == "success"
    assert severa.writes() == [] and netvisor.writes() == []
    assert ledger.execute("SELECT count(*) FROM transfer_log").fetchone()[0] == 0
    assert run_dag(DAG, {**RANGE, "document_numbers": ["P-1"]}).state == "success"
    key = netvisor.state()["purchase_invoices"][0]["key"]
    assert costs(severa) == [("ERP rollout", 1.0, 179.9, None, None,
                              f"Hotelli Oy P-1 [netvisor-purchase-invoice-{key}-all]")]


@pytest.mark.parametrize("choice", ["Approve", "Reject"])
def test_approval_shows_the_batch_and_blocks_the_costs_until_approved(flow, monkeypatch, choice):
    ledger, severa, netvisor = flow
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", json.dumps({"purchase_invoices": {"require_approval": True}}))

    def answer(asked):
        assert severa.writes() == []  # nothing moved while waiting
        return [choice], {}

    run, asked = run_dag_answering(DAG, answer, RANGE)
    assert run.state == "success", task_states(run)
    assert len(asked) == 1
    body = asked[0]["body"]
    assert "purchase invoice P-1: 2 project cost(s), total 179.90" in body
    assert "P-3: REJECTED - purchase invoice P-3 (Nowhere Oy) line 1: project 2099 is unknown in Severa" in body
    if choice == "Approve":
        assert len(costs(severa)) == 2
    else:
        assert task_states(run)["transfer_documents"] == "skipped"
        assert severa.writes() == [] and costs(severa) == []


def test_three_lines_on_two_projects_become_three_costs_on_the_right_projects(airflow_db, ledger, severa, netvisor,
                                                                             monkeypatch):
    unthrottled(severa, monkeypatch)
    seed = copy.deepcopy(SEVERA_DEMO)
    seed["projects"].append({"guid": "e1000000-0000-4000-8000-000000000003", "number": 2003, "name": "Intranet",
                             "customer": {"guid": "c1000000-0000-4000-8000-000000000001"}})
    severa.seed(**seed)
    [key] = netvisor.seed(purchase_invoices=[{"number": "P-9", "date": "2026-03-06", "vendor": "Vendor Oy", "lines": [
        line("2001 ERP rollout", "2", "10", "A"), line("2003 Intranet", "1", "20", "B"),
        line("2001 ERP rollout", "3", "5", "C")]}])["purchase_invoices"]

    assert run_dag(DAG, RANGE).state == "success"

    assert costs(severa) == [
        ("ERP rollout", 2.0, 10.0, None, None, f"Vendor Oy P-9: A [netvisor-purchase-invoice-{key}-1]"),
        ("ERP rollout", 3.0, 5.0, None, None, f"Vendor Oy P-9: C [netvisor-purchase-invoice-{key}-3]"),
        ("Intranet", 1.0, 20.0, None, None, f"Vendor Oy P-9: B [netvisor-purchase-invoice-{key}-2]")]
