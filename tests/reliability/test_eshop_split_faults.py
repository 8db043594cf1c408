"""Orders split per warehouse under faults and crashes (issue 16, R-D.5): with ~20% of both simulators' answers
faulty, runs repeated until one succeeds, and killing the task process (SIGKILL) at random moments then rerunning
cleanly, leave each order's parts (one customer order per warehouse) exactly once, each with exactly one sales
document and payment, the parts adding up to the order, and no warehouse issuing stock it does not have. A split
survives a failed or killed attempt unchanged: the order's holds per warehouse, committed with its in-flight row
before any part is posted, keep it."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter, defaultdict
from decimal import Decimal

from erpbridge.ledger.store import Ledger
from tests.flows.dagrun import run_dag, task_states
from tests.flows.eshop_shop import ESHOP_WAREHOUSE, Shop, seed
from tests.flows.test_eshop_erp_split import SECOND_WAREHOUSE, product_id, stock, warehouse_document
from tests.reliability.kills import TRIALS, kill_mid_run, under_way
from tests.reliability.test_crash_consistency import _rows
from tests.reliability.test_eshop_faults import CHILD, ORDERS, PAYMENTS, ROOT, fast_shop, place
from tests.reliability.test_fault_soak_flows import FAULTS, SCALE, until_success

MUGS_FIRST, MUGS_SECOND = 5, 60  # MUG-01 in the e-shop warehouse and the second: the first runs out early
SPLIT = [ESHOP_WAREHOUSE, SECOND_WAREHOUSE]


def two_warehouses(woocommerce, fakturownia, monkeypatch) -> Shop:
    seed(woocommerce, fakturownia)
    fakturownia.seed(warehouses=[{"id": SECOND_WAREHOUSE, "name": "Magazyn Poznań"}])
    mug = product_id(fakturownia, "MUG-01")
    warehouse_document(fakturownia, "wz", ESHOP_WAREHOUSE, mug, 20 - MUGS_FIRST)
    warehouse_document(fakturownia, "pz", SECOND_WAREHOUSE, mug, MUGS_SECOND)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps({"eshop_warehouse_id": ESHOP_WAREHOUSE,
                                                                      "split_warehouses": SPLIT}))
    return Shop(woocommerce)


def test_split_orders_under_faults_move_each_part_exactly_once(airflow_db, ledger, woocommerce, fakturownia,
                                                               monkeypatch):
    two_warehouses(woocommerce, fakturownia, monkeypatch)
    fast_shop(monkeypatch, woocommerce, fakturownia)
    shop = Shop(woocommerce)
    orders = place(shop, 0, max(12, SCALE // 25))
    woocommerce.faults(**FAULTS, seed=17)
    fakturownia.faults(**FAULTS, seed=71)

    order_runs = until_success(ORDERS)
    payment_runs = until_success(PAYMENTS)

    woocommerce.admin("DELETE", "faults")
    fakturownia.admin("DELETE", "faults")
    parts = assert_each_part_once(fakturownia, orders)
    print(f"fault soak split orders: {len(orders)} orders, {parts} parts, runs orders {order_runs}, "
          f"payments {payment_runs}")


def assert_each_part_once(fakturownia, orders: list[dict]) -> int:
    """Each order's parts, their sales documents and payments exactly once, adding up; returns how many parts."""
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
    assert 0 < mugs_from[ESHOP_WAREHOUSE] <= MUGS_FIRST and mugs_from[SECOND_WAREHOUSE] > 0  # the first ran out
    assert all(level >= 0 for level in stock(fakturownia, "MUG-01").values()), "a warehouse issued what it lacked"
    return len(zks)


def task_process(trial: int) -> subprocess.Popen:
    """The orders and payments import tasks with the split setting, one after the other when told to."""
    split_child = CHILD.replace("EshopErpSettings(eshop_warehouse_id=int(sys.argv[2]))",
                                f"EshopErpSettings(eshop_warehouse_id=int(sys.argv[2]), split_warehouses={SPLIT})")
    assert split_child != CHILD
    return subprocess.Popen([sys.executable, "-c", split_child, str(trial), str(ESHOP_WAREHOUSE)], cwd=ROOT,
                            env=os.environ, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, text=True)


def test_kill_9_during_split_orders_and_payments_leaves_each_part_once(airflow_db, ledger, woocommerce, fakturownia,
                                                                       monkeypatch):
    shop = two_warehouses(woocommerce, fakturownia, monkeypatch)
    fakturownia.faults(latency_ms=120)  # spread the transfer over seconds so the kills land inside it
    woocommerce.faults(latency_ms=30)
    migrator = Ledger.connect("-")
    migrator.migrate()
    migrator.close()
    rng = random.Random(20261201)
    placed, kills = [], 0
    ready = task_process(0)
    for trial in range(TRIALS):
        placed += place(shop, 100 + trial * 2, 2)
        proc, ready = ready, task_process(trial + 1)
        known = _rows(ledger)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        kills += kill_mid_run(proc, under_way(proc, lambda: _rows(ledger) > known), rng, 3.0)
    ready.stdin.close()
    ready.wait()
    woocommerce.admin("DELETE", "faults")
    fakturownia.admin("DELETE", "faults")

    for dag_id in (ORDERS, PAYMENTS):
        rerun = run_dag(dag_id)
        assert rerun.state == "success", task_states(rerun)

    assert kills >= 1, "no kill landed in a run: the test proved nothing"
    parts = assert_each_part_once(fakturownia, placed)
    stages = Counter(stage for (stage,) in ledger.execute("SELECT stage FROM document_transfer"))
    assert stages == Counter(done=2 * len(placed)), "the ledger does not agree with the ERP"
    print(f"crash trials split orders: {TRIALS}, killed mid-run: {kills}, {len(placed)} orders in {parts} parts")
