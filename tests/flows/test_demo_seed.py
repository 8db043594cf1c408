"""The demo's data has documents to move: the simulators' demo seeds (Severa's DEMO_SEED + DEMO_DOCUMENTS,
Netvisor's DEMO_SEED) carried through the four Severa <-> Netvisor document DAGs with their default
parameters and settings, as `make demo` runs them."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from include.simulators import netvisor as netvisor_sim
from include.simulators import severa as severa_sim
from tests.conftest import unthrottled
from tests.flows.dagrun import run_dag, task_states

DOCUMENTS = severa_sim.DEMO_DOCUMENTS
WORKED = sorted({h["eventDate"] for h in DOCUMENTS["workhours"]})
VACATION = [DOCUMENTS["activities"][0]["startDateTime"][:10], DOCUMENTS["activities"][0]["endDateTime"][:10]]


@pytest.fixture
def demo(airflow_db, ledger, severa, netvisor, monkeypatch):
    unthrottled(severa, monkeypatch)
    monkeypatch.delenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", raising=False)  # the demo sets no Variable
    for seed in (severa_sim.DEMO_SEED, DOCUMENTS):
        severa.seed(**copy.deepcopy(seed))
    netvisor.seed(**copy.deepcopy(netvisor_sim.DEMO_SEED))
    return ledger, severa, netvisor


def moved(ledger, dag_id: str) -> int:
    return ledger.execute("SELECT count(*) FROM transfer_log WHERE flow = %s AND action = 'created'",
                          (dag_id,)).fetchone()[0]


def succeeds(dag_id: str) -> None:
    run = run_dag(dag_id)
    assert run.state == "success", task_states(run)


def test_the_demo_seeds_give_every_document_flow_something_to_move(demo):
    ledger, severa, netvisor = demo

    succeeds("severa_netvisor_sales_invoices")
    assert sorted(i["number"] for i in netvisor.state()["sales_invoices"]) == ["10001", "10002", "10003"]
    assert {i["status"]["name"] for i in severa.state()["invoices"]} == {"Invoice sent to Netvisor"}

    succeeds("severa_netvisor_travel_invoices")
    assert sorted((t["header"], len(t["lines"])) for t in netvisor.state()["trip_expenses"]) == [
        ("Severa travel invoice 1001", 2), ("Severa travel invoice 1002", 1)]

    succeeds("severa_netvisor_hours")
    held = {(w["employee"], w["date"], w["record_type"]) for w in netvisor.state()["workdays"]}
    assert held == {(person, day, "1") for person in ("101", "102") for day in WORKED} | {("101", WORKED[-1], "2")}
    refused = dict(ledger.execute("SELECT source_key, reason FROM quarantine").fetchall())
    assert set(refused) == {f"102 {day}" for day in VACATION}  # its type waits for hours.absence_record_types
    assert "absence type 'Vacation' (code VAC) has no Netvisor record type" in refused[f"102 {VACATION[0]}"]

    succeeds("netvisor_severa_purchase_invoices")
    costs = [f["description"] for f in severa.state()["projectfees"] if "description" in f]  # not the billed fees
    assert sorted(cost.split(" [")[0] for cost in costs) == [
        "Hotelli Helsinki Oy PI-501: Hotel nights, go-live", "Ohjelmistotalo Oy PI-502: Licence for re-billing",
        "Ohjelmistotalo Oy PI-502: Subcontracted hours"]

    assert {dag: moved(ledger, dag) for dag in ("severa_netvisor_sales_invoices", "severa_netvisor_travel_invoices",
                                                "severa_netvisor_hours", "netvisor_severa_purchase_invoices")} == {
        "severa_netvisor_sales_invoices": 3, "severa_netvisor_travel_invoices": 2, "severa_netvisor_hours": 6,
        "netvisor_severa_purchase_invoices": 2}


def test_the_demo_vacation_moves_once_its_type_is_mapped(demo, monkeypatch):
    ledger, severa, netvisor = demo
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", json.dumps({"hours": {"absence_record_types":
                                                                                       {"VAC": "20"}}}))
    succeeds("severa_netvisor_hours")
    vacation = {(w["date"], w["record_type"], w["hours"][0]["hours"]) for w in netvisor.state()["workdays"]
                if w["employee"] == "102" and w["date"] in VACATION}
    assert vacation == {(day, "20", "7.5") for day in VACATION}
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_the_demo_seeds_give_the_weighing_round_trip_its_orders_and_labels(airflow_db, ledger, horizon, weighing,
                                                                             monkeypatch):
    from include.simulators import horizon as horizon_sim
    from include.simulators import weighing as weighing_sim

    monkeypatch.delenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_WEIGHING", raising=False)  # the demo sets no Variable
    horizon.seed(**copy.deepcopy(horizon_sim.DEMO_SEED))
    weighing.seed(**copy.deepcopy(weighing_sim.DEMO_SEED))

    succeeds("horizon_weighing")  # every line within the default tolerance: no question for a person
    assert sorted(o["order_no"] for o in weighing.state()["orders"]) == ["SO-1001", "SO-1002"]
    orders = {str(o["pk"]): o["OrderNo"] for o in horizon.state()["sales_orders"]}
    made = {orders[str(n["Order"])]: [(line["GTIN"], Decimal(line["Quantity"]), Decimal(line["Amount"]))
                                      for line in n["Lines"]] for n in horizon.state()["delivery_notes"]}
    assert made == {"SO-1001": [("04750001000016", Decimal("19.980"), Decimal("178.82")),  # 19.98 kg x 8.95
                                ("04750001000023", Decimal("5.120"), Decimal("63.49"))],  # 5.12 kg x 12.40
                    "SO-1002": [("04750001000023", Decimal("9.970"), Decimal("123.63"))]}
