"""Flow B tasks: Standard Books master data -> Envoice (R-B.2), Envoice purchase documents ->
Standard Books (R-B.4 .. R-B.6)."""

from __future__ import annotations

import logging

from airflow.sdk import task

from erpbridge.engine.run_context import Scope
from erpbridge.engine.tasks import retry_ids

log = logging.getLogger(__name__)

MODES = ("changed", "send_all", "delete_and_resend")


def _hooks(scope: Scope):
    from erpbridge.hooks.envoice import EnvoiceHook
    from erpbridge.hooks.standard_books import StandardBooksHook

    return StandardBooksHook(scope.conn_id("standard_books")), EnvoiceHook(scope.conn_id("envoice"))


@task
def prepare_master_data(scope: dict, params: dict | None = None) -> dict:
    """In ``delete_and_resend`` mode: empty Envoice's master data and forget what was sent."""
    from erpbridge.flows.standardbooks_envoice.sync import delete_envoice_master_data

    params, scope = params or {}, Scope.of(scope)
    if params.get("mode", "changed") != "delete_and_resend":
        return {}
    ledger = scope.ledger()
    try:
        deleted = delete_envoice_master_data(ledger, _hooks(scope)[1], dry_run=bool(params.get("dry_run")))
    finally:
        ledger.close()
    log.info("summary %s from Envoice: %s", "dry run, would delete" if params.get("dry_run") else "deleted",
             " ".join(f"{entity}={count}" for entity, count in deleted.items()) or "nothing")
    return {f"{entity}.deleted": count for entity, count in deleted.items()}


@task
def sync_master_data(entity: str, scope: dict, params: dict | None = None) -> dict:
    """Send one kind of master data; ``changed`` reads only what changed since the last sequence."""
    from erpbridge.engine.registry import RegistrySync
    from erpbridge.engine.report import preview_table
    from erpbridge.flows.standardbooks_envoice.sync import master_data_register

    params, scope = params or {}, Scope.of(scope)
    mode, dry_run = params.get("mode", "changed"), bool(params.get("dry_run"))
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    retry = retry_ids(params.get("retry_records"))
    if retry is not None and entity not in retry:
        log.info("%s: not among the records to retry", entity)
        return {}
    ledger = scope.ledger()
    try:
        register = master_data_register(entity, *_hooks(scope))
        result = RegistrySync(register, ledger, full=mode != "changed", dry_run=dry_run,
                              only=None if retry is None else retry[entity]).run()
    finally:
        ledger.close()
    if dry_run:
        log.info("dry run, nothing written. %s would change:\n%s", entity, preview_table(result.preview))
    log.info("summary %s", result.summary())
    return {f"{entity}.{k}": v for k, v in result.counts.items()}


@task
def transfer_documents(settings: dict, scope: dict, params: dict | None = None) -> dict:
    """Move every published Envoice document (or the ones named) into Standard Books, exactly once."""
    from erpbridge.engine.documents import DocumentTransfer
    from erpbridge.engine.report import preview_table
    from erpbridge.flows.standardbooks_envoice.sync import document_flow

    params, scope = params or {}, Scope.of(scope)
    config = scope.parse_settings(settings)
    numbers = [str(n) for n in params.get("document_numbers") or []]
    resend = str(params.get("resend") or "").strip() or None
    dry_run = bool(params.get("dry_run"))
    standard_books, envoice = _hooks(scope)
    flow = document_flow(config, envoice, standard_books, numbers, resend)
    ledger = scope.ledger()
    try:
        resend_ids = [flow.source.source_id(d) for d in flow.source.ready()] if resend else []
        result = DocumentTransfer(flow, ledger, dry_run=dry_run, resend=resend_ids).run()
    finally:
        ledger.close()
    if dry_run:
        log.info("dry run, nothing written. Documents that would move:\n%s", preview_table(result.preview))
    log.info("summary %s", result.summary())
    return dict(result.counts)
