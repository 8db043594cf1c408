"""Work time -> review in the Airflow UI -> Visma Horizon payroll time import.

Severa hour entries and CSV files from the inbox are staged for the pay period (default: the
previous month) and validated; a person then approves, rejects, or approves without the flagged
rows in the run's Required Actions (human-in-the-loop). Only then the rows go to Horizon, one per
employee, date and time type, so a re-sent period replaces and never doubles.
"""

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import DEFAULT_ARGS, company_dags
from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.horizon_payroll.tasks import WorkTimeReview, load_work_time, stage_work_time

OPTIONS = ["Approve", "Approve excluding flagged rows", "Reject"]  # erpbridge.flows.horizon_payroll.sync.OPTIONS


@company_dags(  # the catalog's schedule: the 2nd of each month, for the previous month
    "horizon_payroll_time_import",
    default_args={**DEFAULT_ARGS, "retries": 2},
    params={
        "period_start": Param(None, type=["null", "string"], format="date",
                              description="First day of the pay period (empty: first day of the previous month)."),
        "period_end": Param(None, type=["null", "string"], format="date",
                            description="Last day of the pay period (empty: last day of the previous month)."),
        "use_severa": Param(True, type="boolean", description="Read Severa hour entries."),
        "inbox": Param(None, type=["null", "string"], maxLength=1000,
                       description="CSV inbox folder inside one of the configured inbox roots (inbox_roots in the"
                                   " Variable erpbridge_horizon_payroll); empty: the first root."),
    },
)
def horizon_payroll_time_import(cf: CompanyFlow):
    staged = stage_work_time(cf.scope())
    migrate_ledger() >> staged
    review = WorkTimeReview(
        task_id="review_work_time",
        subject="Work time {{ ti.xcom_pull(task_ids='stage_work_time')['period_start'] }} .. "
                "{{ ti.xcom_pull(task_ids='stage_work_time')['period_end'] }}: "
                "{{ ti.xcom_pull(task_ids='stage_work_time')['rows'] }} rows, "
                "{{ ti.xcom_pull(task_ids='stage_work_time')['flagged'] }} flagged, "
                "{{ ti.xcom_pull(task_ids='stage_work_time')['removals'] }} to remove",
        body="{{ ti.xcom_pull(task_ids='stage_work_time')['body'] }}",
        options=OPTIONS,
        params={
            "reason": Param(None, type=["null", "string"], maxLength=2000,
                            description="Why: required to reject or to approve excluding flagged rows."),
            "confirm_removal": Param(False, type="boolean",
                                     description="Remove the entries listed under \"Removed from Horizon\" (loaded"
                                                 " earlier for this period, not in this batch)."),
        },
    )
    staged >> review
    load_work_time(staged, review.output, cf.scope())


horizon_payroll_time_import.for_every_company()
