"""Absence tasks: Horizon absences of the window around today -> Severa activities of category Absences."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import task

from erpbridge.engine.run_context import Scope, run_context

log = logging.getLogger(__name__)

TIMEZONE = "Europe/Riga"


def sync_absences_now(scope: dict, run=None, *, dry_run: bool = False) -> dict:
    """One pass over the window's absences; a ``dry_run`` logs the activities it would create, patch or remove and
    the absences that would wait, and writes nothing. Returns the counts."""
    from erpbridge.engine.report import preview_table
    from erpbridge.flows.horizon_severa.sync import AbsenceSync
    from erpbridge.hooks.severa import SeveraHook
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.ledger.store import RunContext

    scope = Scope.of(scope)
    config = scope.load_settings()
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    first, last = today - timedelta(days=config.days_back), today + timedelta(days=config.days_ahead)
    horizon, severa = VismaHorizonHook(scope.conn_id("visma_horizon")), SeveraHook(scope.conn_id("severa"))
    ledger = scope.ledger(run or RunContext())
    try:
        counts = AbsenceSync(horizon, severa, ledger, config.absence_types, dry_run=dry_run).run(first, last)
    finally:
        ledger.close()
    for problem in counts.problems:
        log.warning("%s: %s", "would wait in quarantine" if dry_run else "waiting in quarantine", problem)
    if dry_run:
        log.info("dry run, nothing written. Severa activities that would change:\n%s", preview_table(counts.preview))
    summary = {"dry_run": dry_run, "created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged,
               "removed": counts.removed, "waiting": counts.waiting}
    log.info("absences %s..%s: %s%s", first, last, "dry run, would be " if dry_run else "",
             ", ".join(f"{count} {action}" for action, count in summary.items() if action != "dry_run"))
    return summary


@task
def sync_absences(scope: dict, params: dict | None = None) -> dict:
    """Create, move and remove Severa absence activities as Horizon's absences are."""
    return sync_absences_now(scope, run_context(), dry_run=bool((params or {}).get("dry_run")))
