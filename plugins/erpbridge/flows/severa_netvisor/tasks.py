"""Flow A tasks: settings and the register syncs between Severa and Netvisor (R-A.1 .. R-A.5)."""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import task

from erpbridge.engine.run_context import Scope
from erpbridge.engine.tasks import retry_ids

log = logging.getLogger(__name__)

REGISTERS = ("customers", "products", "dimensions")


@task
def sync_register(register: str, settings: dict, scope: dict, params: dict | None = None) -> dict:
    """Sync one register in its configured direction; returns the counts (shown in XCom)."""
    from erpbridge.engine.registry import RegistrySync
    from erpbridge.engine.report import preview_table
    from erpbridge.flows.severa_netvisor.registers import build_registers, check_temp_records
    from erpbridge.hooks.netvisor import NetvisorHook
    from erpbridge.hooks.severa import SeveraHook

    params, scope = params or {}, Scope.of(scope)
    if register not in (params.get("registers") or REGISTERS):
        log.info("%s: not selected for this run", register)
        return {}
    config = scope.parse_settings(settings)
    netvisor, severa = NetvisorHook(scope.conn_id("netvisor")), SeveraHook(scope.conn_id("severa"))
    check_temp_records(register, config, netvisor)
    ledger = scope.ledger()
    retry = retry_ids(params.get("retry_records"))
    counts: dict[str, int] = {}
    try:
        for reg in build_registers(register, config, netvisor, severa):
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
