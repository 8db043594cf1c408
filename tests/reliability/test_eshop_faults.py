"""E-shop <-> ERP under faults and crashes (issue 16): orders -> customer orders (ZK) and paid orders -> sales
document + payment + note. With ~20% of both simulators' answers faulty, runs repeated until one succeeds leave
exactly one ZK, one sales document, one payment and one note per order, and one customer card per buyer; and
killing the task process (SIGKILL) at random moments then rerunning cleanly leaves the same. `SOAK_RECORDS` and
`CRASH_TRIALS` scale them (make soak)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

from erpbridge.ledger.store import Ledger
from tests.conftest import SECRETS
from tests.flows.dagrun import run_dag, task_states
from tests.flows.eshop_shop import ESHOP_WAREHOUSE, Shop, seed
from tests.reliability.kills import TRIALS, kill_mid_run, under_way
from tests.reliability.test_crash_consistency import _rows
from tests.reliability.test_fault_soak_flows import FAULTS, SCALE, fast_retry, until_success

ORDERS, PAYMENTS = "eshop_erp_orders", "eshop_erp_payments"
SETTINGS = {"eshop_warehouse_id": ESHOP_WAREHOUSE}
ROOT = Path(__file__).resolve().parents[2]


def place(shop: Shop, first: int, count: int) -> list[dict]:
    """``count`` paid orders from buyers that come back (every third one with the e-mail of the one before)."""
    return [shop.order({"MUG-01": 1 + n % 2, **({"BOOK-01": n % 3} if n % 3 else {})},
                       email=f"buyer{(first + n) // 3}@soak.example", shipping="15.00" if n % 2 else None)
            for n in range(count)]


def assert_each_once(fakturownia, shop: Shop, orders: list[dict]) -> None:
    state = fakturownia.state()
    oids = Counter(i["oid"] for i in state["invoices"])
    assert [oid for oid, n in oids.items() if n > 1] == [], "a duplicate ERP document"
    for order in orders:
        assert oids[f"WC-{order['number']}"] == 1 and oids[f"WC-{order['number']}/sale"] == 1, order["number"]
    sales = {i["id"]: i for i in state["invoices"] if i["oid"].endswith("/sale")}
    paid = Counter(p["invoice_id"] for p in state["payments"])
    assert paid == Counter(list(sales)), "a missing or a duplicate payment"
    assert all(i["status"] == "paid" for i in sales.values())
    totals = {i["oid"]: i["price_gross"] for i in sales.values()}
    assert totals == {f"WC-{o['number']}/sale": o["total"] for o in orders}, "totals differ"
    emails = Counter(c["email"] for c in state["clients"])
    assert [e for e, n in emails.items() if n > 1] == [], "a second customer card"
    for order in orders:
        notes = [n["note"] for n in shop.api.get(f"orders/{order['id']}/notes").json()]
        assert len(notes) == 1 and notes[0].startswith("Dokument sprzedaży "), (order["number"], notes)


def fast_shop(monkeypatch, woocommerce, fakturownia) -> None:
    """Both e-shop connections with short timeouts and few attempts (see fast_retry)."""
    creds = SECRETS["woocommerce"]
    fast_retry(monkeypatch, "woocommerce_default", {"conn_type": "woocommerce", "host": woocommerce.base,
                                                    "login": creds["consumer_key"], "password": creds["consumer_secret"]})
    fast_retry(monkeypatch, "fakturownia_default", {"conn_type": "fakturownia", "host": fakturownia.base,
                                                    "password": SECRETS["fakturownia"]["api_token"]})


def test_orders_and_payments_under_faults_move_each_order_exactly_once(airflow_db, ledger, woocommerce, fakturownia,
                                                                       monkeypatch):
    seed(woocommerce, fakturownia)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps(SETTINGS))
    fast_shop(monkeypatch, woocommerce, fakturownia)
    shop = Shop(woocommerce)
    orders = place(shop, 0, max(12, SCALE // 25))
    woocommerce.faults(**FAULTS, seed=16)
    fakturownia.faults(**FAULTS, seed=61)

    order_runs = until_success(ORDERS)
    payment_runs = until_success(PAYMENTS)

    woocommerce.admin("DELETE", "faults")
    fakturownia.admin("DELETE", "faults")
    assert_each_once(fakturownia, shop, orders)
    failed = ledger.execute("SELECT count(*) FROM transfer_log WHERE action = 'failed'").fetchone()[0]
    print(f"fault soak e-shop: {len(orders)} orders, runs orders {order_runs}, payments {payment_runs}, "
          f"failed attempts logged {failed}")


# --- kill -9 ----------------------------------------------------------------------------------------------

CHILD = """
import sys
from erpbridge.engine.run_context import LEDGER_CONN_ID
from erpbridge.flows.eshop_erp import orders as eshop_orders, payments as eshop_payments, sync as eshop_erp
from erpbridge.flows.eshop_erp.settings import EshopErpSettings
from erpbridge.hooks.fakturownia import FakturowniaHook
from erpbridge.hooks.woocommerce_shop import WooCommerceHook
from erpbridge.ledger.store import Ledger, RunContext
config = EshopErpSettings(eshop_warehouse_id=int(sys.argv[2]))
shop, erp = WooCommerceHook("woocommerce_default"), FakturowniaHook("fakturownia_default")
if sys.stdin.readline().strip() == "go":
    for flow, step in ((eshop_erp.ORDERS_FLOW, eshop_orders.import_orders),
                       (eshop_erp.PAYMENTS_FLOW, eshop_payments.import_payments)):
        ledger = Ledger.connect(flow, RunContext(flow, f"crash-trial-{sys.argv[1]}", "import", 1), LEDGER_CONN_ID)
        step(config, ledger, shop, erp)
"""


def task_process(trial: int) -> subprocess.Popen:
    """What the two DAGs' import tasks run, one after the other, when told to; its own session for the kill."""
    return subprocess.Popen([sys.executable, "-c", CHILD, str(trial), str(ESHOP_WAREHOUSE)], cwd=ROOT, env=os.environ,
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, text=True)


def test_kill_9_during_orders_and_payments_leaves_each_order_once(airflow_db, ledger, woocommerce, fakturownia,
                                                                  monkeypatch):
    seed(woocommerce, fakturownia)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps(SETTINGS))
    shop = Shop(woocommerce)
    fakturownia.faults(latency_ms=120)  # spread the transfer over seconds so the kills land inside it
    woocommerce.faults(latency_ms=30)
    migrator = Ledger.connect("-")
    migrator.migrate()
    migrator.close()
    rng = random.Random(20261130)
    placed, kills, caught = [], 0, Counter()
    ready = task_process(0)
    for trial in range(TRIALS):
        placed += place(shop, 100 + trial * 2, 2)
        proc, ready = ready, task_process(trial + 1)
        known = _rows(ledger)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        # ZK, card and sales document for two orders take a few seconds
        if kill_mid_run(proc, under_way(proc, lambda: _rows(ledger) > known), rng, 2.5):
            kills += 1
            caught.update(f"{entity}:{stage}" for entity, stage in ledger.execute(
                "SELECT entity, stage FROM document_transfer WHERE stage <> 'done'"))
    ready.stdin.close()
    ready.wait()
    woocommerce.admin("DELETE", "faults")
    fakturownia.admin("DELETE", "faults")

    for dag_id in (ORDERS, PAYMENTS):
        rerun = run_dag(dag_id)
        assert rerun.state == "success", task_states(rerun)

    assert kills >= 1, "no kill landed in a run: the test proved nothing"
    assert_each_once(fakturownia, shop, placed)
    stages = Counter(stage for (stage,) in ledger.execute("SELECT stage FROM document_transfer"))
    assert stages == Counter(done=2 * len(placed)), "the ledger does not agree with the ERP"
    print(f"crash trials e-shop: {TRIALS}, killed mid-run: {kills}, left unfinished by the kills: {dict(caught)}")
