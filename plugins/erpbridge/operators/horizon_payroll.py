"""Flow C tasks: work time staged for review, then loaded into Horizon's payroll time import (R-C.3)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from airflow.sdk import task

from erpbridge.operators.context import LEDGER_CONN_ID, run_context

log = logging.getLogger(__name__)

FLOW = "horizon_payroll"
SETTINGS_VARIABLE = "erpbridge_horizon_payroll"
TIMEZONE = "Europe/Riga"


def _period(params: dict):
    from erpbridge.sync.payroll import as_date, previous_month

    start, end = as_date(params.get("period_start")), as_date(params.get("period_end"))
    if start is None or end is None:
        default_start, default_end = previous_month(datetime.now(ZoneInfo(TIMEZONE)).date())
        start, end = start or default_start, end or default_end
    if end < start:
        raise ValueError(f"period_end {end} is before period_start {start}")
    return start, end


def stage_now(params: dict, run=None) -> dict:
    """Read both sources for the period, validate, and stage a batch. Returns id, counts and review body."""
    from erpbridge import settings
    from erpbridge.hooks.severa import SeveraHook
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.ledger.review import PayrollReview
    from erpbridge.ledger.store import Ledger, RunContext
    from erpbridge.sync import payroll

    config = settings.load(settings.HorizonPayrollSettings, SETTINGS_VARIABLE)
    start, end = _period(params)
    inbox = Path(params.get("inbox") or config.inbox)
    rows = []
    if params.get("use_severa", True):
        rows += payroll.read_severa(SeveraHook(), start, end, config.severa_time_type, config.overtime_time_types)
    for path in payroll.csv_files(inbox, start, end):
        rows += payroll.read_csv(path)
    horizon = VismaHorizonHook()
    codes = {e["code"] for e in horizon.employees()}
    payroll.validate(rows, codes, horizon.absences(start, end), start, end, config.max_hours_per_day)
    ledger = Ledger.connect(FLOW, run or RunContext(), LEDGER_CONN_ID)
    try:
        batch_id = PayrollReview(ledger).new_batch(start, end, rows)
    finally:
        ledger.close()
    flagged = sum(1 for r in rows if r.get("flags"))
    log.info("staged batch %s for %s..%s: %d rows (%d flagged)", batch_id, start, end, len(rows), flagged)
    return {"batch_id": batch_id, "period_start": start.isoformat(), "period_end": end.isoformat(),
            "rows": len(rows), "flagged": flagged, "body": payroll.review_body(batch_id, start, end, rows)}


def load_now(staged: dict, response: dict, params: dict, run=None) -> dict:
    """Apply the reviewer's response (HITL output: chosen_options, params_input, responded_by_user)."""
    from erpbridge import settings
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.ledger.review import PayrollReview
    from erpbridge.ledger.store import Ledger, RunContext
    from erpbridge.sync import payroll

    config = settings.load(settings.HorizonPayrollSettings, SETTINGS_VARIABLE)
    decision = (response.get("chosen_options") or [payroll.REJECT])[0]
    reason = (response.get("params_input") or {}).get("reason") or None
    user = response.get("responded_by_user") or {}
    by = user.get("name") if isinstance(user, dict) else str(user)
    ledger = Ledger.connect(FLOW, run or RunContext(), LEDGER_CONN_ID)
    try:
        result = payroll.load(PayrollReview(ledger), VismaHorizonHook(), staged["batch_id"], decision, reason, by)
    finally:
        ledger.close()
    if result["status"] != "rejected":
        moved = payroll.archive_inbox(Path(params.get("inbox") or config.inbox),
                                      payroll.as_date(staged["period_start"]), payroll.as_date(staged["period_end"]))
        log.info("inbox files archived: %s", ", ".join(moved) or "none")
    log.info("batch %s: %s", staged["batch_id"], result)
    return result


@task
def stage_work_time(params: dict | None = None) -> dict:
    return stage_now(params or {}, run_context())


@task
def load_work_time(staged: dict, response: dict, params: dict | None = None) -> dict:
    return load_now(staged, response, params or {}, run_context())
