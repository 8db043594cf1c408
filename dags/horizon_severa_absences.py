"""Visma Horizon absences -> Visma Severa activities of category Absences, every 30 minutes.

Each absence of the window around today (days_back .. days_ahead) becomes one all-day Severa activity
of the mapped type (absence_types in the Variable erpbridge_horizon_severa_absences) for the Severa
user whose code is the employee code; changed dates or type are patched, a cancelled absence is
removed, and nothing is doubled. An unmapped type, or a person or type Severa lacks, waits in the
quarantine with the reason.
"""

# (this line names airflow and dag: Airflow's safe-mode discovery only parses files that do)
from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.horizon_severa.tasks import sync_absences


@company_dags("horizon_severa_absences")
def horizon_severa_absences(cf: CompanyFlow):
    migrate_ledger() >> sync_absences(cf.scope())


horizon_severa_absences.for_every_company()
