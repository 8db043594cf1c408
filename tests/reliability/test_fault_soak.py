"""Fault soak for flow A: with the simulators injecting faults on every kind of request, runs repeated
until they succeed leave Netvisor exactly as a fault-free run would: nothing duplicated, nothing missing,
and every failed attempt in the transfer log. `SOAK_RECORDS` scales it up (make soak)."""

from __future__ import annotations

import json
import os
from collections import Counter

from tests.conftest import SECRETS
from tests.flows.dagrun import run_dag

RECORDS = int(os.environ.get("SOAK_RECORDS", "300"))
MAX_RUNS = 25
FAULTS = {"error_rate": 0.05, "error_category": "TECHNICAL_ERROR", "rate_429": 0.05, "retry_after": 0.1,
          "timeout_rate": 0.03, "timeout_seconds": 1.5, "reset_rate": 0.03, "malformed_rate": 0.04, "seed": 7}


def customers(count: int) -> list[dict]:
    return [{"number": 1000 + i, "name": f"Soak customer {i} & Co", "email": f"c{i}@soak.example"}
            for i in range(count)]


def products(count: int) -> list[dict]:
    return [{"code": f"P{i}", "name": f"Soak product {i}", "unitPrice": {"amount": i + 0.5, "currencyCode": "EUR"},
             "vatRate": 25.5, "measurementUnit": "pcs"} for i in range(count)]


def test_faulty_runs_converge_to_the_fault_free_result(airflow_db, ledger, netvisor, severa, monkeypatch):
    creds = SECRETS["netvisor"]
    monkeypatch.setenv("AIRFLOW_CONN_NETVISOR_DEFAULT", json.dumps({
        "conn_type": "netvisor", "host": netvisor.base, "login": creds["customer_id"],
        "password": creds["customer_key"],
        "extra": {"partner_id": creds["partner_id"], "partner_key": creds["partner_key"],
                  "organisation_id": creds["organisation_id"], "backoff": 0.02, "attempts": 4, "timeout": 1}}))
    severa.configure(rate_limit_per_second=1000)
    severa.seed(customers=customers(RECORDS) + [{"number": -999, "name": "Refused for its code"}],
                products=products(RECORDS // 3), businessunits=[{"name": f"Unit {i}"} for i in range(20)])
    netvisor.faults(**FAULTS)
    severa.faults(**{**FAULTS, "error_category": "InternalError", "seed": 11})

    states = []
    for _ in range(MAX_RUNS):
        states.append(run_dag("severa_netvisor_registers").state)
        if states[-1] == "success":
            break
    netvisor.admin("DELETE", "faults")

    assert states[-1] == "success", f"no successful run in {MAX_RUNS}: {states}"
    codes = Counter(c["code"] for c in netvisor.state()["customers"])
    assert [code for code, n in codes.items() if n > 1] == [], "duplicates in Netvisor"
    assert set(codes) == {str(1000 + i) for i in range(RECORDS)}, "missing or extra customers"
    names = {c["code"]: c["name"] for c in netvisor.state()["customers"]}
    assert all(names[str(1000 + i)] == f"Soak customer {i} & Co" for i in range(RECORDS))
    product_codes = Counter(p["code"] for p in netvisor.state()["products"])
    assert product_codes == Counter(f"P{i}" for i in range(RECORDS // 3))
    units = [i["name"] for d in netvisor.state()["dimensions"] for i in d["items"]]
    assert sorted(units) == sorted(f"Unit {i}" for i in range(20))
    quarantined = ledger.execute("SELECT source_key FROM quarantine").fetchall()
    assert quarantined == [("-999",)]
    failed_rows = ledger.execute("SELECT count(*) FROM transfer_log WHERE action = 'failed'").fetchone()[0]
    assert failed_rows >= 1, "failed write attempts left no trace in the transfer log"
    print(f"soak: {RECORDS} records, runs {states}, failed attempts logged {failed_rows}")
