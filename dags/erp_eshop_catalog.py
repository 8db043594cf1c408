"""Fakturownia -> WooCommerce catalog every 10 minutes: for each ERP product changed since the last
run, the shop product or variation with that SKU gets its price and the stock it may sell - the ERP's stock
of the e-shop warehouse minus what shop orders hold that the ERP has not issued yet - as absolute quantities
through the batch endpoints. A SKU the shop lacks waits in quarantine. `full` re-reads everything (it never
re-inflates stock that is sold but not yet issued)."""

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import load_settings, migrate_ledger
from erpbridge.flows.eshop_erp.tasks import sync_catalog


@company_dags(
    "erp_eshop_catalog",
    params={
        "full": Param(False, type="boolean",
                      description="Full resync: rebuild the SKU map from the shop and write every ERP product."),
        "dry_run": Param(False, type="boolean", description="Preview: log what would be written, write nothing."),
    },
)
def erp_eshop_catalog(cf: CompanyFlow):
    settings = load_settings(cf.scope())
    migrate_ledger() >> settings
    sync_catalog(settings=settings, scope=cf.scope())


erp_eshop_catalog.for_every_company()
