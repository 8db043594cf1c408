"""P7 (issue 16): the e-shop flows at volume. Figures, never pass/fail.

    python -m bench.eshop                          # quick: 5,000 SKUs, 200 changed, 200 orders
    python -m bench.eshop --skus 50000 --orders 1000

Catalog: the SKUs in both simulators, a first full pass (it builds the SKU map), then `changed` ERP
products changed (one goods receipt) and the incremental pass: its batch writes, its reads of each
system, its seconds. Orders: after a first run has built the ERP product index (timed apart), `orders`
paid orders -> customer orders by the orders flow, against the
bare wire: the same orders read, each buyer's card found or made and one customer order posted each,
with plain HTTP calls and nothing else (no ledger, no checks, no product index). Figures also go to bench/results/eshop.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import requests

from bench.env import RESULTS, World, cores, setup_airflow_env

CHUNK = 1000
WAREHOUSE = 1


def connections(world: World) -> None:
    from include.simulators import fakturownia, woocommerce

    wc, fk = woocommerce.DEFAULT_CONFIG, fakturownia.DEFAULT_CONFIG
    os.environ.update({
        "AIRFLOW_CONN_WOOCOMMERCE_DEFAULT": json.dumps({
            "conn_type": "woocommerce", "host": world.urls["woocommerce"], "login": wc["consumer_key"],
            "password": wc["consumer_secret"]}),
        "AIRFLOW_CONN_FAKTUROWNIA_DEFAULT": json.dumps({
            "conn_type": "fakturownia", "host": world.urls["fakturownia"], "password": fk["api_token"]}),
    })


def seed(world: World, skus: int) -> dict[str, int]:
    """``skus`` simple products in the shop and the ERP (stock in the e-shop warehouse); shop SKU -> shop id."""
    from include.simulators.client import SimulatorAdmin
    from include.simulators.fakturownia import SEEDED_AT

    shop, erp = (SimulatorAdmin(world.urls[n], timeout=600) for n in ("woocommerce", "fakturownia"))
    erp.seed(warehouses=[{"id": WAREHOUSE, "name": "E-shop"}])
    ids: dict[str, int] = {}
    started = time.perf_counter()
    for at in range(0, skus, CHUNK):
        codes = [f"SKU-{i:06d}" for i in range(at, min(at + CHUNK, skus))]
        made = shop.seed(products=[{"name": c, "sku": c, "regular_price": "10.00", "manage_stock": True,
                                    "stock_quantity": 5} for c in codes])["products"]
        ids.update({p["sku"]: p["id"] for p in made})
        erp.seed(products=[{"name": c, "code": c, "price_gross": "12.30", "tax": "23", "stock": {str(WAREHOUSE): 5},
                            "updated_at": SEEDED_AT} for c in codes])
    print(f"  seeded {skus} SKUs in both systems in {time.perf_counter() - started:.1f} s", flush=True)
    return ids


def writes_and_reads(sim, since: int) -> dict[str, int]:
    log = sim.requests(since)
    return {"batch_writes": sum(r["method"] == "POST" and r["path"].endswith("/batch") for r in log),
            "writes": sum(r["method"] in ("POST", "PUT") for r in log),
            "reads": sum(r["method"] == "GET" for r in log)}


def catalog(world: World, skus: int, changed: int) -> dict:
    from erpbridge.flows.eshop_erp.product_catalog import CATALOG_FLOW, sync_catalog
    from erpbridge.flows.eshop_erp.settings import EshopErpSettings
    from erpbridge.hooks.fakturownia import FakturowniaHook
    from erpbridge.hooks.woocommerce_shop import WooCommerceHook
    from erpbridge.ledger.store import Ledger
    from include.simulators.client import SimulatorAdmin

    shop, erp = (SimulatorAdmin(world.urls[n], timeout=600) for n in ("woocommerce", "fakturownia"))
    seed(world, skus)
    config = EshopErpSettings(eshop_warehouse_id=WAREHOUSE)
    hooks = WooCommerceHook("woocommerce_default"), FakturowniaHook("fakturownia_default")
    ledger = Ledger.connect(CATALOG_FLOW)
    try:
        started = time.perf_counter()
        sync_catalog(config, ledger, *hooks, full=True)
        full_seconds = time.perf_counter() - started
        erp_ids = {p["code"]: p["id"] for page in hooks[1].products() for p in page}
        step = max(skus // changed, 1)
        hooks[1].create_warehouse_document({"kind": "pz", "warehouse_id": WAREHOUSE, "warehouse_actions": [
            {"product_id": erp_ids[f"SKU-{i * step:06d}"], "quantity": 1} for i in range(changed)]})
        shop_seq, erp_seq = shop.last_seq(), erp.last_seq()
        started = time.perf_counter()
        counts = sync_catalog(config, ledger, *hooks)
        seconds = time.perf_counter() - started
    finally:
        ledger.close()
    result = {"skus": skus, "changed": changed, "full_pass_s": round(full_seconds, 1),
              "incremental_s": round(seconds, 2), "written": counts.get("written", 0),
              "shop": writes_and_reads(shop, shop_seq), "erp": writes_and_reads(erp, erp_seq)}
    print(f"  catalog: {json.dumps(result)}", flush=True)
    return result


def orders(world: World, count: int) -> dict:
    from erpbridge.flows.eshop_erp.orders import import_orders
    from erpbridge.flows.eshop_erp.settings import EshopErpSettings
    from erpbridge.flows.eshop_erp.sync import ORDERS_FLOW
    from erpbridge.hooks.fakturownia import FakturowniaHook
    from erpbridge.hooks.woocommerce_shop import WooCommerceHook
    from erpbridge.ledger.store import Ledger
    from include.simulators import fakturownia
    from include.simulators.client import SimulatorAdmin

    shop, erp = (SimulatorAdmin(world.urls[n], timeout=600) for n in ("woocommerce", "fakturownia"))
    products = [p for p in shop.state()["products"]][:20]
    config = EshopErpSettings(eshop_warehouse_id=WAREHOUSE)
    hooks = WooCommerceHook("woocommerce_default"), FakturowniaHook("fakturownia_default")
    ledger = Ledger.connect(ORDERS_FLOW)
    started = time.perf_counter()
    import_orders(config, ledger, *hooks)  # no orders yet: builds the ERP product index once, as a first run does
    index_seconds = time.perf_counter() - started
    shop.seed(orders=[{"status": "processing", "set_paid": True,
                       "billing": {"first_name": "Klient", "last_name": str(i), "email": f"k{i % (count // 2 or 1)}@x.pl"},
                       "line_items": [{"product_id": products[i % len(products)]["id"], "quantity": 1 + i % 3}],
                       "shipping_lines": [{"method_id": "flat_rate", "method_title": "Kurier", "total": "15.00"}]}
                      for i in range(count)])
    try:
        started = time.perf_counter()
        counts = import_orders(config, ledger, *hooks)
        ours = time.perf_counter() - started
    finally:
        ledger.close()
    erp_seq = erp.last_seq()
    token = fakturownia.DEFAULT_CONFIG["api_token"]
    http = requests.Session()
    started = time.perf_counter()
    bare_orders, page = [], 1
    while True:
        answer = shop_get(world, http, page)
        bare_orders += answer.json()
        if page >= int(answer.headers.get("X-WP-TotalPages") or 0):
            break
        page += 1
    auth = {"Authorization": f"Bearer {token}"}
    cards: dict[str, int] = {}
    for order in bare_orders:  # the calls any integration makes: the buyer's card found or made, the ZK posted
        email = f"bare-{order['billing']['email']}"
        if email not in cards:
            found = http.get(f"{world.urls['fakturownia']}/clients.json", params={"email": email}, headers=auth,
                             timeout=60).json()
            cards[email] = found[0]["id"] if found else http.post(
                f"{world.urls['fakturownia']}/clients.json", json={"client": {"name": email, "email": email}},
                headers=auth, timeout=60).json()["id"]
        http.post(f"{world.urls['fakturownia']}/invoices.json", headers=auth,
                  timeout=60, json={"invoice": {
                      "kind": "estimate", "oid": f"BARE-{order['id']}", "oid_unique": "yes", "client_id": cards[email],
                      "positions": [{"name": line["name"], "quantity": line["quantity"], "tax": "23",
                                     "total_price_gross": line["total"]} for line in order["line_items"]]}})
    bare = time.perf_counter() - started
    result = {"orders": count, "created": counts.get("created", 0), "product_index_s": round(index_seconds, 1),
              "flow_s": round(ours, 2),
              "bare_wire_s": round(bare, 2), "ratio": round(ours / bare, 2) if bare else None,
              "erp_requests_bare": len(erp.requests(erp_seq))}
    print(f"  orders: {json.dumps(result)}", flush=True)
    return result


def shop_get(world: World, http: requests.Session, page: int) -> requests.Response:
    """One page of orders the way the bare wire reads them (the official client's OAuth 1.0a signature)."""
    from woocommerce import API

    from include.simulators import woocommerce

    config = woocommerce.DEFAULT_CONFIG
    api = API(world.urls["woocommerce"], config["consumer_key"], config["consumer_secret"], version="wc/v3", timeout=60)
    return api.get("orders", params={"per_page": 100, "page": page})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eshop", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--changed", type=int, default=200)
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args(argv)
    home = setup_airflow_env()
    print(f"erpbridge bench P7 ({cores()}, python {sys.version.split()[0]})", flush=True)
    world = World(home)
    try:
        world.start_postgres()
        world.start_simulators(("woocommerce", "fakturownia"))
        world.fresh_ledger()
        connections(world)
        results = {"catalog": catalog(world, args.skus, args.changed), "orders": orders(world, args.orders)}
    finally:
        world.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "eshop.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
