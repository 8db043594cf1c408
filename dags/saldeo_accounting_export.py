"""SaldeoSMART -> accounting program, hourly: the documents marked for export in SaldeoSMART (company
`company_program_id`, Variable `erpbridge_saldeo_accounting`) become one exchange file in the program's import
format (EPP / EDI++ 1.05, or Comarch ERP Optima offline XML), mapped with the settings (accounts, document types,
VAT symbols, registers) and written into the `destination` folder; each document is then marked exported in
SaldeoSMART. Each document goes into one file only. A document that cannot be mapped waits in the quarantine
naming the field; `retry_records` (the control room's "Retry now") exports just the named documents
(`{"entity": "document", "source_id": "<Saldeo id>"}`) once their mapping is fixed. `reexport_month` writes
that month's files again, byte for byte as they were first written; `dry_run` logs what would be exported and
writes nothing."""

from datetime import timedelta

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import load_settings, migrate_ledger, retry_records_param
from erpbridge.flows.accounting_exchange.tasks import export_documents


@company_dags(
    "saldeo_accounting_export",
    default_args={"retries": 3, "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True},
    params={
        "dry_run": Param(False, type="boolean", description="Preview: log what would be exported, write nothing."),
        "reexport_month": Param(None, type=["null", "string"], pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
                                description="Write this month's exchange files (YYYY-MM) again, as they were first "
                                            "written; nothing new is exported and SaldeoSMART is not touched."),
        "retry_records": retry_records_param(),
    },
)
def saldeo_accounting_export(cf: CompanyFlow):
    settings = load_settings(cf.scope())
    migrate_ledger() >> settings
    export_documents(settings=settings, scope=cf.scope())


saldeo_accounting_export.for_every_company()
