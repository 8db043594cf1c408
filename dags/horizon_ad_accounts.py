"""Visma Horizon -> Active Directory accounts every 5 minutes.

A hire gets an AD user (sAMAccountName from the name, unique, enabled from the employment start);
a termination disables it in the first run after the end date is reached or the termination is
registered; a rehire enables it again; name, department, position and manager changes follow.
Accounts are matched by employeeID (= Horizon employee code) and never deleted.
"""

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.horizon_ad.tasks import sync_accounts


@company_dags(
    "horizon_ad_accounts",
    params={
        "dry_run": Param(False, type="boolean", description="Preview: log what would change, write nothing."),
        "employee_codes": Param([], type=["null", "array"], items={"type": "string"},
                                description="Only these Horizon employee codes (empty: everything that changed)."),
    },
)
def horizon_ad_accounts(cf: CompanyFlow):
    migrate_ledger() >> sync_accounts(cf.scope())


horizon_ad_accounts.for_every_company()
