"""Severa invoices -> Netvisor sales invoices, hourly.

Invoices in the Severa status "Ready to be sent to Netvisor" become Netvisor sales invoices (customer
and product by code, or TEMP in TEMP mode; rows with the business unit, cost centre, project and user
dimensions; credit notes as credit notes; foreign-currency invoices when both home currencies agree),
at most 30 per batch; then their Severa status becomes "Invoice sent to Netvisor". Each invoice moves
once: a crash after Netvisor accepted it is resolved on the rerun by finding it again. Settings:
`sales_invoices` in Variable `erpbridge_severa_netvisor`; with `require_approval` a person approves the
previewed batch first. Refused invoices wait in quarantine with the reason."""

# An Airflow DAG file (the dag processor's safe mode skips files that do not name both words).
from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.flows.severa_netvisor.document_tasks import document_tasks, params


@company_dags(
    "severa_netvisor_sales_invoices",
    params=params("Move only these Severa invoice numbers (empty: every ready invoice).",
                  "One invoice number to transfer again (e.g. after it was fixed); an invoice already in "
                  "Netvisor is found and adopted, never duplicated."),
)
def severa_netvisor_sales_invoices(cf: CompanyFlow):
    document_tasks(cf)


severa_netvisor_sales_invoices.for_every_company()
