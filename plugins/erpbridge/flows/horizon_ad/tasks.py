"""Flow C tasks: Horizon employees -> Active Directory accounts (R-C.1, R-C.2)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import task

from erpbridge.engine.run_context import LEDGER_CONN_ID, run_context

log = logging.getLogger(__name__)

FLOW = "horizon_ad"
SETTINGS_VARIABLE = "erpbridge_horizon_ad"


def sync_accounts_now(params: dict, run=None, *, horizon_conn_id: str | None = None,
                      ad_conn_id: str | None = None) -> dict:
    """One pass of the account sync; ``params``: dry_run, employee_codes. Returns the counts."""
    from erpbridge import settings
    from erpbridge.engine.registry import RegistrySync
    from erpbridge.engine.report import preview_table
    from erpbridge.flows.horizon_ad.sync import build_register
    from erpbridge.hooks.active_directory import ActiveDirectoryHook
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.ledger.store import Ledger, RunContext

    config = settings.load(settings.HorizonAdSettings, SETTINGS_VARIABLE)
    today = datetime.now(ZoneInfo(config.timezone)).date()
    codes = [c.strip() for c in params.get("employee_codes") or [] if c and c.strip()] or None
    ad = ActiveDirectoryHook(ad_conn_id)
    register, target = build_register(VismaHorizonHook(horizon_conn_id), ad, today)
    ledger = Ledger.connect(FLOW, run or RunContext(), LEDGER_CONN_ID)
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
def sync_accounts(params: dict | None = None) -> dict:
    """Create, update, disable and enable AD accounts from Horizon's employee cards."""
    return sync_accounts_now(params or {}, run_context())
