"""Absence tasks: Horizon absences of the window around today -> Severa activities of category Absences."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import task

from erpbridge.engine.run_context import LEDGER_CONN_ID, run_context

log = logging.getLogger(__name__)

FLOW = "horizon_severa_absences"
SETTINGS_VARIABLE = "erpbridge_horizon_severa_absences"
TIMEZONE = "Europe/Riga"


def sync_absences_now(run=None) -> dict:
    from erpbridge import settings
    from erpbridge.flows.horizon_severa.sync import AbsenceSync
    from erpbridge.hooks.severa import SeveraHook
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.ledger.store import Ledger, RunContext

    config = settings.load(settings.HorizonSeveraAbsencesSettings, SETTINGS_VARIABLE)
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    first, last = today - timedelta(days=config.days_back), today + timedelta(days=config.days_ahead)
    ledger = Ledger.connect(FLOW, run or RunContext(), LEDGER_CONN_ID)
    try:
        counts = AbsenceSync(VismaHorizonHook(), SeveraHook(), ledger, config.absence_types).run(first, last)
    finally:
        ledger.close()
    for problem in counts.problems:
        log.warning("waiting in quarantine: %s", problem)
    summary = {"created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged,
               "removed": counts.removed, "waiting": counts.waiting}
    log.info("absences %s..%s: %s", first, last, summary)
    return summary


@task
def sync_absences() -> dict:
    """Create, move and remove Severa absence activities as Horizon's absences are."""
    return sync_absences_now(run_context())
