"""Paid e-service payments (e.g. the Land Register portal, paid online) -> Visma Horizon, every 10 minutes.

The payer becomes a Horizon customer (a person by personal code, a company by registration number, each
checked; found before created) and each payment one paid sales invoice with the service's positions,
exactly once; a refunded payment also gets its credit note. A payment whose service is not mapped to a
Horizon article (services in the Variable erpbridge_eservice_payments_horizon), whose payer code fails
its check or whose positions do not add up waits in the quarantine with the reason. Personal codes are
shown masked. `dry_run` logs the invoices and credit notes a run would make and the payments that would
wait, and writes nothing (neither to Horizon nor to the ledger).
"""

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.eservice_horizon.tasks import invoice_payments


@company_dags(
    "eservice_payments_horizon",
    params={"dry_run": Param(False, type="boolean", description="Preview: log what would be invoiced, write nothing.")},
)
def eservice_payments_horizon(cf: CompanyFlow):
    migrate_ledger() >> invoice_payments(cf.scope())


eservice_payments_horizon.for_every_company()
