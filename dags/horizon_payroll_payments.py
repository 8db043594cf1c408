"""Confirmed payroll runs in Visma Horizon -> pain.001 credit-transfer files for the bank.

One ISO 20022 pain.001.001.03 file per payroll run and paying account, validated against the official
XSD and written whole (temporary file + rename) to the company's bank folder (bank_folder in the
Variable erpbridge_horizon_payments). A payment with a missing or invalid IBAN is refused with the
reason and holds its file. A run is paid once: a rerun writes the identical file; a second file for a
run already written (its payments changed in Horizon) waits for a person in Required Actions.
"""

from datetime import datetime, timedelta

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import dag

from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.horizon_payments.tasks import (
    OPTIONS,
    second_files_to_confirm,
    write_confirmed_files,
    write_payment_files,
)


@dag(
    dag_id="horizon_payroll_payments",
    schedule=timedelta(hours=1),
    start_date=datetime(2026, 1, 1),
    is_paused_upon_creation=True,  # it writes bank files: switched on deliberately
    catchup=False,
    max_active_runs=1,
    tags=["horizon", "payroll", "bank", "review"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True},
)
def horizon_payroll_payments():
    written = write_payment_files()
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
    write_confirmed_files(written, confirm.output)


horizon_payroll_payments()
