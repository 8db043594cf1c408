"""R-A.7 end to end: dag.test() of severa_netvisor_travel_invoices against the Severa and Netvisor
simulators over HTTP, real PostgreSQL ledger."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from include.simulators.severa import DEMO_SEED as SEVERA_DEMO
from include.simulators.severa import minimal_pdf
from tests.conftest import unthrottled
from tests.flows.dagrun import run_dag, task_states
from tests.flows.hitl import run_dag_answering

DAG = "severa_netvisor_travel_invoices"
STATUSES = {name: f"t1000000-0000-4000-8000-00000000000{n}" for n, name in
            enumerate(["Draft", "Approved", "Rejected", "Transferred to Netvisor"], 1)}
USERS = {"101": "u3000000-0000-4000-8000-000000000001", "0105": "u3000000-0000-4000-8000-000000000002"}
HELSINKI = {"guid": "b1000000-0000-4000-8000-000000000001"}
PROJECT = {"guid": "e1000000-0000-4000-8000-000000000001"}


def travel(n: int, number: str | None, status: str = "Approved", user: str = "101", expenses=()) -> tuple:
    guid = f"r1000000-0000-4000-8000-{n:012d}"
    record = {"guid": guid, "number": number, "user": {"guid": USERS[user]}, "date": "2026-03-05",
              "travelReimbursementStatus": {"guid": STATUSES[status]}}
    return record, [{**e, "travelReimbursement": {"guid": guid}} for e in expenses]


def expense(code: str, quantity, unit, reimbursable: bool = True, **extra) -> dict:
    return {"expenseType": {"code": code, "name": f"type {code}"}, "quantity": quantity, "unitPrice": unit,
            "amount": round(quantity * unit, 2), "isReimbursable": reimbursable, "eventDate": "2026-03-04"} | extra


TRAVELS = [
    travel(1, "T-1", expenses=[expense("1502", 1, 58.0, description="Per diem Sweden"),
                               expense("1502", 1, 58.0, description="Per diem Norway"),
                               expense("1300", 120, 0.59, project=PROJECT, description="Mileage"),
                               expense("1999", 1, 30.0, reimbursable=False)]),
    travel(2, "T-2", expenses=[expense("1999", 1, 30.0, reimbursable=False)]),
    travel(3, "T-3", user="0105", expenses=[expense("1300", 10, 0.59)]),
    travel(4, "T-4", status="Draft", expenses=[expense("1300", 10, 0.59)]),
    travel(5, None, expenses=[expense("1300", 10, 0.59)]),
    travel(6, "T-6", expenses=[expense("9999", 1, 10.0)]),
]


@pytest.fixture
def flow(airflow_db, ledger, severa, netvisor, monkeypatch):
    unthrottled(severa, monkeypatch)
    seed = copy.deepcopy(SEVERA_DEMO)
    seed["users"] = [{"guid": guid, "firstName": "Person", "lastName": code, "code": code, "businessUnit": HELSINKI}
                     for code, guid in USERS.items()]
    seed["travelreimbursementstatuses"] = [{"guid": guid, "name": name} for name, guid in STATUSES.items()]
    seed["travelreimbursements"] = [t for t, _ in TRAVELS]
    seed["projecttravelexpenses"] = [e for _, lines in TRAVELS for e in lines]
    severa.seed(**seed)
    netvisor.seed(employees=[{"number": "101", "name": "Person 101"}], wage_types=["1502", "1300"])
    return ledger, severa, netvisor


def statuses(severa) -> dict:
    return {t["number"]: t["travelReimbursementStatus"]["name"] for t in severa.state()["travelreimbursements"]}


def test_travel_invoices_become_netvisor_travel_expenses_with_lines_dimensions_and_pdf(flow):
    ledger, severa, netvisor = flow
    run = run_dag(DAG)
    assert run.state == "success", task_states(run)
    held = {t["header"]: t for t in netvisor.state()["trip_expenses"]}
    assert sorted(held) == ["Severa travel invoice T-1"]
    t1 = held["Severa travel invoice T-1"]
    assert t1["description"] == "severa-travel-r1000000-0000-4000-8000-000000000001"
    assert sorted((line["employee"], line["ratio"], line["amount"], line["unit_price"], line["description"],
                   line["begin"], line["end"], line["dimensions"]) for line in t1["lines"]) == [
        ("101", "1300", "120", "0.59", "Mileage", "2026-03-04", "2026-03-04",
         [{"name": "Liiketoimintayksikkö", "item": "Helsinki"}, {"name": "Projekti", "item": "2001 ERP rollout"}]),
        ("101", "1502", "1", "58.0", "Per diem Norway", "2026-03-04", "2026-03-04",
         [{"name": "Liiketoimintayksikkö", "item": "Helsinki"}]),
        ("101", "1502", "1", "58.0", "Per diem Sweden", "2026-03-04", "2026-03-04",
         [{"name": "Liiketoimintayksikkö", "item": "Helsinki"}])]
    assert [a["sha256"] for line in t1["lines"] for a in line["attachments"]] == [
        hashlib.sha256(minimal_pdf("Travel invoice T-1")).hexdigest()]
    assert statuses(severa) == {"T-1": "Transferred to Netvisor", "T-2": "Approved", "T-3": "Approved",
                                "T-4": "Draft", None: "Approved", "T-6": "Approved"}
    reasons = dict(ledger.execute("SELECT source_key, reason FROM quarantine WHERE flow = %s", (DAG,)).fetchall())
    assert set(reasons) == {"T-3", "T-6"}
    assert "employee code 0105 starts with 0" in reasons["T-3"]
    assert reasons["T-6"] == "INVALID_DATA :: Data form incorrect:. Ratio not found with name: 9999"
    skipped = ledger.execute("SELECT source_key, error_text FROM transfer_log WHERE action = 'skipped'").fetchall()
    assert skipped == [("T-2", "travel invoice T-2 has only non-reimbursable costs; nothing to reimburse in Netvisor")]

    since, severa_since = netvisor.last_seq(), severa.last_seq()
    assert run_dag(DAG).state == "success"
    assert severa.writes(severa_since) == [] and [w["path"] for w in netvisor.writes(since)] == ["/tripexpense.nv"]
    assert len(netvisor.state()["trip_expenses"]) == 1  # only T-6 was tried again (and refused again)

    since = netvisor.last_seq()
    assert run_dag(DAG, {"resend": "T-1"}).state == "success"
    [resent] = netvisor.writes(since)  # Netvisor knows the post by its TransactionId: adopted, not stored again
    assert resent["path"] == "/tripexpense.nv" and len(netvisor.state()["trip_expenses"]) == 1


def test_dry_run_reads_only(flow):
    ledger, severa, netvisor = flow
    run = run_dag(DAG, {"dry_run": True})
    assert run.state == "success", task_states(run)
    assert netvisor.requests() == [] and severa.writes() == []
    assert ledger.execute("SELECT count(*) FROM transfer_log").fetchone()[0] == 0


def test_a_crash_after_netvisor_accepted_a_travel_expense_is_resolved_by_its_transaction_id(flow):
    from erpbridge.errors import ExternalSystemError
    from erpbridge.ledger.store import Ledger
    from erpbridge.settings import SeveraNetvisorSettings
    from erpbridge.sync.severa_netvisor_documents import transfer_in_batches, travel_flow

    ledger, severa, netvisor = flow
    store = Ledger.connect(DAG)
    store.migrate()
    crashing = travel_flow(SeveraNetvisorSettings(), numbers=["T-1"])
    real_post = crashing.target.post

    def post_then_crash(payload):
        real_post(payload)
        raise ExternalSystemError("Netvisor", "connection lost after the request was sent")

    crashing.target.post = post_then_crash
    with pytest.raises(ExternalSystemError):
        transfer_in_batches(crashing, store, batch_size=30)
    store.close()
    assert statuses(severa)["T-1"] == "Approved"
    assert run_dag(DAG, {"document_numbers": ["T-1"]}).state == "success"
    assert [t["header"] for t in netvisor.state()["trip_expenses"]] == ["Severa travel invoice T-1"]  # exactly one
    assert statuses(severa)["T-1"] == "Transferred to Netvisor"


@pytest.mark.parametrize("choice", ["Approve", "Reject"])
def test_approval_shows_the_batch_and_blocks_the_transfer_until_approved(flow, monkeypatch, choice):
    ledger, severa, netvisor = flow
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", json.dumps({"travel_invoices": {"require_approval": True}}))

    def answer(asked):
        assert netvisor.writes() == [] and severa.writes() == []  # nothing moved while waiting
        return [choice], {}

    run, asked = run_dag_answering(DAG, answer)
    assert run.state == "success", task_states(run)
    assert len(asked) == 1
    body = asked[0]["body"]
    assert "travel invoice T-1 of employee 101: 3 lines, total 186.80" in body
    assert "T-3: REJECTED - " in body and "starts with 0" in body  # what will be refused is shown too
    if choice == "Approve":
        assert [t["header"] for t in netvisor.state()["trip_expenses"]] == ["Severa travel invoice T-1"]
        assert statuses(severa)["T-1"] == "Transferred to Netvisor"
    else:
        assert task_states(run)["transfer_documents"] == "skipped"
        assert netvisor.writes() == [] and statuses(severa)["T-1"] == "Approved"
