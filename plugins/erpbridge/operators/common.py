"""Tasks every flow starts with."""

from __future__ import annotations

import logging

from airflow.sdk import task

from erpbridge.operators.context import LEDGER_CONN_ID

log = logging.getLogger(__name__)


@task
def migrate_ledger() -> list[str]:
    """Apply pending ledger migrations (idempotent), so a fresh database needs no manual step."""
    from erpbridge.ledger.store import Ledger

    ledger = Ledger.connect("-", conn_id=LEDGER_CONN_ID)
    try:
        applied = ledger.migrate()
    finally:
        ledger.close()
    log.info("ledger migrations applied now: %s", ", ".join(applied) or "none (up to date)")
    return applied
