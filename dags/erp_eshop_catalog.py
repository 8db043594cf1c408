"""Fakturownia -> WooCommerce catalog every 10 minutes: for each ERP product changed since the last
run, the shop product or variation with that SKU gets its price and the stock it may sell - the ERP's stock
of the e-shop warehouse minus what shop orders hold that the ERP has not issued yet - as absolute quantities
through the batch endpoints. A SKU the shop lacks waits in quarantine. `full` re-reads everything (it never
re-inflates stock that is sold but not yet issued)."""

from datetime import datetime, timedelta

from airflow.sdk import Param, dag

from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.eshop_erp.tasks import load_settings, sync_catalog


@dag(
    dag_id="erp_eshop_catalog",
    schedule=timedelta(minutes=10),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["fakturownia", "woocommerce", "eshop", "registers"],
    doc_md=__doc__,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True},
    params={
        "full": Param(False, type="boolean",
                      description="Full resync: rebuild the SKU map from the shop and write every ERP product."),
        "dry_run": Param(False, type="boolean", description="Preview: log what would be written, write nothing."),
    },
)
def erp_eshop_catalog():
    settings = load_settings()
    migrate_ledger() >> settings
    sync_catalog(settings=settings)


erp_eshop_catalog()
