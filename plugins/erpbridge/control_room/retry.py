"""How "Retry now" limits a run of a flow's DAG to one quarantined record: the DAG conf per flow.

The DAG is the record's company's DAG of its flow (``erpbridge.company.dag_id``: ``<flow>`` or
``<flow>__<company>``; a ledger flow is the flow's id). Register DAGs, and document DAGs whose source keys a
document by its own id (SaldeoSMART's), take the record itself (``retry_records``: entity + source id, watermarks
untouched); the other document DAGs take the document number the ledger keeps as the record's ``source_key``.
Before triggering, the control room checks that the DAG still declares every Param the conf names.
"""

from __future__ import annotations

import re
from typing import Callable

from erpbridge.catalog import FLOWS, flow_of_dag

_PERSON_DAY = re.compile(r"^(?P<who>.*\S)\s+(?P<day>\d{4}-\d{2}-\d{2})$")


class CannotRetry(Exception):
    """This record cannot be retried on its own (no mapping for its DAG, or no key to name it by)."""


def _record(record: dict) -> dict:
    return {"retry_records": [{"entity": record["entity"], "source_id": record["source_id"]}]}


def _document_number(record: dict) -> dict:
    if not record.get("source_key"):
        raise CannotRetry(f"{record['entity']} {record['source_id']} has no document number in the ledger")
    return {"document_numbers": [record["source_key"]]}


def _employee_code(record: dict) -> dict:
    return {"employee_codes": [record["source_id"]]}  # Horizon -> AD: the source id is the employee code


def _person_day(record: dict) -> dict:
    """Hours: the key is "<employee code> <YYYY-MM-DD>" (a name when Severa has no code): that day, that code."""
    found = _PERSON_DAY.match(record.get("source_key") or "")
    if not found:
        raise CannotRetry(f"{record['entity']} {record['source_id']} has no \"<employee> <date>\" key in the ledger")
    who, day = found["who"], found["day"]
    conf = {"date_from": day, "date_to": day}
    if not any(c.isspace() for c in who):  # an employee code; a name (no code) leaves the whole day offered
        conf["document_numbers"] = [who]
    return conf


# how a flow names one record (the catalog's ``Flow.retry``) -> the conf of a run for just that record
RETRY_BY: dict[str, Callable[[dict], dict]] = {
    "record": _record,
    "employee_code": _employee_code,
    "document_number": _document_number,
    "person_day": _person_day,
}
# flow id (= the default company's DAG id) -> the conf of a run for just this quarantined record
RETRY_CONF: dict[str, Callable[[dict], dict]] = {flow.id: RETRY_BY[flow.retry] for flow in FLOWS.values() if flow.retry}


def retry_conf(dag_id: str, record: dict) -> dict:
    """The conf that makes a run of ``dag_id`` (any company's) handle just ``record``; CannotRetry when there is none."""
    flow = flow_of_dag(dag_id)
    if flow is None or flow.id not in RETRY_CONF:
        raise CannotRetry(f"DAG {dag_id} cannot retry a single record")
    return RETRY_CONF[flow.id](record)
