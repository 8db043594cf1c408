"""Orders split per warehouse under faults (issue 16, R-D.5): with ~20% of both simulators' answers faulty, runs
repeated until one succeeds leave each order's parts (one customer order per warehouse) exactly once, each with
exactly one sales document and payment, the parts adding up to the order, and no warehouse issuing stock it does
not have. A split survives a failed attempt unchanged: the order's holds per warehouse keep it."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal

from tests.conftest import SECRETS
from tests.flows.eshop_shop import ESHOP_WAREHOUSE, Shop, seed
from tests.flows.test_eshop_erp_split import SECOND_WAREHOUSE, product_id, stock, warehouse_document
from tests.reliability.test_eshop_faults import ORDERS, PAYMENTS, place
from tests.reliability.test_fault_soak_flows import FAULTS, SCALE, fast_retry, until_success

MUGS_FIRST, MUGS_SECOND = 5, 40  # MUG-01 in the e-shop warehouse and the second: the first runs out early


def test_split_orders_under_faults_move_each_part_exactly_once(airflow_db, ledger, woocommerce, fakturownia,
                                                               monkeypatch):
    seed(woocommerce, fakturownia)
    fakturownia.seed(warehouses=[{"id": SECOND_WAREHOUSE, "name": "Magazyn Poznań"}])
    mug = product_id(fakturownia, "MUG-01")
    warehouse_document(fakturownia, "wz", ESHOP_WAREHOUSE, mug, 20 - MUGS_FIRST)
    warehouse_document(fakturownia, "pz", SECOND_WAREHOUSE, mug, MUGS_SECOND)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps({
        "eshop_warehouse_id": ESHOP_WAREHOUSE, "split_warehouses": [ESHOP_WAREHOUSE, SECOND_WAREHOUSE]}))
    creds = SECRETS["woocommerce"]
    fast_retry(monkeypatch, "woocommerce_default", {"conn_type": "woocommerce", "host": woocommerce.base,
                                                    "login": creds["consumer_key"], "password": creds["consumer_secret"]})
    fast_retry(monkeypatch, "fakturownia_default", {"conn_type": "fakturownia", "host": fakturownia.base,
                                                    "password": SECRETS["fakturownia"]["api_token"]})
    shop = Shop(woocommerce)
    orders = place(shop, 0, max(12, SCALE // 25))
    woocommerce.faults(**FAULTS, seed=17)
    fakturownia.faults(**FAULTS, seed=71)

    order_runs = until_success(ORDERS)
    payment_runs = until_success(PAYMENTS)

    woocommerce.admin("DELETE", "faults")
    fakturownia.admin("DELETE", "faults")
    state = fakturownia.state()
    oids = Counter(i["oid"] for i in state["invoices"])
    assert [oid for oid, n in oids.items() if n > 1] == [], "a duplicate ERP document"
    zks = {i["oid"]: i for i in state["invoices"] if i["kind"] == "estimate"}
    sales = {i["oid"]: i for i in state["invoices"] if i["kind"] == "receipt"}
    assert sorted(sales) == sorted(f"{oid}/sale" for oid in zks), "a part without its one sales document"
    assert Counter(p["invoice_id"] for p in state["payments"]) == Counter(i["id"] for i in sales.values())
    mugs_from: dict[int, int] = defaultdict(int)
    for order in orders:
        parts = [zk for oid, zk in zks.items() if oid.startswith(f"WC-{order['number']}/M")]
        assert parts, order["number"]
        assert sum(Decimal(zk["price_gross"]) for zk in parts) == Decimal(order["total"]), order["number"]
        ordered = Counter({line["sku"]: line["quantity"] for line in order["line_items"]})
        got = Counter()
        for zk in parts:
            for position in zk["positions"]:
                if position["code"]:
                    got[position["code"]] += int(Decimal(position["quantity"]))
                    if position["code"] == "MUG-01":
                        mugs_from[zk["warehouse_id"]] += int(Decimal(position["quantity"]))
        assert got == ordered, order["number"]
    assert mugs_from[ESHOP_WAREHOUSE] == MUGS_FIRST and mugs_from[SECOND_WAREHOUSE] > 0  # the first ran out
    assert all(level >= 0 for level in stock(fakturownia, "MUG-01").values()), "a warehouse issued what it lacked"
    print(f"fault soak split orders: {len(orders)} orders, {len(zks)} parts, runs orders {order_runs}, "
          f"payments {payment_runs}")
