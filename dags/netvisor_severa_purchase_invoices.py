"""Netvisor purchase invoices -> costs on Severa projects, hourly.

Purchase invoices in the Netvisor status of setting `purchase_invoices.status` (default approved)
become costs on the Severa project named by each line's project dimension ("<number> <name>", as the
register sync creates them), one per line or one per invoice (setting `purchase_invoices.per_line`),
with the re-billing product suggested from the line's product code and its price list price as the
re-billing price. A closed or unknown project refuses the invoice with that reason (quarantine)."""

from datetime import datetime

from airflow.sdk import dag

from erpbridge.flows.severa_netvisor.document_tasks import DEFAULT_ARGS, document_tasks, params, schedule


@dag(
    dag_id="netvisor_severa_purchase_invoices",
    schedule=schedule("netvisor_severa_purchase_invoices"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["severa", "netvisor", "documents"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params=params("Move only these Netvisor purchase invoice numbers (empty: every one in the status).",
                  "One purchase invoice number to transfer again; costs already on the project are found by "
                  "their reference and not added twice."),
)
def netvisor_severa_purchase_invoices():
    document_tasks("purchase_invoices")


netvisor_severa_purchase_invoices()
