"""The demo's Horizon data through the issue 18 DAGs with the sandbox's settings, as `make demo` runs them:
last month's confirmed payroll run becomes one bank file; the demo absence of last month waits for a Severa
user with its employee code (the Severa demo's users have other codes)."""

from __future__ import annotations

import copy
import json

from include.simulators import horizon as horizon_sim
from include.simulators import severa as severa_sim
from tests.conftest import unthrottled
from tests.flows.dagrun import run_dag, task_states


def test_the_demo_pays_last_months_run_and_its_absence_waits_for_a_severa_user(airflow_db, ledger, horizon, severa,
                                                                              tmp_path, monkeypatch):
    unthrottled(severa, monkeypatch)
    horizon.seed(**copy.deepcopy(horizon_sim.DEMO_SEED))
    severa.seed(**copy.deepcopy(severa_sim.DEMO_SEED))
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_PAYMENTS", json.dumps({"bank_folder": str(tmp_path),
                                                                             "debtor_name": "SIA Demo"}))
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_SEVERA_ABSENCES", json.dumps({"absence_types": {"ATV": "VAC"}}))

    payments, absences = run_dag("horizon_payroll_payments"), run_dag("horizon_severa_absences")

    assert payments.state == absences.state == "success", (task_states(payments), task_states(absences))
    (written,) = tmp_path.iterdir()
    assert written.name.startswith(f"payroll_{horizon_sim.DEMO_SEED['payroll_runs'][0]['Period']}_")
    assert b"<CtrlSum>4225.55</CtrlSum>" in written.read_bytes()
    assert ledger.execute("SELECT reason FROM quarantine WHERE entity = 'absence'").fetchall() == [
        ("Severa has no user with code 'E1002'",)]
