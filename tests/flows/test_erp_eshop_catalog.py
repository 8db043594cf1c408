"""erp_eshop_catalog end to end (dag.test(), simulators over HTTP, real ledger): prices and sellable stock by SKU
through the batch endpoints, change-proportional, the reservation rule against overselling and re-inflation,
unknown SKUs in quarantine."""

from __future__ import annotations

import json

import pytest

from erpbridge.flows.eshop_erp.product_catalog import CATALOG_FLOW, sync_catalog
from erpbridge.flows.eshop_erp.settings import EshopErpSettings
from erpbridge.hooks.fakturownia import FakturowniaHook
from erpbridge.hooks.woocommerce_shop import WooCommerceHook
from erpbridge.ledger.store import Ledger
from tests.contract._support import after_first_response
from tests.flows.dagrun import run_dag, task_states
from tests.flows.eshop_shop import ESHOP_WAREHOUSE, Shop, seed

CATALOG, ORDERS = "erp_eshop_catalog", "eshop_erp_orders"
SETTINGS = {"eshop_warehouse_id": ESHOP_WAREHOUSE}


@pytest.fixture
def shop(airflow_db, ledger, woocommerce, fakturownia, monkeypatch) -> Shop:
    seed(woocommerce, fakturownia)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps(SETTINGS))
    return Shop(woocommerce)


def run(dag_id: str, **conf) -> None:
    result = run_dag(dag_id, conf)
    assert set(task_states(result).values()) == {"success"}, task_states(result)


def shop_stock(woocommerce) -> dict[str, int]:
    return {p["sku"]: p["stock_quantity"] for p in woocommerce.state()["products"] if p["manage_stock"]}


def receive(fakturownia, code: str, quantity: int) -> None:
    """Goods received into the e-shop warehouse (a PZ typed in the ERP)."""
    product = next(p for p in fakturownia.state()["products"] if p["code"] == code)
    FakturowniaHook().create_warehouse_document({"kind": "pz", "warehouse_id": ESHOP_WAREHOUSE, "warehouse_actions": [
        {"product_id": product["id"], "quantity": quantity}]})


def batch_writes(woocommerce, since: int = 0) -> list[str]:
    return [r["path"] for r in woocommerce.writes(since) if r["path"].endswith("/batch")]


def test_prices_and_stock_go_to_products_and_variations_then_only_what_changed(shop, woocommerce, fakturownia):
    run(CATALOG)
    products = {p["sku"]: p for p in woocommerce.state()["products"]}
    assert shop_stock(woocommerce) == {"MUG-01": 20, "BOOK-01": 20, "CAKE-01": 20, "TEE-M": 10, "TEE-L": 10}
    erp = {p["code"]: p for p in fakturownia.state()["products"]}
    assert {s: products[s]["regular_price"] for s in ("MUG-01", "TEE-M")} == {
        "MUG-01": erp["MUG-01"]["price_net"], "TEE-M": erp["TEE-M"]["price_net"]}
    assert sorted(batch_writes(woocommerce)) == sorted([
        "/wp-json/wc/v3/products/batch", f"/wp-json/wc/v3/products/{products['TEE']['id']}/variations/batch"])

    seq = woocommerce.last_seq()
    run(CATALOG)
    assert batch_writes(woocommerce, seq) == []  # nothing changed in the ERP: nothing written
    receive(fakturownia, "TEE-L", 5)
    seq = woocommerce.last_seq()
    run(CATALOG)
    assert shop_stock(woocommerce)["TEE-L"] == 15
    assert batch_writes(woocommerce, seq) == [f"/wp-json/wc/v3/products/{products['TEE']['id']}/variations/batch"]


def test_sold_but_not_issued_stock_is_never_re_inflated(shop, woocommerce, fakturownia):
    run(CATALOG)
    shop.order({"MUG-01": 2})  # paid, the shop took 2; the ERP has issued nothing yet
    shop.order({"MUG-01": 1}, paid=False, status="on-hold")
    assert shop_stock(woocommerce)["MUG-01"] == 17
    receive(fakturownia, "MUG-01", 1)
    run(CATALOG)  # before the orders flow read them: the orders are still held
    assert shop_stock(woocommerce)["MUG-01"] == 21 - 3
    run(ORDERS)
    run(CATALOG, full=True)  # a full resync: ERP 21 minus the 3 held in reservations
    assert shop_stock(woocommerce)["MUG-01"] == 18


def test_an_order_placed_during_the_write_is_not_oversold(shop, ledger, woocommerce, fakturownia):
    run(CATALOG)
    receive(fakturownia, "MUG-01", 2)  # ERP 22
    config = EshopErpSettings(**SETTINGS)
    hook = WooCommerceHook()
    # a customer buys 3 mugs right after the catalog last looked for new orders, before its write lands
    after_first_response(hook, lambda: shop.order({"MUG-01": 3}),
                         when=lambda r: r.request.method == "GET" and "/orders" in r.request.url)
    counts = sync_catalog(config, Ledger(ledger, CATALOG_FLOW), shop=hook, erp=FakturowniaHook())
    assert counts["rewritten"] == 1
    assert shop_stock(woocommerce)["MUG-01"] == 22 - 3


def test_a_sku_the_shop_lacks_waits_in_quarantine(shop, ledger, woocommerce, fakturownia):
    fakturownia.seed(products=[{"name": "Nowość", "code": "NEW-01", "price_gross": "10.00", "tax": "23",
                                "stock": {"1": 4}}])
    run(CATALOG)
    reasons = dict(ledger.execute("SELECT source_id, reason FROM quarantine WHERE flow = %s", (CATALOG,)).fetchall())
    assert reasons == {"NEW-01": "SKU NEW-01: the ERP has product 'Nowość' with this code but the shop has no "
                                 "product or variation with this SKU; add it in the shop"}
    assert shop_stock(woocommerce)["MUG-01"] == 20  # the rest went on
    shop.api.post("products", {"name": "Nowość", "sku": "NEW-01", "regular_price": "1.00", "manage_stock": True,
                               "stock_quantity": 0})
    run(CATALOG)  # the shop has it now: written although the ERP did not change it
    assert shop_stock(woocommerce)["NEW-01"] == 4
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_change_proportional_with_many_skus(shop, woocommerce, fakturownia):
    """Benchmark P7's shape at a test's size: many SKUs, 200 changed -> 2 batch writes, 3 ERP pages read."""
    count = 1500
    woocommerce.seed(products=[{"name": f"P{i}", "sku": f"BULK-{i:05}", "regular_price": "1.00",
                                "manage_stock": True, "stock_quantity": 1} for i in range(count)])
    fakturownia.seed(products=[{"name": f"P{i}", "code": f"BULK-{i:05}", "price_gross": "1.23", "tax": "23",
                                "stock": {"1": 1}, "updated_at": "2026-01-02T08:00:00+00:00"} for i in range(count)])
    run(CATALOG)
    ids = {p["code"]: p["id"] for p in fakturownia.state()["products"]}
    FakturowniaHook().create_warehouse_document({"kind": "pz", "warehouse_id": ESHOP_WAREHOUSE, "warehouse_actions": [
        {"product_id": ids[f"BULK-{i * (count // 200):05}"], "quantity": 5} for i in range(200)]})
    shop_seq, erp_seq = woocommerce.last_seq(), fakturownia.last_seq()
    run(CATALOG)
    assert len(batch_writes(woocommerce, shop_seq)) == 2
    # the 200 changed products: two full pages, and the short (empty) one that ends the list
    assert len([r for r in fakturownia.requests(erp_seq) if r["path"] == "/products.json"]) == 3
    assert [r["path"] for r in woocommerce.requests(shop_seq) if r["method"] == "GET"] == ["/wp-json/wc/v3/orders"] * 2
    assert shop_stock(woocommerce)["BULK-00000"] == 6
