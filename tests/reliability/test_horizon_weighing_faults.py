"""horizon_weighing under ~20% faulty answers from Horizon and the weighing system (5xx, 429, timeouts, resets,
half bodies): runs repeated until one succeeds, then again once the offline station is back, leave exactly one
delivery note per order with exactly its labels (duplicates and voided ones never counted), as a fault-free
run would; and with the task process killed while notes are created, one note per order after a rerun.
`SOAK_RECORDS` and `CRASH_TRIALS` scale them (make soak)."""

from __future__ import annotations

import json
import random
from decimal import ROUND_HALF_UP, Decimal

from tests.conftest import SECRETS
from tests.flows.dagrun import run_dag
from tests.flows.hitl import run_dag_answering
from tests.flows.test_horizon_weighing import BACON, CHEESE, PRICES, label, notes, posted
from tests.reliability.kills import TRIALS, dags_test, kill_mid_run, under_way
from tests.reliability.test_crash_consistency import _rows
from tests.reliability.test_fault_soak_flows import FAULTS, SCALE, fast_retry, until_success

DAG_ID = "horizon_weighing"
ORDERS = max(12, SCALE // 20)
OFFLINE = "ST-9"


def seed(horizon, weighing) -> dict[str, list[tuple]]:
    """ORDERS orders of two packages; every third has a label posted twice, every fifth a voided one weighed
    again, every seventh one package on the offline station, every eleventh is outside the tolerance.
    Returns the expected note lines per order."""
    gtin = lambda n: CHEESE if n % 2 else BACON  # noqa: E731
    horizon.seed(sales_orders=[{"OrderNo": f"SO-{n}", "Customer": f"Customer {n}", "DeliveryDate": "2026-12-02",
                                "Status": "REGISTERED", "Weighed": True} for n in range(ORDERS)])
    horizon.seed(order_lines=[{"OrderNo": f"SO-{n}", "LineNo": "1", "ItemCode": "GOODS", "GTIN": gtin(n),
                               "Packages": "2", "Quantity": "10.000", "Price": str(PRICES[gtin(n)])}
                              for n in range(ORDERS)])
    weighing.seed(offline=[OFFLINE])
    posts, expected = [], {}
    for n in range(ORDERS):
        weights = ["5.125", "6.010"] if n % 11 == 10 else [f"5.{n % 90:03d}", "4.990"]
        first = posted(f"{n}-A", n, label(gtin(n), weights[0]))
        posts.append(first)
        if n % 3 == 0:
            posts.append(first)
        if n % 5 == 0:
            posts += [{**posted(f"{n}-V", n, label(gtin(n), "9.999")), "voided": False},
                      {**posted(f"{n}-V", n, label(gtin(n), "9.999")), "voided": True}]
        posts.append(posted(f"{n}-B", n, label(gtin(n), weights[1]), station=OFFLINE if n % 7 == 0 else "ST-1"))
        weight = sum(Decimal(w) for w in weights)
        amount = (weight * PRICES[gtin(n)]).quantize(Decimal("0.01"), ROUND_HALF_UP)
        expected[f"SO-{n}"] = [(gtin(n), 2, weight, amount)]
    weighing.seed(weighings=posts)
    return expected


def test_weighing_under_faults_converges_to_one_note_per_order_with_its_labels(airflow_db, ledger, horizon,
                                                                             weighing, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_WEIGHING", json.dumps({"tolerance_percent": 5}))
    expected = seed(horizon, weighing)
    creds = SECRETS["horizon"]
    fast_retry(monkeypatch, "visma_horizon_default", {"conn_type": "visma_horizon", "host": horizon.base,
                                                      "login": creds["username"], "password": creds["password"]})
    fast_retry(monkeypatch, "weighing_default", {"conn_type": "weighing", "host": weighing.base,
                                                 "password": SECRETS["weighing"]["api_key"]})
    horizon.faults(**FAULTS, seed=21)
    weighing.faults(**FAULTS, seed=22)

    def confirm(dag_id: str, conf) -> object:
        return run_dag_answering(dag_id, lambda asked: (["Create the delivery notes"], {}))[0]

    first = until_success(DAG_ID, run=confirm)
    weighing.seed(online=[OFFLINE])
    second = until_success(DAG_ID, run=confirm)

    horizon.admin("DELETE", "faults")
    weighing.admin("DELETE", "faults")
    faulted = sum(1 for r in horizon.requests() + weighing.requests() if r["status"] is None or r["status"] >= 400)
    assert faulted, "no fault reached the flow: the soak proved nothing"
    assert notes(horizon) == expected, "a note missing, doubled, or counting a label twice"
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    print(f"weighing soak: {ORDERS} orders, {faulted} faulty answers, DAG runs {first} then {second}")


def test_kill_9_while_delivery_notes_are_created_leaves_one_note_per_order(airflow_db, ledger, horizon, weighing):
    """The task process killed (SIGKILL) once a note's transfer has begun: before Horizon stored it, or after,
    with the answer lost. The next run finds the note by its reference or creates it: never two, none lost."""
    horizon.faults(latency_ms=80)  # spread a run over seconds so the kills land inside a note's creation
    rng = random.Random(20261130)
    expected, kills = {}, 0
    for trial in range(TRIALS):
        orders = range(trial * 3, trial * 3 + 3)
        horizon.seed(sales_orders=[{"OrderNo": f"SO-{n}", "Customer": "C", "DeliveryDate": "2026-12-02",
                                    "Status": "REGISTERED", "Weighed": True} for n in orders])
        horizon.seed(order_lines=[{"OrderNo": f"SO-{n}", "LineNo": "1", "ItemCode": "CHEESE", "GTIN": CHEESE,
                                   "Packages": "1", "Quantity": "10.000", "Price": "8.95"} for n in orders])
        weighing.seed(weighings=[posted(f"K{n}", n, label(CHEESE, "10.010")) for n in orders])
        expected |= {f"SO-{n}": [(CHEESE, 1, Decimal("10.010"), Decimal("89.59"))] for n in orders}
        begun = _rows(ledger) if trial else 0
        proc = dags_test(DAG_ID)
        kills += kill_mid_run(proc, under_way(proc, lambda: _rows(ledger) > begun), rng, 0.3)
    horizon.admin("DELETE", "faults")

    run = run_dag(DAG_ID)

    assert run.state == "success"
    assert kills >= 1, "no trial was killed mid-run: the test proved nothing"
    assert notes(horizon) == expected, "a note doubled or lost"
    found = ledger.execute("SELECT count(*) FROM transfer_log WHERE entity = 'delivery_note'"
                           " AND error_text LIKE 'found in Horizon%'").fetchone()[0]
    print(f"weighing crash trials: {TRIALS}, killed mid-run: {kills}, notes: {len(expected)}, found again by"
          f" reference after a kill: {found}")
