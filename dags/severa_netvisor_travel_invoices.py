"""Severa travel invoices -> Netvisor travel expenses, hourly.

Numbered travel invoices in a moving status (setting `travel_invoices.statuses`, default Approved;
never Draft, Rejected or "Transferred to Netvisor") become Netvisor travel expenses of the employee
with the same code (a code starting with 0 is refused), one line per reimbursable expense (so each
per-diem is its own line) with the wage type = Severa's expense code, the business unit and project
dimensions, and the travel invoice's PDF; then the Severa status becomes "Transferred to Netvisor".
A travel invoice with only non-reimbursable costs is skipped with that reason (transfer log)."""

# An Airflow DAG file (the dag processor's safe mode skips files that do not name both words).
from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.flows.severa_netvisor.document_tasks import document_tasks, params


@company_dags(
    "severa_netvisor_travel_invoices",
    params=params("Move only these travel invoice numbers (empty: every one in a moving status).",
                  "One travel invoice number to transfer again; one already in Netvisor is found and adopted."),
)
def severa_netvisor_travel_invoices(cf: CompanyFlow):
    document_tasks(cf)


severa_netvisor_travel_invoices.for_every_company()
