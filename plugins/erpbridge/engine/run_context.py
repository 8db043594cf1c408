"""What tasks read from the Airflow context and from their DAG: the run's identity for the transfer log, and the
scope a DAG gives its tasks (flow, company, connection ids, settings Variable)."""

from __future__ import annotations

from dataclasses import dataclass

LEDGER_CONN_ID = "erpbridge_ledger"


def run_context():
    """The current task run as a RunContext for the ledger."""
    from airflow.sdk import get_current_context

    from erpbridge.ledger.store import RunContext

    ti = get_current_context()["ti"]
    return RunContext(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, try_number=ti.try_number)


@dataclass(frozen=True)
class Scope:
    """One flow for one company, as its DAG passes it to every task (``CompanyFlow.scope()``)."""

    flow: str
    company: str
    connections: dict[str, str]  # connection type -> connection id
    settings_variable: str

    @classmethod
    def of(cls, value: dict) -> "Scope":
        return cls(**value)

    def conn_id(self, conn_type: str) -> str:
        if conn_type not in self.connections:
            raise KeyError(f"flow {self.flow} of company {self.company} has no {conn_type} connection; "
                           f"it has {', '.join(self.connections) or 'none'}")
        return self.connections[conn_type]

    def ledger(self, run=None):
        """The flow's ledger for this company, writing as ``run`` (default: the current task run)."""
        from erpbridge.ledger.store import Ledger

        return Ledger.connect(self.flow, run or run_context(), LEDGER_CONN_ID, company=self.company)

    def load_settings(self):
        """The flow's settings model filled from this company's Variable (defaults where it has none)."""
        from erpbridge.catalog import flow
        from erpbridge.settings import load

        return load(flow(self.flow).settings(), self.settings_variable)

    def parse_settings(self, values: dict):
        """The flow's settings model from ``load_settings``' output (an XCom), validated again."""
        from erpbridge.catalog import flow
        from erpbridge.settings import parse

        return parse(flow(self.flow).settings(), values, self.settings_variable)
