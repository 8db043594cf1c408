"""R-A.6 / R-A.10 end to end: dag.test() of severa_netvisor_sales_invoices against the Severa and
Netvisor simulators over HTTP, real PostgreSQL ledger."""

from __future__ import annotations

import copy
import json
import sqlite3
import os
import time

import pytest

from erpbridge.errors import ExternalSystemError
from include.simulators.severa import DEMO_SEED as SEVERA_DEMO
from tests.conftest import SECRETS, unthrottled
from tests.flows.dagrun import run_dag, task_states
from tests.flows.hitl import run_dag_answering

DAG = "severa_netvisor_sales_invoices"
READY, SENT, DRAFT = ("a1000000-0000-4000-8000-00000000000" + n for n in "123")
CUSTOMER = {"1001": "c1000000-0000-4000-8000-000000000001", "1002": "c1000000-0000-4000-8000-000000000002",
            "1003": "c1000000-0000-4000-8000-000000000003"}
PRODUCT = {"CONS-H": "d1000000-0000-4000-8000-000000000001", "LIC-Y": "d1000000-0000-4000-8000-000000000002",
           "NEW-P": "d1000000-0000-4000-8000-000000000003"}
PROJECT = "e1000000-0000-4000-8000-000000000001"  # 2001 ERP rollout, business unit Helsinki
USER = "u1000000-0000-4000-8000-000000000001"
COST_CENTRE = "cc100000-0000-4000-8000-000000000001"


def severa_seed(invoices: list[dict]) -> dict:
    seed = copy.deepcopy(SEVERA_DEMO)
    seed["products"].append({"guid": PRODUCT["NEW-P"], "code": "NEW-P", "name": "Not in Netvisor",
                             "unitPrice": {"amount": 10.0, "currencyCode": "EUR"}, "vatRate": 25.5})
    seed["users"] = [{"guid": USER, "firstName": "Maija", "lastName": "Virtanen", "code": "101"}]
    seed["costcenters"] = [{"guid": COST_CENTRE, "name": "Development", "code": "DEV"}]
    seed["invoicestatuses"] = [{"guid": READY, "name": "Ready to be sent to Netvisor", "sortOrder": 1},
                               {"guid": SENT, "name": "Invoice sent to Netvisor", "isSent": True, "sortOrder": 2},
                               {"guid": DRAFT, "name": "Draft", "isDefault": True, "sortOrder": 0}]
    seed["invoices"] = [{k: v for k, v in i.items() if k != "rows"} for i in invoices]
    seed["invoicerows"] = [{**row, "invoice": {"guid": i["guid"]}, "sortOrder": n}
                           for i in invoices for n, row in enumerate(i["rows"])]
    return seed


def invoice(n: int, customer: str = "1001", rows: list[dict] | None = None, status: str = READY, **extra) -> dict:
    rows = rows if rows is not None else [row("CONS-H", 2, 120.0)]
    net = sum(r["quantity"] * r["unitPrice"]["amount"] for r in rows)
    return {"guid": f"f2000000-0000-4000-8000-{n:012d}", "number": str(n), "status": {"guid": status},
            "customer": {"guid": CUSTOMER[customer]}, "projects": [{"guid": PROJECT}], "date": "2026-03-02",
            "dueDate": "2026-03-16", "totalExcludingTax": round(net, 2), "totalIncludingTax": round(net * 1.255, 2),
            "rows": rows} | extra


def row(product: str, quantity, price, **extra) -> dict:
    return {"product": {"guid": PRODUCT[product]}, "quantity": quantity,
            "unitPrice": {"amount": price, "currencyCode": "EUR"}, "vatRate": 25.5, "project": {"guid": PROJECT},
            "user": {"guid": USER}, "costCenter": {"guid": COST_CENTRE}} | extra


NETVISOR_SEED = {
    "customers": [{"code": "1001", "name": "Oy Esimerkki Ab"}, {"code": "1002", "name": "Smith & Sons Ltd"}],
    "products": [{"code": "CONS-H", "name": "Consulting hour", "unit_price": "120.00"},
                 {"code": "LIC-Y", "name": "Annual licence", "unit_price": "1200.00"}],
}


@pytest.fixture
def flow(airflow_db, ledger, severa, netvisor, monkeypatch):
    unthrottled(severa, monkeypatch)
    netvisor.seed(**NETVISOR_SEED)
    return ledger, severa, netvisor


def sent(severa) -> dict[str, str]:
    return {i["number"]: i["status"]["name"] for i in severa.state()["invoices"]}


def netvisor_invoices(netvisor) -> dict[str, dict]:
    return {i["number"]: i for i in netvisor.state()["sales_invoices"]}


def quarantine(ledger) -> dict[str, str]:
    return dict(ledger.execute("SELECT source_key, reason FROM quarantine WHERE flow = %s", (DAG,)).fetchall())


def test_ready_invoices_become_netvisor_sales_invoices_with_exact_amounts_and_dimensions(flow):
    ledger, severa, netvisor = flow
    invoices = [
        invoice(5001, rows=[row("CONS-H", 7.5, 120.0, description="Consulting March"), row("LIC-Y", 1, 1200.0),
                            row("CONS-H", 0.1, 0.2, description="Rounding check")]),
        invoice(5002, isCreditNote=True, rows=[row("CONS-H", -2, 120.0)]),
        invoice(5003, customer="1002", currency={"code": "GBP"}, exchangeRate=1.1712),
        invoice(5004, homeCurrency={"code": "SEK"}),
        invoice(5005, customer="1003"),
        invoice(5006, rows=[row("NEW-P", 1, 10.0)]),
        invoice(5007, status=DRAFT),
    ]
    severa.seed(**severa_seed(invoices))

    run = run_dag(DAG)
    assert run.state == "success", task_states(run)
    held = netvisor_invoices(netvisor)
    assert sorted(held) == ["5001", "5002", "5003"]
    first = held["5001"]
    assert (first["customer_code"], first["date"], first["amount"], first["type"]) == (
        "1001", "2026-03-02", "2635.53", "invoice")  # 2100.02 * 1.255, decimal exact
    assert first["our_reference"] == "severa-invoice-f2000000-0000-4000-8000-000000005001"
    assert [(line["product_code"], line["quantity"], line["unit_price"], line["vat_percent"]) for line in first["lines"]
            ] == [("CONS-H", "7.5", "120.0", "25.5"), ("LIC-Y", "1", "1200.0", "25.5"), ("CONS-H", "0.1", "0.2", "25.5")]
    assert first["lines"][0]["name"] == "Consulting March"
    assert first["lines"][0]["dimensions"] == [
        {"name": "Liiketoimintayksikkö", "item": "Helsinki"}, {"name": "Kustannuspaikka", "item": "Development"},
        {"name": "Projekti", "item": "2001 ERP rollout"}, {"name": "Henkilö", "item": "Maija Virtanen"}]
    credit = held["5002"]
    assert (credit["type"], credit["amount"], credit["lines"][0]["quantity"]) == ("creditnote", "-301.20", "-2")
    assert (held["5003"]["currency"], held["5003"]["currency_rate"]) == ("GBP", "1,1712")

    assert sent(severa) == {"5001": "Invoice sent to Netvisor", "5002": "Invoice sent to Netvisor",
                            "5003": "Invoice sent to Netvisor", "5004": "Ready to be sent to Netvisor",
                            "5005": "Ready to be sent to Netvisor", "5006": "Ready to be sent to Netvisor",
                            "5007": "Draft"}
    reasons = quarantine(ledger)
    assert set(reasons) == {"5004", "5005", "5006"}
    assert "home currency SEK differs from Netvisor's EUR" in reasons["5004"]
    assert reasons["5005"] == "INVALID_DATA :: Data form incorrect:. Customer not found with customer code: 1003"
    assert reasons["5006"] == "INVALID_DATA :: Data form incorrect:. Product not found with product code: NEW-P"
    log = ledger.execute("SELECT source_key, action FROM transfer_log WHERE flow = %s ORDER BY id", (DAG,)).fetchall()
    assert sorted(log) == sorted([("5001", "created"), ("5002", "created"), ("5003", "created"),
                                  ("5004", "rejected"), ("5005", "rejected"), ("5006", "rejected")])

    since = netvisor.last_seq()
    severa_since = severa.last_seq()
    assert run_dag(DAG).state == "success"
    assert severa.writes(severa_since) == [] and sorted(netvisor_invoices(netvisor)) == ["5001", "5002", "5003"]
    assert len(netvisor.writes(since)) == 2  # nothing moves twice; only the two Netvisor refused are tried again
    assert set(quarantine(ledger)) == {"5004", "5005", "5006"}

    netvisor.seed(customers=[{"code": "1003", "name": "Kylmäkönen Äijälä Öljy Oy"}])  # fixed where it lives
    assert run_dag(DAG).state == "success"
    assert sorted(netvisor_invoices(netvisor)) == ["5001", "5002", "5003", "5005"]
    assert set(quarantine(ledger)) == {"5004", "5006"}


def batches_of(run) -> list[int]:
    metadata = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    rows = metadata.execute("SELECT key, value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ?",
                            (DAG, run.run_id, "transfer_documents")).fetchall()
    value = dict(rows)["return_value"]
    return json.loads(value)["batches"]


def test_31_ready_invoices_move_30_then_1_and_a_second_run_moves_nothing(flow):
    ledger, severa, netvisor = flow
    severa.seed(**severa_seed([invoice(6000 + n) for n in range(31)]))
    run = run_dag(DAG)
    assert run.state == "success", task_states(run)
    assert batches_of(run) == [30, 1]
    assert len(netvisor_invoices(netvisor)) == 31
    assert set(sent(severa).values()) == {"Invoice sent to Netvisor"}

    since = netvisor.last_seq()
    run = run_dag(DAG)
    assert run.state == "success" and batches_of(run) == []
    assert netvisor.writes(since) == []


def test_a_post_that_times_out_after_netvisor_applied_it_is_adopted_on_the_rerun(flow, monkeypatch):
    from erpbridge.ledger.store import Ledger
    from erpbridge.settings import SeveraNetvisorSettings
    from erpbridge.sync.severa_netvisor_documents import sales_invoice_flow, transfer_in_batches

    ledger_conn, severa, netvisor = flow
    severa.seed(**severa_seed([invoice(7001)]))
    creds = SECRETS["netvisor"]
    monkeypatch.setenv("AIRFLOW_CONN_NETVISOR_DEFAULT", json.dumps({
        "conn_type": "netvisor", "host": netvisor.base, "login": creds["customer_id"],
        "password": creds["customer_key"],
        "extra": {"sender": "erpbridge tests", "partner_id": creds["partner_id"], "partner_key": creds["partner_key"],
                  "organisation_id": creds["organisation_id"], "language": "FI", "backoff": 0.05, "timeout": 1}}))
    ledger = Ledger.connect(DAG)
    ledger.migrate()
    crashing = sales_invoice_flow(SeveraNetvisorSettings())
    real_post = crashing.target.post

    def post_into_a_timeout(payload):
        netvisor.faults(timeout_rate=1, timeout_seconds=1.5)  # Netvisor applies it after the client gave up
        try:
            return real_post(payload)
        finally:
            netvisor.admin("DELETE", "faults")

    crashing.target.post = post_into_a_timeout
    with pytest.raises(ExternalSystemError):
        transfer_in_batches(crashing, ledger, batch_size=30)
    ledger.close()
    assert ledger_conn.execute("SELECT stage FROM document_transfer").fetchone()[0] == "in_flight"
    deadline = time.monotonic() + 10
    while not netvisor_invoices(netvisor) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(netvisor_invoices(netvisor)) == ["7001"]  # Netvisor did accept it
    assert sent(severa) == {"7001": "Ready to be sent to Netvisor"}

    run = run_dag(DAG)
    assert run.state == "success", task_states(run)
    assert sorted(netvisor_invoices(netvisor)) == ["7001"]  # exactly one
    assert sent(severa) == {"7001": "Invoice sent to Netvisor"}
    assert ledger_conn.execute("SELECT stage FROM document_transfer").fetchone()[0] == "done"
    actions = [a for (a,) in ledger_conn.execute("SELECT action FROM transfer_log ORDER BY id")]
    assert actions == ["failed", "updated"]  # adopted, not created again


def test_a_failed_status_write_back_is_retried_on_the_next_run(flow):
    ledger, severa, netvisor = flow
    severa.seed(**severa_seed([invoice(7101)]))
    from erpbridge.ledger.store import Ledger
    from erpbridge.settings import SeveraNetvisorSettings
    from erpbridge.sync.severa_netvisor_documents import sales_invoice_flow, transfer_in_batches

    store = Ledger.connect(DAG)
    store.migrate()
    broken = sales_invoice_flow(SeveraNetvisorSettings())

    def refuse(invoice, target_id):
        raise ExternalSystemError("Severa", "HTTP 503 on PATCH")

    broken.source.mark_transferred = refuse
    with pytest.raises(ExternalSystemError):
        transfer_in_batches(broken, store, batch_size=30)
    store.close()
    assert ledger.execute("SELECT stage FROM document_transfer").fetchone()[0] == "completed"
    assert run_dag(DAG).state == "success"
    assert sorted(netvisor_invoices(netvisor)) == ["7101"] and sent(severa) == {"7101": "Invoice sent to Netvisor"}


def test_an_invoice_netvisor_fails_on_does_not_stop_the_others_and_moves_on_the_next_run(flow, monkeypatch):
    ledger, severa, netvisor = flow
    conn = json.loads(os.environ["AIRFLOW_CONN_NETVISOR_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_NETVISOR_DEFAULT", json.dumps({**conn, "extra": {**conn["extra"], "attempts": 1}}))
    severa.seed(**severa_seed([invoice(7201), invoice(7202), invoice(7203)]))
    netvisor.faults(next_n={"count": 1, "status": 503, "category": "SYSTEM_MAINTANANCE",
                            "message": "Service under maintenance"})  # the first Netvisor request only

    run = run_dag(DAG)
    assert task_states(run)["transfer_documents"] == "failed"  # so that Airflow retries it
    assert sorted(netvisor_invoices(netvisor)) == ["7202", "7203"]  # the batch went on
    assert sent(severa) == {"7201": "Ready to be sent to Netvisor", "7202": "Invoice sent to Netvisor",
                            "7203": "Invoice sent to Netvisor"}
    failed = ledger.execute("SELECT source_key, error_text FROM transfer_log WHERE flow = %s AND action = 'failed'",
                            (DAG,)).fetchall()
    assert [key for key, _ in failed] == ["7201"] and "Service under maintenance" in failed[0][1]

    run = run_dag(DAG)
    assert run.state == "success", task_states(run)
    assert sorted(netvisor_invoices(netvisor)) == ["7201", "7202", "7203"]
    assert set(sent(severa).values()) == {"Invoice sent to Netvisor"}


def test_an_invoice_whose_rows_severa_cannot_give_waits_while_the_others_move(flow):
    ledger, severa, netvisor = flow
    severa.seed(**severa_seed([invoice(7301), invoice(7302)]))
    unreadable = "/rest-api/v1/invoices/f2000000-0000-4000-8000-000000007301/invoicerows"
    severa.faults(respond={"path": unreadable, "count": 20, "status": 503, "content_type": "application/json",
                           "body": json.dumps({"error": {"httpStatusCode": 503, "type": "ServiceUnavailable",
                                                         "details": [{"message": "Rows are being recalculated"}]}})})

    run = run_dag(DAG)
    assert task_states(run)["transfer_documents"] == "failed"
    assert sorted(netvisor_invoices(netvisor)) == ["7302"]
    failed = ledger.execute("SELECT source_key, error_text FROM transfer_log WHERE flow = %s AND action = 'failed'",
                            (DAG,)).fetchall()
    assert [key for key, _ in failed] == ["7301"] and "Rows are being recalculated" in failed[0][1]

    severa.admin("DELETE", "faults")
    assert run_dag(DAG).state == "success"
    assert sorted(netvisor_invoices(netvisor)) == ["7301", "7302"]
    assert set(sent(severa).values()) == {"Invoice sent to Netvisor"}


def test_dry_run_only_reads_and_resend_adopts(flow):
    ledger, severa, netvisor = flow
    severa.seed(**severa_seed([invoice(8001), invoice(8002)]))
    run = run_dag(DAG, {"dry_run": True})
    assert run.state == "success", task_states(run)
    assert netvisor.requests() == [] and severa.writes() == []
    assert {r["method"] for r in severa.requests()} <= {"GET", "POST"}  # POST: the token only
    assert ledger.execute("SELECT count(*) FROM document_transfer").fetchone()[0] == 0

    assert run_dag(DAG, {"document_numbers": ["8002"]}).state == "success"
    assert sorted(netvisor_invoices(netvisor)) == ["8002"]
    since = netvisor.last_seq()
    assert run_dag(DAG, {"resend": "8002"}).state == "success"
    assert [w for w in netvisor.writes(since)] == []  # found again, adopted
    assert sorted(netvisor_invoices(netvisor)) == ["8002"]


@pytest.mark.parametrize("choice", ["Approve", "Reject"])
def test_approval_blocks_the_transfer_until_approved(flow, monkeypatch, choice):
    ledger, severa, netvisor = flow
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", json.dumps({"sales_invoices": {"require_approval": True}}))
    severa.seed(**severa_seed([invoice(9001)]))

    def answer(asked):
        assert netvisor.writes() == []  # nothing moved while waiting
        return [choice], {}

    run, asked = run_dag_answering(DAG, answer)
    assert run.state == "success", task_states(run)
    assert len(asked) == 1 and "invoice 9001 2026-03-02: customer 1001, 1 rows, total 301.20" in asked[0]["body"]
    if choice == "Approve":
        assert sorted(netvisor_invoices(netvisor)) == ["9001"] and sent(severa) == {"9001": "Invoice sent to Netvisor"}
    else:
        assert task_states(run)["transfer_documents"] == "skipped"
        assert netvisor.writes() == [] and sent(severa) == {"9001": "Ready to be sent to Netvisor"}
