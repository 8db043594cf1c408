"""Severa travel invoices -> Netvisor travel expenses, hourly.

Numbered travel invoices in a moving status (setting `travel_invoices.statuses`, default Approved;
never Draft, Rejected or "Transferred to Netvisor") become Netvisor travel expenses of the employee
with the same code (a code starting with 0 is refused), one line per reimbursable expense (so each
per-diem is its own line) with the wage type = Severa's expense code, the business unit and project
dimensions, and the travel invoice's PDF; then the Severa status becomes "Transferred to Netvisor".
A travel invoice with only non-reimbursable costs is skipped with that reason (transfer log)."""

from datetime import datetime

from airflow.sdk import dag

from erpbridge.flows.severa_netvisor.document_tasks import DEFAULT_ARGS, document_tasks, params, schedule


@dag(
    dag_id="severa_netvisor_travel_invoices",
    schedule=schedule("severa_netvisor_travel_invoices"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["severa", "netvisor", "documents"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params=params("Move only these travel invoice numbers (empty: every one in a moving status).",
                  "One travel invoice number to transfer again; one already in Netvisor is found and adopted."),
)
def severa_netvisor_travel_invoices():
    document_tasks("travel_invoices")


severa_netvisor_travel_invoices()
