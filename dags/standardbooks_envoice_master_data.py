"""Standard Books -> Envoice master data every 20 minutes: suppliers -> contacts, accounts ->
accounts, object types -> dimension groups, objects -> dimensions. Blocked accounts and closed
objects go as inactive. Manual `mode`: `changed` (since the last sequence), `send_all` (first time:
add or update everything), `delete_and_resend` (empty Envoice's master data, then send all)."""

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import migrate_ledger, retry_records_param
from erpbridge.flows.standardbooks_envoice.tasks import MODES, prepare_master_data, sync_master_data


@company_dags(
    "standardbooks_envoice_master_data",
    params={
        "mode": Param("changed", type="string", enum=list(MODES),
                      description="changed: only what changed since the last run; send_all: add or update "
                                  "everything (first time); delete_and_resend: remove what Envoice holds for "
                                  "the company, then send everything."),
        "dry_run": Param(False, type="boolean", description="Preview: log what would change, write nothing."),
        "retry_records": retry_records_param(),
    },
)
def standardbooks_envoice_master_data(cf: CompanyFlow):
    scope = cf.scope()
    prepared = prepare_master_data(scope)
    migrate_ledger() >> prepared
    for entity in ("contact", "account"):
        prepared >> sync_master_data.override(task_id=f"sync_{entity}s")(entity=entity, scope=scope)
    groups = sync_master_data.override(task_id="sync_dimension_groups")(entity="dimension_group", scope=scope)
    dimensions = sync_master_data.override(task_id="sync_dimensions")(entity="dimension", scope=scope)
    prepared >> groups >> dimensions


standardbooks_envoice_master_data.for_every_company()
