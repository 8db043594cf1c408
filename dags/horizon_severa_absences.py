"""Visma Horizon absences -> Visma Severa activities of category Absences, every 30 minutes.

Each absence of the window around today (days_back .. days_ahead) becomes one all-day Severa activity
of the mapped type (absence_types in the Variable erpbridge_horizon_severa_absences) for the Severa
user whose code is the employee code; changed dates or type are patched, a cancelled absence is
removed, and nothing is doubled. An unmapped type, or a person or type Severa lacks, waits in the
quarantine with the reason.
"""

from datetime import datetime, timedelta

from airflow.sdk import dag

from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.horizon_severa.tasks import sync_absences


@dag(
    dag_id="horizon_severa_absences",
    schedule=timedelta(minutes=30),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["horizon", "severa", "absences"],
    doc_md=__doc__,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True},
)
def horizon_severa_absences():
    migrate_ledger() >> sync_absences()


horizon_severa_absences()
