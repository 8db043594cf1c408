"""severa_netvisor_registers with the retry_records Param (the control room's "retry now"): only the
named records move, the others wait, and the watermark stays where the last full pass left it."""

from __future__ import annotations

import pytest

from tests.flows.dagrun import run_dag
from tests.flows.test_severa_netvisor_registers import BAD_CUSTOMERS, DAG_ID, GOOD_CUSTOMERS, quarantine, severa_api


@pytest.fixture
def flow(airflow_db, ledger, netvisor, severa):
    return ledger, netvisor, severa


def test_retry_records_moves_just_those_records(flow):
    ledger, netvisor, severa = flow
    guids = severa.seed(customers=BAD_CUSTOMERS)["customers"]
    assert run_dag(DAG_ID).state == "success"
    watermark = ledger.execute("SELECT value FROM watermark WHERE stream = 'customer'").fetchone()
    severa_api(severa, "PATCH", f"customers/{guids[0]}", json=[{"op": "Replace", "path": "/number", "value": 1777}])
    severa.seed(customers=GOOD_CUSTOMERS[:1])  # a new record: not part of the retry

    run = run_dag(DAG_ID, {"retry_records": [{"entity": "customer", "source_id": guids[0]}]})

    assert run.state == "success"
    assert [c["code"] for c in netvisor.state()["customers"]] == ["1777"]
    assert set(quarantine(ledger)) == {"-5"}
    assert ledger.execute("SELECT count(*) FROM transfer_log WHERE source_key = '-5'").fetchone()[0] == 1  # not retried
    assert ledger.execute("SELECT value FROM watermark WHERE stream = 'customer'").fetchone() == watermark
    assert ledger.execute("SELECT count(*) FROM transfer_log WHERE entity <> 'customer'").fetchone()[0] == 0
