"""Severa <-> Netvisor registers: customers, products and dimensions every 40 minutes."""

from datetime import datetime, timedelta

from airflow.sdk import Param, dag

from erpbridge.engine.tasks import migrate_ledger, retry_records_param
from erpbridge.flows.severa_netvisor.tasks import NETVISOR_POOL, REGISTERS, load_settings, sync_register


@dag(
    dag_id="severa_netvisor_registers",
    schedule=timedelta(minutes=40),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["severa", "netvisor", "registers"],
    doc_md=__doc__,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True},
    params={
        "dry_run": Param(False, type="boolean", description="Preview: log what would change, write nothing."),
        "full_resync": Param(False, type="boolean",
                             description="Ignore watermarks and content hashes: compare and send every record "
                                         "(one-off migration)."),
        "registers": Param(list(REGISTERS), type=["null", "array"], items={"type": "string", "enum": list(REGISTERS)},
                           uniqueItems=True, description="Registers to sync in this run (empty: all)."),
        "retry_records": retry_records_param(),
    },
)
def severa_netvisor_registers():
    settings = load_settings()
    migrate_ledger() >> settings
    for register in REGISTERS:
        sync_register.override(task_id=f"sync_{register}", pool=NETVISOR_POOL)(register=register, settings=settings)


severa_netvisor_registers()
