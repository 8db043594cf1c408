"""Severa invoices -> Netvisor sales invoices, hourly.

Invoices in the Severa status "Ready to be sent to Netvisor" become Netvisor sales invoices (customer
and product by code, or TEMP in TEMP mode; rows with the business unit, cost centre, project and user
dimensions; credit notes as credit notes; foreign-currency invoices when both home currencies agree),
at most 30 per batch; then their Severa status becomes "Invoice sent to Netvisor". Each invoice moves
once: a crash after Netvisor accepted it is resolved on the rerun by finding it again. Settings:
`sales_invoices` in Variable `erpbridge_severa_netvisor`; with `require_approval` a person approves the
previewed batch first. Refused invoices wait in quarantine with the reason."""

from datetime import datetime

from airflow.sdk import dag

from erpbridge.flows.severa_netvisor.document_tasks import DEFAULT_ARGS, document_tasks, params, schedule


@dag(
    dag_id="severa_netvisor_sales_invoices",
    schedule=schedule("severa_netvisor_sales_invoices"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["severa", "netvisor", "documents"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params=params("Move only these Severa invoice numbers (empty: every ready invoice).",
                  "One invoice number to transfer again (e.g. after it was fixed); an invoice already in "
                  "Netvisor is found and adopted, never duplicated."),
)
def severa_netvisor_sales_invoices():
    document_tasks("sales_invoices")


severa_netvisor_sales_invoices()
