"""What tasks read from the Airflow context: the run's identity for the transfer log."""

from __future__ import annotations

LEDGER_CONN_ID = "erpbridge_ledger"


def run_context():
    """The current task run as a RunContext for the ledger."""
    from airflow.sdk import get_current_context

    from erpbridge.ledger.store import RunContext

    ti = get_current_context()["ti"]
    return RunContext(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, try_number=ti.try_number)
