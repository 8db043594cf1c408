"""E-shop <-> ERP tasks (WooCommerce <-> Fakturownia): shop orders -> ERP customer orders, paid orders ->
sales documents and payments, refunds -> corrections, ERP products -> shop prices and stock."""

from __future__ import annotations

import logging

from airflow.sdk import task

from erpbridge.engine.run_context import Scope

log = logging.getLogger(__name__)


def _run(scope: dict, settings: dict, work) -> dict:
    """``work(config, ledger, shop, erp)`` on the flow's ledger with the validated settings and the company's
    shop and ERP; its counts logged and returned."""
    from erpbridge.hooks.fakturownia import FakturowniaHook
    from erpbridge.hooks.woocommerce_shop import WooCommerceHook

    scope = Scope.of(scope)
    config = scope.parse_settings(settings)
    shop, erp = WooCommerceHook(scope.conn_id("woocommerce")), FakturowniaHook(scope.conn_id("fakturownia"))
    ledger = scope.ledger()
    try:
        counts = work(config, ledger, shop, erp)
    finally:
        ledger.close()
    log.info("summary %s", counts)
    return counts


def _only(params: dict) -> list[str] | None:
    return [str(i) for i in params.get("order_ids") or []] or None


@task
def import_orders(settings: dict, scope: dict, params: dict | None = None) -> dict:
    """Every shop order changed since the last run (or the ones named) -> one ERP customer order, once."""
    from erpbridge.flows.eshop_erp.orders import import_orders as run

    params = params or {}
    return _run(scope, settings, lambda config, ledger, shop, erp: run(
        config, ledger, shop, erp, only=_only(params), dry_run=bool(params.get("dry_run"))))


@task
def import_payments(settings: dict, scope: dict, params: dict | None = None) -> dict:
    """Every paid order changed since the last run -> its sales document and payment; refunds -> corrections."""
    from erpbridge.flows.eshop_erp.payments import import_payments as run

    params = params or {}
    return _run(scope, settings, lambda config, ledger, shop, erp: run(
        config, ledger, shop, erp, only=_only(params), dry_run=bool(params.get("dry_run"))))


@task
def sync_catalog(settings: dict, scope: dict, params: dict | None = None) -> dict:
    """The ERP products changed since the last run (all with ``full``) -> prices and sellable stock in the shop."""
    from erpbridge.flows.eshop_erp.product_catalog import sync_catalog as run

    params = params or {}
    return _run(scope, settings, lambda config, ledger, shop, erp: run(
        config, ledger, shop, erp, full=bool(params.get("full")), dry_run=bool(params.get("dry_run"))))
