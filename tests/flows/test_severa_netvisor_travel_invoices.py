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
from tests.contract.severa_openapi import scope_connection
from tests.flows.dagrun import run_dag, task_states
from tests.flows.hitl import run_dag_answering

DAG = "severa_netvisor_travel_invoices"
STATUSES = {name: f"a2100000-0000-4000-8000-00000000000{n}" for n, name in
            enumerate(["Draft", "Approved", "Rejected", "Transferred to Netvisor"], 1)}
USERS = {"101": "a3100000-0000-4000-8000-000000000001", "0105": "a3100000-0000-4000-8000-000000000002",
         "102": "a3100000-0000-4000-8000-000000000003"}
HELSINKI = {"guid": "b1000000-0000-4000-8000-000000000001"}
PROJECT = {"guid": "e1000000-0000-4000-8000-000000000001"}
EXPENSE_TYPES = {code: f"a8100000-0000-4000-8000-00000000{code}" for code in ("1300", "1502", "1999", "9999")}


def travel(n: int, number: int | None, status: str = "Approved", user: str = "101", expenses=()) -> tuple:
    guid = f"a7100000-0000-4000-8000-{n:012d}"
    record = {"guid": guid, "number": number, "user": {"guid": USERS[user]}, "date": "2026-03-05T00:00:00",
              "travelReimbursementStatus": {"guid": STATUSES[status]}}
    return record, [{**e, "travelReimbursement": {"guid": guid}, "user": {"guid": USERS[user]}} for e in expenses]


def expense(code: str, quantity, unit, reimbursed: bool = True, **extra) -> dict:
    return {"travelExpense": {"guid": EXPENSE_TYPES[code]}, "quantity": quantity,
            "unitCost": {"amount": unit, "currencyCode": "EUR"}, "travelReimbursementRequired": reimbursed,
            "eventDate": "2026-03-04"} | extra


TRAVELS = [
    travel(1, 1, expenses=[expense("1502", 1, 58.0, description="Per diem Sweden"),
                           expense("1502", 1, 58.0, description="Per diem Norway"),
                           expense("1300", 120, 0.59, project=PROJECT, description="Mileage"),
                           expense("1999", 1, 30.0, reimbursed=False)]),
    travel(2, 2, expenses=[expense("1999", 1, 30.0, reimbursed=False)]),
    travel(3, 3, user="0105", expenses=[expense("1300", 10, 0.59)]),
    travel(4, 4, status="Draft", expenses=[expense("1300", 10, 0.59)]),
    travel(5, None, expenses=[expense("1300", 10, 0.59)]),
    travel(6, 6, expenses=[expense("9999", 1, 10.0)]),
]


def severa_seed(travels) -> dict:
    seed = copy.deepcopy(SEVERA_DEMO)
    seed["users"] = [{"guid": guid, "firstName": "Person", "lastName": code, "code": code, "businessUnit": HELSINKI}
                     for code, guid in USERS.items()]
    seed["travelreimbursementstatuses"] = [{"guid": guid, "name": name} for name, guid in STATUSES.items()]
    seed["travelexpensetypes"] = [{"guid": guid, "name": f"type {code}", "code": code}
                                  for code, guid in EXPENSE_TYPES.items()]
    seed["travelreimbursements"] = [t for t, _ in travels]
    seed["projecttravelexpenses"] = [e for _, lines in travels for e in lines]
    return seed


@pytest.fixture
def flow(airflow_db, ledger, severa, netvisor, monkeypatch):
    unthrottled(severa, monkeypatch)
    scope_connection(monkeypatch, DAG)
    severa.seed(**severa_seed(TRAVELS))
    netvisor.seed(employees=[{"number": "101", "name": "Person 101"}], wage_types=["1502", "1300"])
    return ledger, severa, netvisor


def statuses(severa) -> dict:
    return {t.get("number"): t["travelReimbursementStatus"]["name"] for t in severa.state()["travelreimbursements"]}


def test_travel_invoices_become_netvisor_travel_expenses_with_lines_dimensions_and_pdf(flow):
    ledger, severa, netvisor = flow
    run = run_dag(DAG)
    assert run.state == "success", task_states(run)
    held = {t["header"]: t for t in netvisor.state()["trip_expenses"]}
    assert sorted(held) == ["Severa travel invoice 1"]
    t1 = held["Severa travel invoice 1"]
    assert t1["description"] == "severa-travel-a7100000-0000-4000-8000-000000000001"
    assert sorted((line["employee"], line["ratio"], line["amount"], line["unit_price"], line["description"],
                   line["begin"], line["end"], line["dimensions"]) for line in t1["lines"]) == [
        ("101", "1300", "120", "0.59", "Mileage", "2026-03-04", "2026-03-04",
         [{"name": "Liiketoimintayksikkö", "item": "Helsinki"}, {"name": "Projekti", "item": "2001 ERP rollout"}]),
        ("101", "1502", "1", "58.0", "Per diem Norway", "2026-03-04", "2026-03-04",
         [{"name": "Liiketoimintayksikkö", "item": "Helsinki"}]),
        ("101", "1502", "1", "58.0", "Per diem Sweden", "2026-03-04", "2026-03-04",
         [{"name": "Liiketoimintayksikkö", "item": "Helsinki"}])]
    assert [a["sha256"] for line in t1["lines"] for a in line["attachments"]] == [
        hashlib.sha256(minimal_pdf("Travel invoice 1")).hexdigest()]
    assert statuses(severa) == {1: "Transferred to Netvisor", 2: "Approved", 3: "Approved",
                                4: "Draft", None: "Approved", 6: "Approved"}
    reasons = dict(ledger.execute("SELECT source_key, reason FROM quarantine WHERE flow = %s", (DAG,)).fetchall())
    assert set(reasons) == {"3", "6"}
    assert "employee code 0105 starts with 0" in reasons["3"]
    assert reasons["6"] == "INVALID_DATA :: Data form incorrect:. Ratio not found with name: 9999"
    skipped = ledger.execute("SELECT source_key, error_text FROM transfer_log WHERE action = 'skipped'").fetchall()
    assert skipped == [("2", "travel reimbursement 2 has no line to reimburse (none of its 1 lines is "
                             "travelReimbursementRequired); nothing to reimburse in Netvisor")]

    since, severa_since = netvisor.last_seq(), severa.last_seq()
    assert run_dag(DAG).state == "success"
    assert severa.writes(severa_since) == [] and [w["path"] for w in netvisor.writes(since)] == ["/tripexpense.nv"]
    assert len(netvisor.state()["trip_expenses"]) == 1  # only T-6 was tried again (and refused again)

    since = netvisor.last_seq()
    assert run_dag(DAG, {"resend": "1"}).state == "success"
    [resent] = netvisor.writes(since)  # Netvisor knows the post by its TransactionId: adopted, not stored again
    assert resent["path"] == "/tripexpense.nv" and len(netvisor.state()["trip_expenses"]) == 1


def test_dry_run_reads_only(flow):
    ledger, severa, netvisor = flow
    run = run_dag(DAG, {"dry_run": True})
    assert run.state == "success", task_states(run)
    assert netvisor.requests() == [] and severa.writes() == []
    assert ledger.execute("SELECT count(*) FROM transfer_log").fetchone()[0] == 0


def cut_off_after(step: str, system: str, error: type[Exception]) -> None:
    """Travel invoice 1 transferred the way the DAG's task does it, its connection lost right after ``step``
    (``target.post`` or ``source.mark_transferred``) reached ``system``: the run ends with ``error``."""
    from erpbridge.engine.batches import transfer_in_batches
    from erpbridge.errors import ExternalSystemError
    from erpbridge.flows.severa_netvisor.documents import travel_flow
    from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings
    from erpbridge.hooks.netvisor import NetvisorHook
    from erpbridge.hooks.severa import SeveraHook
    from erpbridge.ledger.store import Ledger

    store = Ledger.connect(DAG)
    store.migrate()
    flow = travel_flow(SeveraNetvisorSettings(), SeveraHook("severa_default"), NetvisorHook("netvisor_default"),
                       numbers=["1"])
    part, name = step.split(".")
    real = getattr(getattr(flow, part), name)

    def then_cut_off(*args):
        real(*args)
        raise ExternalSystemError(system, "connection lost after the request was sent")

    setattr(getattr(flow, part), name, then_cut_off)
    try:
        with pytest.raises(error):
            transfer_in_batches(flow, store, batch_size=30)
    finally:
        store.close()


def test_a_crash_after_netvisor_accepted_a_travel_expense_is_resolved_by_its_transaction_id(flow):
    from erpbridge.errors import ExternalSystemError

    ledger, severa, netvisor = flow
    cut_off_after("target.post", "Netvisor", ExternalSystemError)
    assert statuses(severa)[1] == "Approved"
    assert run_dag(DAG, {"document_numbers": ["1"]}).state == "success"
    assert [t["header"] for t in netvisor.state()["trip_expenses"]] == ["Severa travel invoice 1"]  # exactly one
    assert statuses(severa)[1] == "Transferred to Netvisor"


def test_a_transfer_cut_off_after_its_severa_status_was_written_is_finished_by_a_run_with_nothing_ready(flow):
    """The status write-back landed, the ledger's 'done' did not (a kill in between): Severa no longer offers the
    trip, and the next run still finishes it from the ledger, without a second Netvisor travel expense."""
    from erpbridge.errors import IncompleteTransfer

    ledger, severa, netvisor = flow
    cut_off_after("source.mark_transferred", "Severa", IncompleteTransfer)
    assert statuses(severa)[1] == "Transferred to Netvisor"  # no longer ready in Severa
    stage = "SELECT stage FROM document_transfer WHERE flow = %s"
    assert ledger.execute(stage, (DAG,)).fetchone()[0] != "done"

    assert run_dag(DAG, {"document_numbers": ["1"]}).state == "success"
    assert ledger.execute(stage, (DAG,)).fetchone()[0] == "done"
    assert [t["header"] for t in netvisor.state()["trip_expenses"]] == ["Severa travel invoice 1"]  # exactly one


def test_a_trip_whose_lines_sit_among_200_of_other_peoples_moves_only_its_own(airflow_db, ledger, severa, netvisor,
                                                                           monkeypatch):
    unthrottled(severa, monkeypatch)
    scope_connection(monkeypatch, DAG)
    others = [travel(100 + n, 100 + n, status="Draft", user="102",
                     expenses=[expense("1300", 1 + n, 0.59, description=f"Other {n}") for _ in range(5)])
              for n in range(40)]
    mine = travel(7, 7, expenses=[expense("1502", 1, 58.0, description="Per diem"),
                                  expense("1300", 42, 0.59, description="Mileage")])
    severa.seed(**severa_seed(others[:20] + [mine] + others[20:]))
    netvisor.seed(employees=[{"number": "101", "name": "Person 101"}], wage_types=["1502", "1300"])

    assert run_dag(DAG).state == "success"
    [moved] = netvisor.state()["trip_expenses"]
    assert (moved["header"], sorted(line["description"] for line in moved["lines"])) == ("Severa travel invoice 7", ["Mileage", "Per diem"])
    assert len(severa.state()["projecttravelexpenses"]) == 202


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
    assert "travel invoice 1 of employee 101: 3 lines, total 186.80" in body
    assert "3: REJECTED - " in body and "starts with 0" in body  # what will be refused is shown too
    if choice == "Approve":
        assert [t["header"] for t in netvisor.state()["trip_expenses"]] == ["Severa travel invoice 1"]
        assert statuses(severa)[1] == "Transferred to Netvisor"
    else:
        assert task_states(run)["transfer_documents"] == "skipped"
        assert netvisor.writes() == [] and statuses(severa)[1] == "Approved"
