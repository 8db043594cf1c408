"""Accounting program -> SaldeoSMART, daily: the registers in the EPP and Optima XML files the accounting program
exports into the `source` folder (Variable `erpbridge_saldeo_registers`) - counterparties, VAT registers, document
categories and payment forms - merged into the hub company `company_program_id` (`contractor|register|category|
payment_method/merge`); with the register `company`, the exporting companies created or linked in the hub
(`company/create|synchronize`). Only what changed since the last merge is sent; a refused item waits in the
quarantine in SaldeoSMART's words and is sent again by every run; `retry_records` (the control room's "Retry now")
sends just the named items. `dry_run` logs what would be merged and writes nothing."""

from datetime import timedelta

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import load_settings, migrate_ledger, retry_records_param
from erpbridge.flows.accounting_exchange.tasks import sync_registers


@company_dags(
    "accounting_saldeo_registers",
    default_args={"retries": 3, "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True},
    params={"dry_run": Param(False, type="boolean", description="Preview: log what would be merged, write nothing."),
            "retry_records": retry_records_param()},
)
def accounting_saldeo_registers(cf: CompanyFlow):
    settings = load_settings(cf.scope())
    migrate_ledger() >> settings
    sync_registers(settings=settings, scope=cf.scope())


accounting_saldeo_registers.for_every_company()
