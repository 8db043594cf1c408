"""Visma Horizon absences -> Visma Severa activities of category Absences, every 30 minutes.

Each absence of the window around today (days_back .. days_ahead) becomes one all-day Severa activity
of the mapped type (absence_types in the Variable erpbridge_horizon_severa_absences) for the Severa
user whose code is the employee code; changed dates or type are patched, a cancelled absence is
removed, and nothing is doubled. An unmapped type, or a person or type Severa lacks, waits in the
quarantine with the reason. `dry_run` logs the activities that would be created, patched or removed and
the absences that would wait, and writes nothing (neither to Severa nor to the ledger).
"""

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.horizon_severa.tasks import sync_absences


@company_dags(
    "horizon_severa_absences",
    params={"dry_run": Param(False, type="boolean", description="Preview: log what would change, write nothing.")},
)
def horizon_severa_absences(cf: CompanyFlow):
    migrate_ledger() >> sync_absences(cf.scope())


horizon_severa_absences.for_every_company()
