"""Visma Horizon sales orders of weighed goods -> the weighing system -> delivery notes by actual weight.

Registered Horizon sales orders of weighed goods go on the weighing system's order list; the weighings its
stations post back (read after the ledger's cursor, late ones from an offline station included) are read
from their GS1-128 labels (GTIN, net weight, lot, pack date); once every line has its packages weighed, the
order's delivery note is created in Horizon with the actual weight x price, once. A duplicate or voided label
never counts; an unreadable one waits in the quarantine naming the field. An order outside its tolerance
(tolerance_percent in the Variable erpbridge_horizon_weighing) waits for a person in Required Actions.
"""

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.horizon_weighing.tasks import OPTIONS, create_reviewed_notes, deliveries_to_review, weigh


@company_dags(
    "horizon_weighing",
    params={"dry_run": Param(False, type="boolean",
                             description="Preview: log the orders, labels and notes that would move; write nothing.")},
)
def horizon_weighing(cf: CompanyFlow):
    weighed = weigh(cf.scope())
    migrate_ledger() >> weighed
    review = HITLOperator(
        task_id="review_deliveries",
        subject="Weighed deliveries: {{ ti.xcom_pull(task_ids='weigh')['to_review'] | length }}"
                " order(s) outside their tolerance",
        body="{{ ti.xcom_pull(task_ids='weigh')['body'] }}",
        options=OPTIONS,
    )
    deliveries_to_review(weighed) >> review
    create_reviewed_notes(weighed, review.output, cf.scope())


horizon_weighing.for_every_company()
