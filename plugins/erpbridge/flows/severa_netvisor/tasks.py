"""Flow A tasks: settings and the register syncs between Severa and Netvisor (R-A.1 .. R-A.5)."""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import task

from erpbridge.engine.run_context import LEDGER_CONN_ID, run_context
from erpbridge.engine.tasks import retry_ids

log = logging.getLogger(__name__)

FLOW = "severa_netvisor"
SETTINGS_VARIABLE = "erpbridge_severa_netvisor"
REGISTERS = ("customers", "products", "dimensions")
NETVISOR_POOL = "netvisor_default"  # one slot per Netvisor company (connection)


@task
def load_settings() -> dict:
    """Validate the flow's settings before anything moves; a bad key fails the run naming it."""
    from erpbridge import settings

    loaded = settings.load(settings.SeveraNetvisorSettings, SETTINGS_VARIABLE)
    log.info("settings: %s", loaded.model_dump_json())
    return loaded.model_dump()


@task
def sync_register(register: str, settings: dict, params: dict | None = None) -> dict:
    """Sync one register in its configured direction; returns the counts (shown in XCom)."""
    from erpbridge import settings as settings_module
    from erpbridge.engine.registry import RegistrySync
    from erpbridge.engine.report import preview_table
    from erpbridge.flows.severa_netvisor.registers import build_registers, check_temp_records
    from erpbridge.ledger.store import Ledger

    params = params or {}
    if register not in (params.get("registers") or REGISTERS):
        log.info("%s: not selected for this run", register)
        return {}
    config = settings_module.parse(settings_module.SeveraNetvisorSettings, settings, SETTINGS_VARIABLE)
    check_temp_records(register, config)
    ledger = Ledger.connect(FLOW, run_context(), LEDGER_CONN_ID)
    retry = retry_ids(params.get("retry_records"))
    counts: dict[str, int] = {}
    try:
        for reg in build_registers(register, config):
            if retry is not None and reg.entity not in retry:
                continue
            sync = RegistrySync(reg, ledger, full=bool(params.get("full_resync")), dry_run=bool(params.get("dry_run")),
                                overlap=timedelta(minutes=config.watermark_overlap_minutes),
                                only=None if retry is None else retry[reg.entity])
            result = sync.run()
            if params.get("dry_run"):
                log.info("dry run, nothing written. %s would change:\n%s", reg.entity, preview_table(result.preview))
            counts.update({f"{reg.entity}.{k}": v for k, v in result.counts.items()})
            log.info("summary %s", result.summary())
    finally:
        ledger.close()
    return counts

