"""WooCommerce -> Fakturownia orders every 5 minutes: each shop order whose status means "order"
(setting `status_map`, Variable `erpbridge_eshop_erp`) becomes one customer order (ZK) in the ERP, exactly
once, with its customer card matched by NIP, else e-mail, and made when missing. An order that does not add
up to the grosz, names an unknown SKU, another currency or an invalid NIP waits in quarantine with the
reason. A cancelled order's ZK is rejected in the ERP."""

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import load_settings, migrate_ledger
from erpbridge.flows.eshop_erp.tasks import import_orders


@company_dags(
    "eshop_erp_orders",
    params={
        "dry_run": Param(False, type="boolean", description="Preview: log what would move, write nothing."),
        "order_ids": Param([], type=["null", "array"], items={"type": "integer"}, uniqueItems=True,
                           description="Import only these shop order ids (empty: every order changed since "
                                       "the last run)."),
    },
)
def eshop_erp_orders(cf: CompanyFlow):
    settings = load_settings(cf.scope())
    migrate_ledger() >> settings
    import_orders(settings=settings, scope=cf.scope())


eshop_erp_orders.for_every_company()
