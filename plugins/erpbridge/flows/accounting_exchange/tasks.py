"""Tasks of the accounting exchange: ``saldeo_accounting_export`` (one export run for the company) and
``accounting_saldeo_registers`` (one registers run)."""

from __future__ import annotations

import logging

from airflow.sdk import task

from erpbridge.engine.run_context import Scope
from erpbridge.engine.tasks import retry_ids

log = logging.getLogger(__name__)


@task
def export_documents(settings: dict, scope: dict, params: dict | None = None) -> dict:
    """The documents marked for export in SaldeoSMART -> one exchange file in the destination -> marked in the hub
    (with ``reexport_month``, that month's files written again as they were; with ``retry_records``, just those
    documents; with ``dry_run``, only logged)."""
    from airflow.sdk import Connection

    from erpbridge.flows.accounting_exchange.export import export, preview

    scope = Scope.of(scope)
    config = scope.parse_settings(settings)
    # a company without a hub company exports nothing: it needs no SaldeoSMART connection either
    hook = Connection.get(scope.conn_id("saldeo")).get_hook() if config.company_program_id else None
    ledger = scope.ledger()
    params = params or {}
    try:
        if params.get("dry_run"):
            counts = preview(config, ledger, hook, scope.settings_variable)
        else:
            counts = export(config, ledger, hook, scope.settings_variable, reexport_month=params.get("reexport_month"),
                            retry=retry_ids(params.get("retry_records")))
    finally:
        ledger.close()
    log.info("summary %s", counts)
    return counts


@task
def sync_registers(settings: dict, scope: dict, params: dict | None = None) -> dict:
    """The accounting program's registers (its EPP and Optima exports in ``source``) merged into SaldeoSMART (with
    ``retry_records``, just those items; with ``dry_run``, only logged)."""
    from airflow.sdk import Connection

    from erpbridge.flows.accounting_exchange.registers import synchronise

    scope = Scope.of(scope)
    config = scope.parse_settings(settings)
    hook = Connection.get(scope.conn_id("saldeo")).get_hook() if config.company_program_id else None
    ledger = scope.ledger()
    params = params or {}
    try:
        counts = synchronise(config, ledger, hook, scope.settings_variable, dry_run=bool(params.get("dry_run")),
                             retry=retry_ids(params.get("retry_records")))
    finally:
        ledger.close()
    log.info("summary %s", counts)
    return counts
