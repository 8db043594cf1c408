"""Severa hour entries -> Netvisor workday records, hourly.

Each person's entries of a day become that day's workday record in Netvisor for the employee with
the same code: accepted when Severa uses hour approval (setting `hours.use_approval`) and the entry
is approved, otherwise confirmed; overtime class code = Netvisor record type, work types mapped by
code (`hours.record_types`), the project as a dimension. A day is sent with method "replace": sent
again (changed in Severa, or after a crash) it replaces the hours, never doubles them. Default range:
the last `hours.days_back` days. Refused days wait in quarantine with the reason."""

# An Airflow DAG file (the dag processor's safe mode skips files that do not name both words).
from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.flows.severa_netvisor.document_tasks import document_tasks, params


@company_dags(
    "severa_netvisor_hours",
    params=params("Move only the hours of these employee codes (empty: everyone).",
                  "One person-day to send again, as \"<employee code> <YYYY-MM-DD>\"; it replaces that "
                  "day's hours in Netvisor."),
)
def severa_netvisor_hours(cf: CompanyFlow):
    document_tasks(cf)


severa_netvisor_hours.for_every_company()
