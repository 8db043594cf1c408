"""Tasks of ``saldeo_accounting_export``: the settings checked, then one export run for the company."""

from __future__ import annotations

import logging

from airflow.sdk import task

from erpbridge.engine.run_context import LEDGER_CONN_ID, run_context

log = logging.getLogger(__name__)


@task
def load_settings() -> dict:
    """Validate the flow's settings before anything moves; a bad key fails the run naming it."""
    from erpbridge import settings
    from erpbridge.flows.accounting_exchange.settings import SETTINGS_VARIABLE, AccountingExportSettings

    loaded = settings.load(AccountingExportSettings, SETTINGS_VARIABLE)
    log.info("settings: %s", loaded.model_dump_json())
    return loaded.model_dump(mode="json")


@task
def export_documents(settings: dict, params: dict | None = None) -> dict:
    """The documents marked for export in SaldeoSMART -> one exchange file in the destination -> marked in the hub
    (or, with ``reexport_month``, that month's files written again as they were)."""
    from airflow.sdk import Connection

    from erpbridge import settings as settings_module
    from erpbridge.flows.accounting_exchange.export import FLOW, export
    from erpbridge.flows.accounting_exchange.settings import SETTINGS_VARIABLE, AccountingExportSettings
    from erpbridge.ledger.store import Ledger

    config = settings_module.parse(AccountingExportSettings, settings, SETTINGS_VARIABLE)
    hook = Connection.get(config.saldeo_conn_id).get_hook()
    ledger = Ledger.connect(FLOW, run_context(), LEDGER_CONN_ID)
    try:
        counts = export(config, ledger, hook, reexport_month=(params or {}).get("reexport_month"))
    finally:
        ledger.close()
    log.info("summary %s", counts)
    return counts
