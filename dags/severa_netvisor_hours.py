"""Severa hour entries -> Netvisor workday records, hourly.

Each person's entries of a day become that day's workday record in Netvisor for the employee with
the same code: accepted when Severa uses hour approval (setting `hours.use_approval`) and the entry
is approved, otherwise confirmed; overtime class code = Netvisor record type, work types mapped by
code (`hours.record_types`), the project as a dimension. A day is sent with method "replace": sent
again (changed in Severa, or after a crash) it replaces the hours, never doubles them. Default range:
the last `hours.days_back` days. Refused days wait in quarantine with the reason."""

from datetime import datetime

from airflow.sdk import dag

from erpbridge.flows.severa_netvisor.document_tasks import DEFAULT_ARGS, document_tasks, params, schedule


@dag(
    dag_id="severa_netvisor_hours",
    schedule=schedule("severa_netvisor_hours"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["severa", "netvisor", "documents"],
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params=params("Move only the hours of these employee codes (empty: everyone).",
                  "One person-day to send again, as \"<employee code> <YYYY-MM-DD>\"; it replaces that "
                  "day's hours in Netvisor."),
)
def severa_netvisor_hours():
    document_tasks("hours")


severa_netvisor_hours()
