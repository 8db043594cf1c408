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
from tests.contract.severa_openapi import scope_connection
from tests.flows.dagrun import run_dag, task_states
from tests.flows.hitl import run_dag_answering

DAG = "severa_netvisor_sales_invoices"
READY, SENT, DRAFT = ("a1000000-0000-4000-8000-00000000000" + n for n in "123")
CUSTOMER = {"1001": "c1000000-0000-4000-8000-000000000001", "1002": "c1000000-0000-4000-8000-000000000002",
            "1003": "c1000000-0000-4000-8000-000000000003"}
PRODUCT = {"CONS-H": "d1000000-0000-4000-8000-000000000001", "LIC-Y": "d1000000-0000-4000-8000-000000000002",
           "NEW-P": "d1000000-0000-4000-8000-000000000003"}
PROJECT = "e1000000-0000-4000-8000-000000000001"  # 2001 ERP rollout, business unit Helsinki
USER = "a3000000-0000-4000-8000-000000000001"  # Maija Virtanen (101)
CONSULTING = "a4100000-0000-4000-8000-000000000001"  # work type CONS-H
COST_CENTRE = {"number": "DEV", "name": "Development"}


def severa_seed(invoices: list[dict]) -> dict:
    """The demo's registers and these invoices; each row's private ``_product`` / ``_work_type`` becomes the
    project fee / hour entry it bills (linked by ``invoiceRowGuid``)."""
    seed = copy.deepcopy(SEVERA_DEMO)
    seed["products"].append({"guid": PRODUCT["NEW-P"], "code": "NEW-P", "name": "Not in Netvisor",
                             "unitPrice": {"amount": 10.0, "currencyCode": "EUR"}, "vatRate": 25.5})
    seed["worktypes"] = [{"guid": CONSULTING, "name": "Consulting", "code": "CONS-H"}]
    seed["invoicestatuses"] = [{"guid": READY, "name": "Ready to be sent to Netvisor", "sortOrder": 1},
                               {"guid": SENT, "name": "Invoice sent to Netvisor", "isSent": True, "sortOrder": 2},
                               {"guid": DRAFT, "name": "Draft", "isDefault": True, "sortOrder": 0}]
    return seed | documents_seed(invoices)


def documents_seed(invoices: list[dict]) -> dict:
    """The invoices, their rows and what each row bills."""
    seed = {"invoices": [{k: v for k, v in i.items() if k != "rows"} for i in invoices],
            "invoicerows": [], "projectfees": [], "workhours": []}
    for i in invoices:
        for n, row in enumerate(i["rows"]):
            guid = f"f3000000-0000-4000-8000-{i['number']:08d}{n:04d}"
            public = {k: v for k, v in row.items() if not k.startswith("_")}
            seed["invoicerows"].append({**public, "guid": guid, "invoiceGuid": i["guid"], "sortOrder": n})
            if row.get("_product"):
                seed["projectfees"].append({"project": {"guid": PROJECT}, "product": {"guid": PRODUCT[row["_product"]]},
                                            "quantity": row["quantity"], "invoiceRowGuid": guid})
            if row.get("_work_type"):
                seed["workhours"].append({"user": {"guid": USER}, "project": {"guid": PROJECT}, "quantity": 1,
                                          "eventDate": "2026-02-27", "workType": {"guid": row["_work_type"]},
                                          "invoiceRowGuid": guid})
    return seed


def money(amount, currency: str = "EUR") -> dict:
    return {"amount": amount, "currencyCode": currency}


def invoice(n: int, customer: str = "1001", rows: list[dict] | None = None, status: str = READY,
            currency: str = "EUR", **extra) -> dict:
    rows = rows if rows is not None else [row("CONS-H", 2, 120.0, currency=currency)]
    net = sum(r["quantity"] * r["unitPrice"]["amount"] for r in rows)
    return {"guid": f"f2000000-0000-4000-8000-{n:012d}", "number": n, "status": {"guid": status},
            "customer": {"guid": CUSTOMER[customer]}, "projects": [{"guid": PROJECT}], "date": "2026-03-02",
            "dueDate": "2026-03-16", "paymentTerm": 14, "currency": {"guid": f"a9000000-0000-4000-8000-{n:012d}",
                                                                   "code": currency},
            "totalExcludingTax": money(round(net, 2), currency),
            "totalIncludingTax": money(round(net * 1.255, 2), currency),
            "rows": rows} | extra


def row(product: str, quantity, price, currency: str = "EUR", **extra) -> dict:
    """A row billing a project fee of ``product``."""
    return {"rowType": "ProjectFees", "category": "ProjectFees", "_product": product, "quantity": quantity,
            "unitPrice": money(price, currency), "vatRate": 25.5, "costCenter": COST_CENTRE} | extra


def hours_row(quantity, price, **extra) -> dict:
    """A row billing Maija's consulting hours (work type CONS-H)."""
    return {"rowType": "Hours", "category": "Hours", "_work_type": CONSULTING, "quantity": quantity,
            "unitPrice": money(price), "vatRate": 25.5, "costCenter": COST_CENTRE} | extra


NETVISOR_SEED = {
    "customers": [{"code": "1001", "name": "Oy Esimerkki Ab"}, {"code": "1002", "name": "Smith & Sons Ltd"}],
    "products": [{"code": "CONS-H", "name": "Consulting hour", "unit_price": "120.00"},
                 {"code": "LIC-Y", "name": "Annual licence", "unit_price": "1200.00"}],
}


@pytest.fixture
def flow(airflow_db, ledger, severa, netvisor, monkeypatch):
    unthrottled(severa, monkeypatch)
    scope_connection(monkeypatch, DAG)
    netvisor.seed(**NETVISOR_SEED)
    return ledger, severa, netvisor


def sent(severa) -> dict[int, str]:
    return {i["number"]: i["status"]["name"] for i in severa.state()["invoices"]}


def netvisor_invoices(netvisor) -> dict[str, dict]:
    return {i["number"]: i for i in netvisor.state()["sales_invoices"]}


def quarantine(ledger) -> dict[str, str]:
    return dict(ledger.execute("SELECT source_key, reason FROM quarantine WHERE flow = %s", (DAG,)).fetchall())


def test_ready_invoices_become_netvisor_sales_invoices_with_exact_amounts_and_dimensions(flow):
    ledger, severa, netvisor = flow
    invoices = [
        invoice(5001, rows=[hours_row(7.5, 120.0, description="Consulting March"), row("LIC-Y", 1, 1200.0),
                            {**row("CONS-H", 0.1, 0.2, description="Rounding check"), "_product": None,
                             "code": ["CONS-H"]}]),
        invoice(5002, isCreditNote=True, rows=[row("CONS-H", -2, 120.0)]),
        invoice(5003, customer="1002", currency="GBP", currencyRate=1.1712),
        invoice(5004, currency="USD", currencyRate=0),
        invoice(5005, customer="1003"),
        invoice(5006, rows=[row("NEW-P", 1, 10.0)]),
        invoice(5007, status=DRAFT),
        invoice(5008, rows=[row("CONS-H", 1, 120.0, currency="USD")], totalExcludingTax=None, totalIncludingTax=None),
        invoice(5009, rows=[{**row("CONS-H", 1, 120.0), "_product": None, "description": "Misc"}]),
    ]
    severa.seed(**severa_seed(invoices))
    netvisor.seed(products=[{"code": "TEMP", "name": "Temporary product"}])

    run = run_dag(DAG)
    assert run.state == "success", task_states(run)
    held = netvisor_invoices(netvisor)
    assert sorted(held) == ["5001", "5002", "5003", "5009"]
    first = held["5001"]
    assert (first["customer_code"], first["date"], first["amount"], first["type"]) == (
        "1001", "2026-03-02", "2635.53", "invoice")  # 2100.02 * 1.255, decimal exact
    assert first["our_reference"] == "severa-invoice-f2000000-0000-4000-8000-000000005001"
    # the product: the hours' work type, the fee's product, the row's own code
    assert [(line["product_code"], line["quantity"], line["unit_price"], line["vat_percent"]) for line in first["lines"]
            ] == [("CONS-H", "7.5", "120.0", "25.5"), ("LIC-Y", "1", "1200.0", "25.5"), ("CONS-H", "0.1", "0.2", "25.5")]
    assert first["lines"][0]["name"] == "Consulting March"
    assert first["lines"][0]["dimensions"] == [
        {"name": "Liiketoimintayksikkö", "item": "Helsinki"}, {"name": "Kustannuspaikka", "item": "Development"},
        {"name": "Projekti", "item": "2001 ERP rollout"}, {"name": "Henkilö", "item": "Maija Virtanen"}]
    assert [d["name"] for d in first["lines"][1]["dimensions"]] == ["Liiketoimintayksikkö", "Kustannuspaikka",
                                                                    "Projekti"]  # a fee row names no person
    credit = held["5002"]
    assert (credit["type"], credit["amount"], credit["lines"][0]["quantity"]) == ("creditnote", "-301.20", "-2")
    assert (held["5003"]["currency"], held["5003"]["currency_rate"]) == ("GBP", "1,1712")
    assert [line["product_code"] for line in held["5009"]["lines"]] == ["TEMP"]  # nothing names a product

    assert sent(severa) == {5001: "Invoice sent to Netvisor", 5002: "Invoice sent to Netvisor",
                            5003: "Invoice sent to Netvisor", 5004: "Ready to be sent to Netvisor",
                            5005: "Ready to be sent to Netvisor", 5006: "Ready to be sent to Netvisor",
                            5007: "Draft", 5008: "Ready to be sent to Netvisor", 5009: "Invoice sent to Netvisor"}
    reasons = quarantine(ledger)
    assert set(reasons) == {"5004", "5005", "5006", "5008"}
    assert reasons["5004"] == "invoice 5004: is in USD but has no exchange rate (currencyRate) to EUR"
    assert reasons["5005"] == "INVALID_DATA :: Data form incorrect:. Customer not found with customer code: 1003"
    assert reasons["5006"] == "INVALID_DATA :: Data form incorrect:. Product not found with product code: NEW-P"
    assert reasons["5008"] == ("invoice 5008 row 1: unit price is in USD but the document is in EUR, and Severa "
                               "gives no exchange rate for it")
    log = ledger.execute("SELECT source_key, action FROM transfer_log WHERE flow = %s ORDER BY id", (DAG,)).fetchall()
    assert sorted(log) == sorted([("5001", "created"), ("5002", "created"), ("5003", "created"), ("5009", "created"),
                                  ("5004", "rejected"), ("5005", "rejected"), ("5006", "rejected"),
                                  ("5008", "rejected")])

    since = netvisor.last_seq()
    severa_since = severa.last_seq()
    assert run_dag(DAG).state == "success"
    assert severa.writes(severa_since) == [] and sorted(netvisor_invoices(netvisor)) == ["5001", "5002", "5003",
                                                                                        "5009"]
    assert len(netvisor.writes(since)) == 2  # nothing moves twice; only the two Netvisor refused are tried again
    assert set(quarantine(ledger)) == {"5004", "5005", "5006", "5008"}

    netvisor.seed(customers=[{"code": "1003", "name": "Kylmäkönen Äijälä Öljy Oy"}])  # fixed where it lives
    assert run_dag(DAG).state == "success"
    assert sorted(netvisor_invoices(netvisor)) == ["5001", "5002", "5003", "5005", "5009"]
    assert set(quarantine(ledger)) == {"5004", "5006", "5008"}


def test_an_invoice_of_245_rows_is_read_in_three_pages_and_moves_whole(flow):
    """Rows come at most 100 a page (20 by default: 45 rows would be 3 pages there; the hook asks 100)."""
    ledger, severa, netvisor = flow
    rows = [row("LIC-Y" if n % 2 else "CONS-H", 1, 10.0 + n, description=f"Row {n + 1}") for n in range(245)]
    severa.seed(**severa_seed([invoice(5101, rows=rows)]))

    run = run_dag(DAG)
    assert run.state == "success", task_states(run)
    lines = netvisor_invoices(netvisor)["5101"]["lines"]
    assert [line["name"] for line in lines] == [f"Row {n + 1}" for n in range(245)]
    assert [line["product_code"] for line in lines[:3]] == ["CONS-H", "LIC-Y", "CONS-H"]
    pages = [r["query"] for r in severa.requests() if r["path"].endswith("/invoicerows")]
    assert len(pages) == 3 and all("rowCount=100" in q for q in pages) and "pageToken=" in pages[2]


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
    from erpbridge.engine.batches import transfer_in_batches
    from erpbridge.flows.severa_netvisor.documents import sales_invoice_flow
    from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings
    from erpbridge.hooks.netvisor import NetvisorHook
    from erpbridge.hooks.severa import SeveraHook
    from erpbridge.ledger.store import Ledger

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
    crashing = sales_invoice_flow(SeveraNetvisorSettings(), SeveraHook("severa_default"),
                                  NetvisorHook("netvisor_default"))
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
    assert sent(severa) == {7001: "Ready to be sent to Netvisor"}

    run = run_dag(DAG)
    assert run.state == "success", task_states(run)
    assert sorted(netvisor_invoices(netvisor)) == ["7001"]  # exactly one
    assert sent(severa) == {7001: "Invoice sent to Netvisor"}
    assert ledger_conn.execute("SELECT stage FROM document_transfer").fetchone()[0] == "done"
    actions = [a for (a,) in ledger_conn.execute("SELECT action FROM transfer_log ORDER BY id")]
    assert actions == ["failed", "updated"]  # adopted, not created again


def test_a_failed_status_write_back_is_retried_on_the_next_run(flow):
    ledger, severa, netvisor = flow
    severa.seed(**severa_seed([invoice(7101)]))
    from erpbridge.engine.batches import transfer_in_batches
    from erpbridge.flows.severa_netvisor.documents import sales_invoice_flow
    from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings
    from erpbridge.hooks.netvisor import NetvisorHook
    from erpbridge.hooks.severa import SeveraHook
    from erpbridge.ledger.store import Ledger

    store = Ledger.connect(DAG)
    store.migrate()
    broken = sales_invoice_flow(SeveraNetvisorSettings(), SeveraHook("severa_default"),
                                NetvisorHook("netvisor_default"))

    def refuse(invoice, target_id):
        raise ExternalSystemError("Severa", "HTTP 503 on PATCH")

    broken.source.mark_transferred = refuse
    with pytest.raises(ExternalSystemError):
        transfer_in_batches(broken, store, batch_size=30)
    store.close()
    assert ledger.execute("SELECT stage FROM document_transfer").fetchone()[0] == "completed"
    assert run_dag(DAG).state == "success"
    assert sorted(netvisor_invoices(netvisor)) == ["7101"] and sent(severa) == {7101: "Invoice sent to Netvisor"}


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
    assert sent(severa) == {7201: "Ready to be sent to Netvisor", 7202: "Invoice sent to Netvisor",
                            7203: "Invoice sent to Netvisor"}
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
        assert sorted(netvisor_invoices(netvisor)) == ["9001"] and sent(severa) == {9001: "Invoice sent to Netvisor"}
    else:
        assert task_states(run)["transfer_documents"] == "skipped"
        assert netvisor.writes() == [] and sent(severa) == {9001: "Ready to be sent to Netvisor"}
