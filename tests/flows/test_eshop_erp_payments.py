"""eshop_erp_orders then eshop_erp_payments end to end (dag.test(), simulators over HTTP, real ledger): orders of
every kind -> exactly the expected customer orders, sales documents (VAT invoice or receipt), payments, notes
and corrections, totals to the grosz, the ERP's stock following; a second run changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.flows.dagrun import run_dag, task_states
from tests.flows.eshop_shop import ESHOP_WAREHOUSE, NIP_COMPANY, NIP_RETURNING, Shop, seed

ORDERS, PAYMENTS = "eshop_erp_orders", "eshop_erp_payments"


@pytest.fixture
def shop(airflow_db, ledger, woocommerce, fakturownia, monkeypatch) -> Shop:
    seed(woocommerce, fakturownia)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps({"eshop_warehouse_id": ESHOP_WAREHOUSE}))
    return Shop(woocommerce)


def run_both() -> None:
    for dag_id in (ORDERS, PAYMENTS):
        run = run_dag(dag_id)
        assert set(task_states(run).values()) == {"success"}, (dag_id, task_states(run))


def documents(fakturownia) -> dict[str, dict]:
    return {i["oid"]: i for i in fakturownia.state()["invoices"]}


def eshop_stock(fakturownia, code: str) -> Decimal:
    product = next(p for p in fakturownia.state()["products"] if p["code"] == code)
    return Decimal(product["stock"].get(str(ESHOP_WAREHOUSE), "0"))


def reserved(ledger) -> set[tuple[str, str, int]]:
    return {(o, sku, int(q)) for o, sku, q in ledger.execute("SELECT shop_order_id, sku, quantity FROM eshop_reservation")}


def notes(shop: Shop, order: dict) -> list[str]:
    return [n["note"] for n in shop.api.get(f"orders/{order['id']}/notes").json()]


def test_orders_of_every_kind_become_exactly_the_expected_documents(shop, ledger, fakturownia):
    guest = shop.order({"MUG-01": 2, "BOOK-01": 1}, coupon="rabat10")
    company = shop.order({"CAKE-01": 1}, email="biuro@abc.pl", company="ABC Sp. z o.o.", nip=NIP_COMPANY, fee="5.00")
    returning = shop.order({"TEE-M": 1}, email="inny@staly.pl", company="Stały Klient", nip=NIP_RETURNING)
    guest_again = shop.order({"TEE-L": 2}, email="anna@example.pl", shipping=None)
    asks_invoice = shop.order({"BOOK-01": 2}, email="jan@example.pl", invoice=True)
    transfer = shop.order({"MUG-01": 1}, email="ewa@example.pl", paid=False, status="on-hold")
    unpaid = shop.order({"MUG-01": 1}, email="piotr@example.pl", paid=False)
    cancelled = shop.order({"CAKE-01": 1}, email="ola@example.pl", paid=False, status="on-hold")
    run_both()

    docs = documents(fakturownia)
    sales = {o["number"]: docs.get(f"WC-{o['number']}/sale") for o in
             (guest, company, returning, guest_again, asks_invoice, transfer, unpaid, cancelled)}
    assert {n: d and d["kind"] for n, d in sales.items()} == {
        guest["number"]: "receipt", company["number"]: "vat", returning["number"]: "vat",
        guest_again["number"]: "receipt", asks_invoice["number"]: "vat", transfer["number"]: None,
        unpaid["number"]: None, cancelled["number"]: None}
    assert f"WC-{unpaid['number']}" not in docs and f"WC-{transfer['number']}" in docs
    for order in (guest, company, returning, guest_again, asks_invoice):
        sale, zk = sales[order["number"]], docs[f"WC-{order['number']}"]
        assert (sale["price_gross"], sale["status"], sale["paid"]) == (order["total"], "paid", order["total"])
        assert (sale["client_id"], sale["from_invoice_id"], sale["warehouse_id"]) == (zk["client_id"], zk["id"],
                                                                                      ESHOP_WAREHOUSE)
        assert notes(shop, order) == [f"Dokument sprzedaży {sale['number']} (Fakturownia)"]
    payments = fakturownia.state()["payments"]
    assert sorted((p["invoice_id"], p["price"]) for p in payments) == sorted(
        (sales[o["number"]]["id"], o["total"]) for o in (guest, company, returning, guest_again, asks_invoice))
    assert eshop_stock(fakturownia, "MUG-01") == 20 - 2  # issued by the receipt; the on-hold order only reserved
    assert eshop_stock(fakturownia, "TEE-L") == 10 - 2
    assert reserved(ledger) == {(str(transfer["id"]), "MUG-01", 1), (str(cancelled["id"]), "CAKE-01", 1)}

    shop.set_status(transfer, "processing")  # the bank transfer arrived
    shop.set_status(cancelled, "cancelled")
    refund_line = guest["line_items"][0]  # one of the two mugs back
    refund = shop.api.post(f"orders/{guest['id']}/refunds", {
        "amount": "43.17", "reason": "Stłuczony kubek", "api_refund": False,
        "line_items": [{"id": refund_line["id"], "quantity": 1, "refund_total": "35.10",
                        "refund_tax": [{"id": 1, "refund_total": "8.07"}]}]})
    assert refund.status_code == 201, refund.text
    run_both()

    docs = documents(fakturownia)
    assert docs[f"WC-{transfer['number']}/sale"]["kind"] == "receipt"
    assert docs[f"WC-{cancelled['number']}"]["status"] == "rejected"
    assert f"WC-{cancelled['number']}/sale" not in docs
    correction = docs[f"WC-{guest['number']}/refund-{refund.json()['id']}"]
    assert (correction["kind"], correction["price_gross"], correction["invoice_id"]) == (
        "correction", "-43.17", sales[guest["number"]]["id"])
    assert notes(shop, guest)[0] == f"Korekta {correction['number']} (Fakturownia)"
    assert eshop_stock(fakturownia, "MUG-01") == 20 - 2 - 1 + 1  # the transfer's mug issued, the broken one back
    assert reserved(ledger) == set()  # issued or cancelled: nothing held any more

    writes = fakturownia.last_seq()
    shop_writes = shop.sim.last_seq()
    run_both()
    assert fakturownia.writes(since=writes) == [] and shop.sim.writes(since=shop_writes) == []


def test_a_paid_order_waits_for_its_customer_order(shop, ledger, fakturownia):
    order = shop.order({"MUG-01": 1})
    run = run_dag(PAYMENTS)  # before the orders flow ran: nothing to build on yet
    assert task_states(run)["import_payments"] == "success"
    assert documents(fakturownia) == {}
    run_both()
    assert documents(fakturownia)[f"WC-{order['number']}/sale"]["kind"] == "receipt"
