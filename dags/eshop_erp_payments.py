"""WooCommerce -> Fakturownia payments every 5 minutes: each paid order (setting `paid_statuses`,
Variable `erpbridge_eshop_erp`) whose customer order is in the ERP gets its sales document - a VAT invoice
when the buyer gave a NIP or asked for one (order meta `invoice_meta_key`), a receipt otherwise - issued
from the shop's warehouse, its payment registered, and the document's number written to the order as a
note. A refund becomes a correction of that document (the stock taken back). Each exactly once."""

from datetime import datetime, timedelta

from airflow.sdk import Param, dag

from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.eshop_erp.tasks import import_payments, load_settings


@dag(
    dag_id="eshop_erp_payments",
    schedule=timedelta(minutes=5),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["woocommerce", "fakturownia", "eshop", "documents"],
    doc_md=__doc__,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True},
    params={
        "dry_run": Param(False, type="boolean", description="Preview: log what would move, write nothing."),
        "order_ids": Param([], type=["null", "array"], items={"type": "integer"}, uniqueItems=True,
                           description="Only these shop order ids (empty: every order changed since the last run)."),
    },
)
def eshop_erp_payments():
    settings = load_settings()
    migrate_ledger() >> settings
    import_payments(settings=settings)


eshop_erp_payments()
