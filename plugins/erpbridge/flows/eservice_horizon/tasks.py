"""E-service payment tasks: paid payments -> Horizon customers, sales invoices and credit notes."""

from __future__ import annotations

import logging

from airflow.sdk import task

from erpbridge.engine.run_context import Scope, run_context

log = logging.getLogger(__name__)


def invoice_payments_now(scope: dict, run=None, *, dry_run: bool = False) -> dict:
    """One pass over the payments changed since the watermark; a ``dry_run`` logs the invoices and credit notes it
    would make and the payments that would wait, and writes nothing. Returns the counts."""
    from erpbridge.flows.eservice_horizon.sync import PaymentSync
    from erpbridge.hooks.eservice import EServiceHook
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.ledger.store import RunContext

    scope = Scope.of(scope)
    config = scope.load_settings()
    eservice, horizon = EServiceHook(scope.conn_id("eservice")), VismaHorizonHook(scope.conn_id("visma_horizon"))
    ledger = scope.ledger(run or RunContext())
    sync = PaymentSync(eservice, horizon, ledger, config)
    try:
        sync.preview() if dry_run else sync.run()
    finally:
        ledger.close()
        for problem in sync.counts.problems:
            log.warning("%s: %s", "would wait in quarantine" if dry_run else "waiting in quarantine", problem)
    counts = sync.counts
    summary = {"dry_run": dry_run, "invoices": counts.invoices, "credit_notes": counts.credit_notes,
               "customers_created": counts.customers_created, "customers_found": counts.customers_found,
               "unchanged": counts.unchanged, "waiting": counts.waiting, "not_paid": counts.not_paid}
    log.info("e-service payments%s: %s", " (dry run, would be; nothing written)" if dry_run else "", summary)
    return summary


@task
def invoice_payments(scope: dict, params: dict | None = None) -> dict:
    """Each paid e-service payment once as a paid Horizon sales invoice (a refund as its credit note)."""
    return invoice_payments_now(scope, run_context(), dry_run=bool((params or {}).get("dry_run")))
