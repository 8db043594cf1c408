"""Flow C tasks: Horizon employees -> Active Directory accounts (R-C.1, R-C.2)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import task

from erpbridge.engine.run_context import Scope, run_context

log = logging.getLogger(__name__)


def sync_accounts_now(params: dict, scope: dict, run=None) -> dict:
    """One pass of the account sync; ``params``: dry_run, employee_codes. Returns the counts."""
    from erpbridge.engine.registry import RegistrySync
    from erpbridge.engine.report import preview_table
    from erpbridge.flows.horizon_ad.sync import build_register
    from erpbridge.hooks.active_directory import ActiveDirectoryHook
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.ledger.store import RunContext

    scope = Scope.of(scope)
    config = scope.load_settings()
    today = datetime.now(ZoneInfo(config.timezone)).date()
    codes = [c.strip() for c in params.get("employee_codes") or [] if c and c.strip()] or None
    ad = ActiveDirectoryHook(scope.conn_id("active_directory"))
    register, target = build_register(VismaHorizonHook(scope.conn_id("visma_horizon")), ad, today)
    ledger = scope.ledger(run or RunContext())
    try:
        result = RegistrySync(register, ledger, dry_run=bool(params.get("dry_run")), only=codes,
                              overlap=timedelta(minutes=config.watermark_overlap_minutes)).run()
    finally:
        ledger.close()
        ad.close()
    if params.get("dry_run"):
        log.info("dry run, nothing written. Accounts that would change:\n%s", preview_table(result.preview))
    log.info("summary %s", result.summary())
    return {**dict(result.counts), "actions": target.actions}


@task
def sync_accounts(scope: dict, params: dict | None = None) -> dict:
    """Create, update, disable and enable AD accounts from Horizon's employee cards."""
    return sync_accounts_now(params or {}, scope, run_context())
