"""No secret from the connections appears in task logs, XComs or the ledger after a run."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from tests.conftest import SECRET_VALUES
from tests.flows.dagrun import run_dag


def test_no_secret_in_logs_xcom_or_ledger(airflow_db, ledger, netvisor, severa, capfd):
    severa.seed(customers=[{"number": 1001, "name": "Visible Oy"}, {"number": -2, "name": "Refused Oy"}],
                businessunits=[{"name": "Helsinki", "code": "HEL"}])
    netvisor.faults(next_n={"count": 2, "status": 503, "category": "SYSTEM_MAINTANANCE", "message": "maintenance"})
    assert run_dag("severa_netvisor_registers").state == "success"
    netvisor.faults(next_n={"count": 50, "status": 403, "category": "AUTHENTICATION_FAILED", "message": "bad MAC"})
    assert run_dag("severa_netvisor_registers", {"full_resync": True}).state == "failed"

    output = capfd.readouterr()
    logs = "".join(p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
                   .rglob("*") if p.is_file())
    metadata = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    xcoms = " ".join(str(row) for row in metadata.execute("SELECT value FROM xcom"))
    ledger_dump = " ".join(str(row) for table in ("transfer_log", "quarantine", "id_map", "watermark")
                           for row in ledger.execute(f"SELECT * FROM {table}"))
    assert "Visible Oy" not in xcoms and "1001" in ledger_dump  # the places searched do hold the run's data
    assert "AUTHENTICATION_FAILED" in output.out + output.err + logs
    for secret in SECRET_VALUES:
        for place, text in {"task output": output.out + output.err, "log files": logs, "xcom": xcoms,
                            "ledger": ledger_dump}.items():
            assert secret not in text, f"a secret appears in the {place}"
