"""Payroll payment tasks: confirmed Horizon payroll runs -> pain.001 files in the company's bank folder."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from airflow.sdk import task
from airflow.sdk.exceptions import AirflowFailException

from erpbridge.engine.run_context import Scope, run_context

log = logging.getLogger(__name__)

WRITE = "Write the new files"
DO_NOT_WRITE = "Do not write"
OPTIONS = [WRITE, DO_NOT_WRITE]


def write_files_now(scope: dict, run=None, confirmed: dict[str, str] | None = None,
                    confirmed_by: str | None = None, *, dry_run: bool = False) -> dict:
    """Every confirmed payroll run's files (only the runs named in ``confirmed``, when given). Returns the counts
    and the files that would be second files for a run already paid (``to_confirm``); a ``dry_run`` only says
    which files would be written, are already written, held or would need a confirmation."""
    from erpbridge.engine.report import preview_table
    from erpbridge.flows.horizon_payments import sync
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.ledger.store import RunContext

    scope = Scope.of(scope)
    config = scope.load_settings()
    try:
        folder = sync.bank_folder(config.bank_folder)
    except sync.BankFolderRefused as exc:
        raise AirflowFailException(str(exc)) from None
    horizon = VismaHorizonHook(scope.conn_id("visma_horizon"))
    result = sync.Written()
    ledger = scope.ledger(run or RunContext())
    try:
        for payroll_run in horizon.confirmed_payroll_runs(date.today() - timedelta(days=config.lookback_days)):
            groups = sync.groups(payroll_run, horizon.payroll_payments(payroll_run["pk"]), config.remittance)
            for group in groups:
                if dry_run:
                    sync.preview(ledger, group, result)
                elif confirmed is None or group.key in confirmed:
                    sync.pay(ledger, group, folder, config.debtor_name, result, confirmed, confirmed_by)
    finally:
        ledger.close()
    summary = {"dry_run": dry_run, "created": result.created, "unchanged": result.unchanged, "held": result.held,
               "to_confirm": result.to_confirm, "body": sync.confirmation_body(result.to_confirm)}
    if dry_run:
        log.info("dry run, nothing written. Payment files:\n%s", preview_table(result.preview))
    written, need = ("would be written", "would need") if dry_run else ("written", "need")
    log.info("payment files: %d %s, %d already written and unchanged, %d held, %d %s a confirmation",
             result.created, written, result.unchanged, result.held, len(result.to_confirm), need)
    return summary


def write_confirmed_now(written: dict, response: dict, scope: dict, run=None) -> dict:
    """Apply the answer: write the second files exactly as shown (a run that changed again asks again)."""
    from erpbridge.flows.horizon_payments import sync
    from erpbridge.ledger.store import Outcome, RunContext

    user = response.get("responded_by_user") or {}
    by = user.get("name") if isinstance(user, dict) else str(user)
    pending = written["to_confirm"]
    if (response.get("chosen_options") or [DO_NOT_WRITE])[0] != WRITE:
        ledger = Scope.of(scope).ledger(run or RunContext()).of(sync.SYSTEM)
        try:
            ledger.log([Outcome(sync.FILE, item["key"], "skipped", item["period"], None, "NOT_CONFIRMED",
                                f"second file not written: {by} chose {DO_NOT_WRITE!r}") for item in pending])
            ledger.commit()
        finally:
            ledger.close()
        return {"written": 0, "declined": len(pending)}
    result = write_files_now(scope, run, {item["key"]: item["payments_hash"] for item in pending}, by)
    if result["to_confirm"]:
        raise AirflowFailException(f"{len(result['to_confirm'])} file(s) changed in Horizon after the confirmation"
                                   " was asked: not written; the next run asks again")
    return {"written": result["created"], "declined": 0}


@task
def write_payment_files(scope: dict, params: dict | None = None) -> dict:
    return write_files_now(scope, run_context(), dry_run=bool((params or {}).get("dry_run")))


@task.short_circuit
def second_files_to_confirm(written: dict) -> bool:
    """Only a run already paid whose payments changed goes on to a person (never from a dry run)."""
    return bool(written["to_confirm"]) and not written["dry_run"]


@task
def write_confirmed_files(written: dict, response: dict[str, Any], scope: dict) -> dict:
    return write_confirmed_now(written, response, scope, run_context())
