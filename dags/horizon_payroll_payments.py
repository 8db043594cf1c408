"""Confirmed payroll runs in Visma Horizon -> pain.001 credit-transfer files for the bank.

One ISO 20022 pain.001.001.03 file per payroll run and paying account, validated against the official
XSD and written whole (temporary file + rename) to the company's bank folder (bank_folder in the
Variable erpbridge_horizon_payments). A payment with a missing or invalid IBAN is refused with the
reason and holds its file. A run is paid once: a rerun writes the identical file; a second file for a
run already written (its payments changed in Horizon) waits for a person in Required Actions.
`dry_run` logs the files that would be written, are already written, would be held or would need a
confirmation, and writes nothing (no file, no ledger row, no question).
"""

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import DEFAULT_ARGS, company_dags
from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.horizon_payments.tasks import (
    OPTIONS,
    second_files_to_confirm,
    write_confirmed_files,
    write_payment_files,
)


@company_dags(
    "horizon_payroll_payments",
    default_args={**DEFAULT_ARGS, "retries": 2},
    params={"dry_run": Param(False, type="boolean",
                             description="Preview: log the files that would be written, held or need a confirmation; "
                                         "write nothing.")},
)
def horizon_payroll_payments(cf: CompanyFlow):
    written = write_payment_files(cf.scope())
    migrate_ledger() >> written
    ask = second_files_to_confirm(written)
    confirm = HITLOperator(
        task_id="confirm_second_files",
        subject="Second payment files: {{ ti.xcom_pull(task_ids='write_payment_files')['to_confirm'] | length }}"
                " payroll run account(s) already paid have different payments",
        body="{{ ti.xcom_pull(task_ids='write_payment_files')['body'] }}",
        options=OPTIONS,
    )
    ask >> confirm
    write_confirmed_files(written, confirm.output, cf.scope())


horizon_payroll_payments.for_every_company()
