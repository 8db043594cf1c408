"""Orders split per warehouse (R-D.5, setting split_warehouses) end to end: dag.test() against the WooCommerce and
Fakturownia simulators over HTTP and a real ledger. An order filled from two warehouses (one line spread over
both) -> one customer order per warehouse, each once; its payment -> one sales document and payment per part,
each issuing its own warehouse's stock; its cancellation rejects every part; a line no warehouse can fill waits
in quarantine. Totals per part and over the order equal to the grosz."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from erpbridge.control_room.orders import orders as orders_view
from erpbridge.flows.eshop_erp.settings import EshopErpSettings
from erpbridge.flows.eshop_erp.split import erp_net, share
from erpbridge.settings import SettingsError, parse
from tests.conftest import SECRETS
from tests.flows.dagrun import run_dag, task_states
from tests.flows.eshop_shop import ESHOP_WAREHOUSE, Shop, seed

ORDERS, PAYMENTS, CATALOG = "eshop_erp_orders", "eshop_erp_payments", "erp_eshop_catalog"
SECOND_WAREHOUSE = 3


@pytest.fixture
def shop(airflow_db, ledger, woocommerce, fakturownia, monkeypatch) -> Shop:
    """The shop of the other e-shop tests, with a second ERP warehouse: MUG-01 3 in the e-shop warehouse and 10
    in the second, BOOK-01 and CAKE-01 only in the e-shop warehouse (20 each)."""
    seed(woocommerce, fakturownia)
    fakturownia.seed(warehouses=[{"id": SECOND_WAREHOUSE, "name": "Magazyn Poznań"}])
    mug = product_id(fakturownia, "MUG-01")
    warehouse_document(fakturownia, "wz", ESHOP_WAREHOUSE, mug, 17)
    warehouse_document(fakturownia, "pz", SECOND_WAREHOUSE, mug, 10)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps({
        "eshop_warehouse_id": ESHOP_WAREHOUSE, "split_warehouses": [ESHOP_WAREHOUSE, SECOND_WAREHOUSE]}))
    return Shop(woocommerce)


def product_id(fakturownia, code: str) -> int:
    return next(p["id"] for p in fakturownia.state()["products"] if p["code"] == code)


def warehouse_document(fakturownia, kind: str, warehouse: int, product: int, quantity: int) -> None:
    """A goods receipt (pz) or issue (wz) through the ERP's API, as the warehouse staff would make it."""
    answer = httpx.post(f"{fakturownia.base}/warehouse_documents.json", json={
        "api_token": SECRETS["fakturownia"]["api_token"], "warehouse_document": {
            "kind": kind, "warehouse_id": warehouse, "warehouse_actions": [{"product_id": product, "quantity": quantity}]}})
    assert answer.status_code == 201, answer.text


def stock(fakturownia, code: str) -> dict[int, Decimal]:
    product = next(p for p in fakturownia.state()["products"] if p["code"] == code)
    return {int(w): Decimal(q) for w, q in product["stock"].items()}


def documents(fakturownia, kind: str) -> dict[str, dict]:
    return {i["oid"]: i for i in fakturownia.state()["invoices"] if i["kind"] == kind}


def reserved(ledger, order: dict) -> dict[tuple[int, str], int]:
    return {(int(w), sku): int(q) for sku, w, q in ledger.execute(
        "SELECT sku, warehouse_id, quantity FROM eshop_reservation WHERE shop_order_id = %s", (str(order["id"]),))}


def quarantine(ledger) -> dict[str, str]:
    return dict(ledger.execute("SELECT source_key, reason FROM quarantine").fetchall())


def lines(invoice: dict) -> list[tuple[str, str]]:
    return [(p["code"] or p["name"], p["quantity"]) for p in invoice["positions"]]


def shop_vat(order: dict) -> dict[str, Decimal]:
    rates = {t["rate_id"]: t["rate_percent"] for t in order["tax_lines"]}
    return {f"{rates[t['rate_id']]:g}": Decimal(t["tax_total"]) + Decimal(t["shipping_tax_total"])
            for t in order["tax_lines"]}


def erp_vat(invoices: list[dict]) -> dict[str, Decimal]:
    vat: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        for p in invoice["positions"]:
            vat[p["tax"]] += Decimal(p["total_price_gross"]) - Decimal(p["total_price_net"])
    return dict(vat)


def split_order(shop: Shop, **options) -> dict:
    """12 mugs (3 from the e-shop warehouse, 9 from the second), a book and a cake (the e-shop warehouse)."""
    return shop.order({"MUG-01": 12, "BOOK-01": 1, "CAKE-01": 1}, coupon="rabat10", **options)


def test_an_order_from_two_warehouses_becomes_one_customer_order_per_warehouse_once(shop, ledger, fakturownia):
    order = split_order(shop)
    run = run_dag(ORDERS)
    assert task_states(run)["import_orders"] == "success"

    made = documents(fakturownia, "estimate")
    first, second = made[f"WC-{order['number']}/M{ESHOP_WAREHOUSE}"], made[f"WC-{order['number']}/M{SECOND_WAREHOUSE}"]
    assert len(made) == 2
    assert (first["warehouse_id"], second["warehouse_id"]) == (ESHOP_WAREHOUSE, SECOND_WAREHOUSE)
    assert (first["oid_unique"], second["oid_unique"]) == ("yes", "yes")
    assert lines(first) == [("MUG-01", "3.0"), ("BOOK-01", "1.0"), ("CAKE-01", "1.0"), ("Wysyłka: Kurier", "1.0")]
    assert lines(second) == [("MUG-01", "9.0")]
    assert "rabat10" in first["description"] and "rabat10" not in second["description"]
    assert first["client_id"] == second["client_id"]
    assert Decimal(first["price_gross"]) + Decimal(second["price_gross"]) == Decimal(order["total"])
    assert erp_vat([first, second]) == {rate: amount for rate, amount in shop_vat(order).items() if amount}
    mug_gross = sum(Decimal(p["total_price_gross"]) for z in (first, second) for p in z["positions"] if p["code"] == "MUG-01")
    mug = next(line for line in order["line_items"] if line["sku"] == "MUG-01")
    assert mug_gross == Decimal(mug["total"]) + Decimal(mug["total_tax"])  # the spread line, to the grosz
    assert reserved(ledger, order) == {(ESHOP_WAREHOUSE, "MUG-01"): 3, (SECOND_WAREHOUSE, "MUG-01"): 9,
                                       (ESHOP_WAREHOUSE, "BOOK-01"): 1, (ESHOP_WAREHOUSE, "CAKE-01"): 1}
    row = ledger.execute("SELECT stage, target_id FROM document_transfer WHERE source_id = %s",
                         (str(order["id"]),)).fetchone()
    assert row == ("done", f"{first['id']},{second['id']}")
    (listed,) = [o for o in orders_view(ledger) if o["order_id"] == str(order["id"])]  # the Orders view's data
    assert [d["erp_ids"] for d in listed["documents"]] == [[str(first["id"]), str(second["id"])]]
    assert listed["reserved"] == ["BOOK-01 × 1 (warehouse 1)", "CAKE-01 × 1 (warehouse 1)",
                                  "MUG-01 × 3 (warehouse 1)", "MUG-01 × 9 (warehouse 3)"]

    writes = fakturownia.last_seq()
    again = run_dag(ORDERS)
    assert task_states(again)["import_orders"] == "success"
    assert fakturownia.writes(since=writes) == []  # a second run changes nothing
    assert reserved(ledger, order)[(SECOND_WAREHOUSE, "MUG-01")] == 9  # still held per warehouse


def test_a_line_no_warehouse_can_fill_waits_in_quarantine_and_the_rest_move(shop, ledger, fakturownia):
    split_order(shop)
    run_dag(ORDERS)  # takes every free mug: 0 left in the e-shop warehouse, 1 in the second
    too_many = shop.order({"MUG-01": 5})
    fits = shop.order({"BOOK-01": 2})
    writes = fakturownia.last_seq()

    run = run_dag(ORDERS)

    assert task_states(run)["import_orders"] == "success"
    assert quarantine(ledger) == {f"order {too_many['number']}": (
        f"order {too_many['number']}: line 1 (MUG-01): 5 wanted, but warehouses {ESHOP_WAREHOUSE} (0 free), "
        f"{SECOND_WAREHOUSE} (1 free) cannot fill it together (setting split_warehouses); it waits here until stock "
        "arrives")}
    assert [w["path"] for w in fakturownia.writes(since=writes)] == ["/invoices.json"]  # only the order that fits
    assert f"WC-{fits['number']}/M{ESHOP_WAREHOUSE}" in documents(fakturownia, "estimate")

    warehouse_document(fakturownia, "pz", SECOND_WAREHOUSE, product_id(fakturownia, "MUG-01"), 4)  # stock arrives
    run_dag(ORDERS)
    assert quarantine(ledger) == {}
    assert lines(documents(fakturownia, "estimate")[f"WC-{too_many['number']}/M{SECOND_WAREHOUSE}"]) == [
        ("MUG-01", "5.0"), ("Wysyłka: Kurier", "1.0")]  # one part, from the second warehouse


def test_a_paid_split_order_gets_a_sales_document_and_payment_per_part(shop, ledger, fakturownia):
    order = split_order(shop)
    for dag_id in (ORDERS, PAYMENTS):
        assert set(task_states(run_dag(dag_id)).values()) == {"success"}

    zks, sales = documents(fakturownia, "estimate"), documents(fakturownia, "receipt")
    assert sorted(sales) == [f"WC-{order['number']}/M{w}/sale" for w in (ESHOP_WAREHOUSE, SECOND_WAREHOUSE)]
    for warehouse in (ESHOP_WAREHOUSE, SECOND_WAREHOUSE):
        zk, sale = zks[f"WC-{order['number']}/M{warehouse}"], sales[f"WC-{order['number']}/M{warehouse}/sale"]
        assert (sale["warehouse_id"], sale["from_invoice_id"], sale["price_gross"]) == (warehouse, zk["id"],
                                                                                      zk["price_gross"])
        assert (sale["status"], sale["paid"]) == ("paid", sale["price_gross"])
    payments = fakturownia.state()["payments"]
    assert sum(Decimal(p["price"]) for p in payments) == Decimal(order["total"]) and len(payments) == 2
    assert stock(fakturownia, "MUG-01") == {ESHOP_WAREHOUSE: 0, SECOND_WAREHOUSE: 1}  # each part issued its own
    assert stock(fakturownia, "BOOK-01") == {ESHOP_WAREHOUSE: 19}
    assert reserved(ledger, order) == {}
    notes = [n["note"] for n in shop.api.get(f"orders/{order['id']}/notes").json()]
    assert sorted(notes) == sorted(f"Dokument sprzedaży {s['number']} (Fakturownia)" for s in sales.values())

    writes = fakturownia.last_seq()
    for dag_id in (ORDERS, PAYMENTS):
        run_dag(dag_id)
    assert fakturownia.writes(since=writes) == []


def test_a_cancelled_split_order_rejects_every_part_once(shop, ledger, fakturownia):
    order = split_order(shop, paid=False, status="on-hold")
    run_dag(ORDERS)
    assert len(reserved(ledger, order)) == 4
    shop.set_status(order, "cancelled")

    run_dag(ORDERS)

    assert {oid: z["status"] for oid, z in documents(fakturownia, "estimate").items()} == {
        f"WC-{order['number']}/M{ESHOP_WAREHOUSE}": "rejected", f"WC-{order['number']}/M{SECOND_WAREHOUSE}": "rejected"}
    assert reserved(ledger, order) == {}
    writes = fakturownia.last_seq()
    run_dag(ORDERS)
    assert fakturownia.writes(since=writes) == []


def test_split_warehouses_may_not_name_a_warehouse_twice():
    with pytest.raises(SettingsError, match="split_warehouses names a warehouse twice"):
        parse(EshopErpSettings, {"split_warehouses": [1, 3, 1]}, "Variable erpbridge_eshop_erp")


@pytest.mark.parametrize("rate", [Decimal("0.23"), Decimal("0.08"), Decimal("0.05")])
@pytest.mark.parametrize("fraction", [Decimal(1) / 2, Decimal(1) / 3, Decimal(1) / 12])
def test_a_spread_line_keeps_its_vat_as_the_erp_reads_it_back(rate, fraction):
    """Every line net from 0.01 to 100.00 whose gross the ERP reads back (the others are refused whole): each
    part's gross read back by the ERP gives its net, so the parts' VAT add up to the line's."""
    for cents in range(1, 10001):
        net = Decimal(cents) / 100
        tax = (net * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if erp_net(net + tax, rate) != net:
            continue
        part_net, part_tax = share(net, tax, rate, fraction)
        assert erp_net(part_net + part_tax, rate) == part_net, net
        assert erp_net(net + tax - part_net - part_tax, rate) == net - part_net, net


def test_the_catalog_sells_the_stock_of_every_split_warehouse_less_what_orders_hold(shop, ledger, woocommerce,
                                                                                   fakturownia):
    def shop_stock() -> dict[str, int]:
        return {p["sku"]: p["stock_quantity"] for p in woocommerce.state()["products"] if p["manage_stock"]}

    assert run_dag(CATALOG).state == "success"
    assert (shop_stock()["MUG-01"], shop_stock()["BOOK-01"]) == (3 + 10, 20)
    split_order(shop)
    run_dag(ORDERS)
    assert run_dag(CATALOG, {"full": True}).state == "success"  # a full resync re-inflates nothing
    assert (shop_stock()["MUG-01"], shop_stock()["BOOK-01"]) == (13 - 12, 20 - 1)
