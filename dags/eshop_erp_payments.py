"""WooCommerce -> Fakturownia payments every 5 minutes: each paid order (setting `paid_statuses`,
Variable `erpbridge_eshop_erp`) whose customer order is in the ERP gets its sales document - a VAT invoice
when the buyer gave a NIP or asked for one (order meta `invoice_meta_key`), a receipt otherwise - issued
from the shop's warehouse, its payment registered, and the document's number written to the order as a
note. A refund becomes a correction of that document (the stock taken back). Each exactly once."""

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import load_settings, migrate_ledger
from erpbridge.flows.eshop_erp.tasks import import_payments


@company_dags(
    "eshop_erp_payments",
    params={
        "dry_run": Param(False, type="boolean", description="Preview: log what would move, write nothing."),
        "order_ids": Param([], type=["null", "array"], items={"type": "integer"}, uniqueItems=True,
                           description="Only these shop order ids (empty: every order changed since the last run)."),
    },
)
def eshop_erp_payments(cf: CompanyFlow):
    settings = load_settings(cf.scope())
    migrate_ledger() >> settings
    import_payments(settings=settings, scope=cf.scope())


eshop_erp_payments.for_every_company()
