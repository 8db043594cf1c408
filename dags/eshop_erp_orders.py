"""WooCommerce -> Fakturownia orders every 5 minutes: each shop order whose status means "order"
(setting `status_map`, Variable `erpbridge_eshop_erp`) becomes one customer order (ZK) in the ERP, exactly
once, with its customer card matched by NIP, else e-mail, and made when missing. An order that does not add
up to the grosz, names an unknown SKU, another currency or an invalid NIP waits in quarantine with the
reason. A cancelled order's ZK is rejected in the ERP."""

from datetime import datetime, timedelta

from airflow.sdk import Param, dag

from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.eshop_erp.tasks import import_orders, load_settings


@dag(
    dag_id="eshop_erp_orders",
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
                           description="Import only these shop order ids (empty: every order changed since "
                                       "the last run)."),
    },
)
def eshop_erp_orders():
    settings = load_settings()
    migrate_ledger() >> settings
    import_orders(settings=settings)


eshop_erp_orders()
