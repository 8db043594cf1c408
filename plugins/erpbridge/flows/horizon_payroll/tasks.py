"""Flow C tasks: work time staged for review, then loaded into Horizon's payroll time import (R-C.3)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import task
from airflow.sdk.exceptions import AirflowFailException

from erpbridge.engine.run_context import Scope, run_context

log = logging.getLogger(__name__)

TIMEZONE = "Europe/Riga"


def _period(params: dict):
    from erpbridge.flows.horizon_payroll.sync import as_date, previous_month

    start, end = as_date(params.get("period_start")), as_date(params.get("period_end"))
    if start is None or end is None:
        default_start, default_end = previous_month(datetime.now(ZoneInfo(TIMEZONE)).date())
        start, end = start or default_start, end or default_end
    if end < start:
        raise ValueError(f"period_end {end} is before period_start {start}")
    return start, end


def stage_now(params: dict, scope: Scope, run=None) -> dict:
    """Read both sources for the period, validate, and stage a batch. Returns id, counts, the inbox files read
    and the review body."""
    from erpbridge.flows.horizon_payroll import sync as payroll
    from erpbridge.hooks.severa import SeveraHook
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.ledger.review import PayrollReview
    from erpbridge.ledger.store import RunContext

    config = scope.load_settings()
    start, end = _period(params)
    try:
        inbox = payroll.inbox_folder(params.get("inbox"), config.inbox_roots)
    except payroll.InboxRefused as exc:
        raise AirflowFailException(str(exc)) from None
    rows = []
    if params.get("use_severa", True):
        rows += payroll.read_severa(SeveraHook(scope.conn_id("severa")), start, end, config.severa_time_type, config.overtime_time_types)
    files, skipped = payroll.csv_files(inbox, start, end)
    for path in files:
        rows += payroll.read_csv(path)
    horizon = VismaHorizonHook(scope.conn_id("visma_horizon"))
    codes = {e["code"] for e in horizon.employees()}
    payroll.validate(rows, codes, horizon.absences(start, end), start, end, config.max_hours_per_day)
    ledger = scope.ledger(run or RunContext())
    try:
        review = PayrollReview(ledger)
        batch_id = review.new_batch(start, end, rows)
        removals = sorted(review.loaded_keys(start, end, batch_id) - payroll.loadable_keys(rows))
    finally:
        ledger.close()
    flagged = sum(1 for r in rows if r.get("flags"))
    names = [str(path.relative_to(inbox)) for path in files]
    sources = (["Severa hour entries"] if params.get("use_severa", True) else []) + \
        [f"{inbox}: {', '.join(names) or 'no CSV files'}"] + [f"not read: {reason}" for reason in skipped]
    log.info("staged batch %s for %s..%s: %d rows (%d flagged), %d entries loaded earlier not in it; %s",
             batch_id, start, end, len(rows), flagged, len(removals), "; ".join(sources))
    return {"batch_id": batch_id, "period_start": start.isoformat(), "period_end": end.isoformat(),
            "rows": len(rows), "flagged": flagged, "removals": len(removals), "inbox": str(inbox),
            "files": {name: payroll.fingerprint(inbox / name) for name in names if "/" not in name},
            "body": payroll.review_body(batch_id, start, end, rows, removals, sources)}


def load_now(staged: dict, response: dict, params: dict, scope: Scope, run=None) -> dict:
    """Apply the reviewer's response (HITL output: chosen_options, params_input, responded_by_user)."""
    from erpbridge.flows.horizon_payroll import sync as payroll
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.ledger.review import PayrollReview
    from erpbridge.ledger.store import RunContext

    config = scope.load_settings()
    answers = response.get("params_input") or {}
    decision = (response.get("chosen_options") or [payroll.REJECT])[0]
    reason = answers.get("reason") or None
    user = response.get("responded_by_user") or {}
    by = user.get("name") if isinstance(user, dict) else str(user)
    ledger = scope.ledger(run or RunContext())
    try:
        result = payroll.load(PayrollReview(ledger), VismaHorizonHook(scope.conn_id("visma_horizon")), staged["batch_id"], decision, reason, by,
                              bool(answers.get("confirm_removal")), config.max_removal_share)
    except payroll.RemovalNotConfirmed as exc:
        raise AirflowFailException(str(exc)) from None
    finally:
        ledger.close()
    if result["status"] != "rejected":
        moved = payroll.archive_inbox(Path(staged["inbox"]), payroll.as_date(staged["period_start"]),
                                      payroll.as_date(staged["period_end"]), staged["files"])
        log.info("inbox files archived: %s", ", ".join(moved) or "none")
    log.info("batch %s: %s", staged["batch_id"], result)
    return result


class WorkTimeReview(HITLOperator):
    """The reviewer's decision; a rejection or an approval that leaves flagged rows out needs a reason: without
    one the answer is refused (the task fails with that message and its retry asks again)."""

    NEEDS_REASON = ("Reject", "Approve excluding flagged rows")  # erpbridge.flows.horizon_payroll.sync REJECT, APPROVE_EXCLUDING

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        chosen = event.get("chosen_options") or []
        if "error" not in event and set(chosen) & set(self.NEEDS_REASON) \
                and not str((event.get("params_input") or {}).get("reason") or "").strip():
            raise ValueError(f"{chosen[0]!r} needs a reason: answer again with the reason filled in")
        return super().execute_complete(context, event)


@task
def stage_work_time(scope: dict, params: dict | None = None) -> dict:
    return stage_now(params or {}, Scope.of(scope), run_context())


@task
def load_work_time(staged: dict, response: dict, scope: dict, params: dict | None = None) -> dict:
    return load_now(staged, response, params or {}, Scope.of(scope), run_context())
