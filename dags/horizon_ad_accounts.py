"""Visma Horizon -> Active Directory accounts every 5 minutes.

A hire gets an AD user (sAMAccountName from the name, unique, enabled from the employment start);
a termination disables it in the first run after the end date is reached or the termination is
registered; a rehire enables it again; name, department, position and manager changes follow.
Accounts are matched by employeeID (= Horizon employee code) and never deleted.
"""

from datetime import datetime, timedelta

from airflow.sdk import Param, dag

from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.horizon_ad.tasks import sync_accounts


@dag(
    dag_id="horizon_ad_accounts",
    schedule=timedelta(minutes=5),
    start_date=datetime(2026, 1, 1),
    is_paused_upon_creation=True,  # it creates and disables accounts: an admin switches it on deliberately
    catchup=False,
    max_active_runs=1,
    tags=["horizon", "active-directory", "identity"],
    doc_md=__doc__,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True},
    params={
        "dry_run": Param(False, type="boolean", description="Preview: log what would change, write nothing."),
        "employee_codes": Param([], type=["null", "array"], items={"type": "string"},
                                description="Only these Horizon employee codes (empty: everything that changed)."),
    },
)
def horizon_ad_accounts():
    migrate_ledger() >> sync_accounts()


horizon_ad_accounts()
