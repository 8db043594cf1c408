"""Severa <-> Netvisor registers: customers, products and dimensions every 40 minutes."""

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import load_settings, migrate_ledger, retry_records_param
from erpbridge.flows.severa_netvisor.tasks import REGISTERS, sync_register


@company_dags(
    "severa_netvisor_registers",
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
def severa_netvisor_registers(cf: CompanyFlow):
    settings = load_settings(cf.scope())
    migrate_ledger() >> settings
    for register in REGISTERS:
        sync_register.override(task_id=f"sync_{register}", pool=cf.pool("netvisor"))(
            register=register, settings=settings, scope=cf.scope())


severa_netvisor_registers.for_every_company()
