"""Tasks every flow starts with (ledger migrations, the settings checked), and the ``retry_records`` Param the register DAGs share."""

from __future__ import annotations

import logging

from airflow.sdk import Param, task

from erpbridge.engine.run_context import LEDGER_CONN_ID, Scope

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


@task
def load_settings(scope: dict) -> dict:
    """Validate the company's settings of the flow before anything moves; a bad key fails the run naming it."""
    loaded = Scope.of(scope).load_settings()
    log.info("settings: %s", loaded.model_dump_json())
    return loaded.model_dump(mode="json")


def retry_records_param() -> Param:
    """A register DAG's ``retry_records``: run just these records (the control room's "Retry now")."""
    return Param([], type=["null", "array"],
                 items={"type": "object", "required": ["entity", "source_id"],
                        "properties": {"entity": {"type": "string"}, "source_id": {"type": "string"}}},
                 description="Retry just these records (the control room's \"retry now\"), e.g. "
                             "[{\"entity\": \"customer\", \"source_id\": \"...\"}]; empty: a "
                             "normal pass. Watermarks stay as they are.")


def retry_ids(records: list[dict] | None) -> dict[str, list[str]] | None:
    """The ``retry_records`` param as {entity: [source id, ...]}; None when the run is a normal pass."""
    if not records:
        return None
    by_entity: dict[str, list[str]] = {}
    for record in records:
        by_entity.setdefault(str(record["entity"]), []).append(str(record["source_id"]))
    return by_entity
