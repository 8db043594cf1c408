"""Netvisor purchase invoices -> costs on Severa projects, hourly.

Purchase invoices in the Netvisor status of setting `purchase_invoices.status` (default approved)
become costs on the Severa project named by each line's project dimension ("<number> <name>", as the
register sync creates them), one per line or one per invoice (setting `purchase_invoices.per_line`),
with the re-billing product suggested from the line's product code and its price list price as the
re-billing price. A closed or unknown project refuses the invoice with that reason (quarantine)."""

# An Airflow DAG file (the dag processor's safe mode skips files that do not name both words).
from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.flows.severa_netvisor.document_tasks import document_tasks, params


@company_dags(
    "netvisor_severa_purchase_invoices",
    params=params("Move only these Netvisor purchase invoice numbers (empty: every one in the status).",
                  "One purchase invoice number to transfer again; costs already on the project are found by "
                  "their reference and not added twice."),
)
def netvisor_severa_purchase_invoices(cf: CompanyFlow):
    document_tasks(cf)


netvisor_severa_purchase_invoices.for_every_company()
