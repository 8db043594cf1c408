"""How "Retry now" limits a run of a flow's DAG to one quarantined record: the DAG conf per flow.

The DAG is the record's company's DAG of its flow (``erpbridge.company.dag_id``; a ledger flow is the flow's
DAG id). Register DAGs take the record itself (``retry_records``: entity + source id, watermarks untouched);
document DAGs take the document number the ledger keeps as the record's ``source_key``. Before triggering,
the control room checks that the DAG still declares every Param the conf names.
"""

from __future__ import annotations

import re
from typing import Callable

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


# flow -> the conf of a run of its DAG for just this quarantined record (a dict from the ledger's quarantine row)
RETRY_CONF: dict[str, Callable[[dict], dict]] = {
    "severa_netvisor_registers": _record,
    "standardbooks_envoice_master_data": _record,
    "horizon_ad_accounts": _employee_code,
    "severa_netvisor_sales_invoices": _document_number,
    "severa_netvisor_travel_invoices": _document_number,
    "netvisor_severa_purchase_invoices": _document_number,
    "envoice_standardbooks_purchase_documents": _document_number,
    "severa_netvisor_hours": _person_day,
}


def retry_conf(flow: str, record: dict) -> dict:
    """The conf that makes a run of ``flow``'s DAG handle just ``record``; CannotRetry when there is none."""
    if flow not in RETRY_CONF:
        raise CannotRetry(f"flow {flow} cannot retry a single record")
    return RETRY_CONF[flow](record)
