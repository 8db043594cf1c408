"""E-shop <-> ERP tasks (WooCommerce <-> Fakturownia): shop orders -> ERP customer orders, paid orders ->
sales documents and payments, refunds -> corrections, ERP products -> shop prices and stock."""

from __future__ import annotations

import logging

from airflow.sdk import task

from erpbridge.engine.run_context import LEDGER_CONN_ID, run_context

log = logging.getLogger(__name__)

SETTINGS_VARIABLE = "erpbridge_eshop_erp"


@task
def load_settings() -> dict:
    """Validate the flow's settings before anything moves; a bad key fails the run naming it."""
    from erpbridge import settings

    loaded = settings.load(settings.EshopErpSettings, SETTINGS_VARIABLE)
    log.info("settings: %s", loaded.model_dump_json())
    return loaded.model_dump(mode="json")


def _run(flow: str, settings: dict, work) -> dict:
    """``work(config, ledger)`` on the flow's ledger with the validated settings; its counts logged and returned."""
    from erpbridge import settings as settings_module
    from erpbridge.ledger.store import Ledger

    config = settings_module.parse(settings_module.EshopErpSettings, settings, SETTINGS_VARIABLE)
    ledger = Ledger.connect(flow, run_context(), LEDGER_CONN_ID)
    try:
        counts = work(config, ledger)
    finally:
        ledger.close()
    log.info("summary %s", counts)
    return counts


def _only(params: dict) -> list[str] | None:
    return [str(i) for i in params.get("order_ids") or []] or None


@task
def import_orders(settings: dict, params: dict | None = None) -> dict:
    """Every shop order changed since the last run (or the ones named) -> one ERP customer order, once."""
    from erpbridge.flows.eshop_erp import orders as eshop_orders, sync as eshop_erp

    params = params or {}
    return _run(eshop_erp.ORDERS_FLOW, settings, lambda config, ledger: eshop_orders.import_orders(
        config, ledger, only=_only(params), dry_run=bool(params.get("dry_run"))))


@task
def import_payments(settings: dict, params: dict | None = None) -> dict:
    """Every paid order changed since the last run -> its sales document and payment; refunds -> corrections."""
    from erpbridge.flows.eshop_erp import payments as eshop_payments, sync as eshop_erp

    params = params or {}
    return _run(eshop_erp.PAYMENTS_FLOW, settings, lambda config, ledger: eshop_payments.import_payments(
        config, ledger, only=_only(params), dry_run=bool(params.get("dry_run"))))


@task
def sync_catalog(settings: dict, params: dict | None = None) -> dict:
    """The ERP products changed since the last run (all with ``full``) -> prices and sellable stock in the shop."""
    from erpbridge.flows.eshop_erp import product_catalog as eshop_catalog

    params = params or {}
    return _run(eshop_catalog.CATALOG_FLOW, settings, lambda config, ledger: eshop_catalog.sync_catalog(
        config, ledger, full=bool(params.get("full")), dry_run=bool(params.get("dry_run"))))
