"""One DAG per flow per company. A DAG file declares its flow's DAG once::

    @company_dags("severa_netvisor_registers", params={...})
    def severa_netvisor_registers(cf: CompanyFlow):
        ...  # the tasks, given cf.scope() and cf.pool("netvisor")

    severa_netvisor_registers.for_every_company()

and this builds it for every company of the companies file (``erpbridge.companies``) that runs the flow: DAG id
``<flow>__<company>`` (the flow's own id for the default company), the company's schedule, its pools, tags with
the company. Everything comes from the catalog and the companies file: no database, no network at parse time.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from airflow.sdk import DAG, Param, get_parsing_context

from erpbridge.companies import CompanyFlow, companies_file, company_flows
from erpbridge.company import DEFAULT_COMPANY

DEFAULT_ARGS = {"retries": 3, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True}
START_DATE = datetime(2026, 1, 1)
# The JSON Schema dialect our Params are written in. Airflow checks every scheduled DAG's Param schemas against
# their dialect's meta-schema at parse time; jsonschema's default (2020-12) meta-schema costs about 4x draft 7's
# per check, and the keywords our Params use (type, enum, items, uniqueItems, required, properties, format,
# pattern, maxLength) mean the same in both.
PARAM_DIALECT = "http://json-schema.org/draft-07/schema#"


class CompanyDags:
    """A flow's DAG definition; ``for_every_company()`` builds the DAGs, calling it builds one company's."""

    def __init__(self, flow_id: str, build: Callable[[CompanyFlow], None], params: dict | None,
                 default_args: dict | None):
        self.flow_id, self.build = flow_id, build
        self.params, self.default_args = _in_dialect(params or {}), default_args or DEFAULT_ARGS
        self.doc = build.__globals__.get("__doc__")
        self.companies_file = companies_file(Path(build.__code__.co_filename).resolve().parent)

    def company_flows(self) -> list[CompanyFlow]:
        return [cf for cf in company_flows(self.companies_file) if cf.flow.id == self.flow_id]

    def for_every_company(self) -> list[DAG]:
        """Every company's DAG; only the one being run when a task's process parses the file (Airflow's
        parsing context), so a task start does not pay for the other companies' DAGs."""
        running = get_parsing_context().dag_id
        return [self.dag(cf) for cf in self.company_flows() if running in (None, cf.dag_id)]

    def __call__(self, company: str | None = None) -> DAG:
        """The DAG of ``company`` (default: the default company, else the first company running the flow)."""
        found = self.company_flows()
        wanted = company or (DEFAULT_COMPANY if any(cf.company == DEFAULT_COMPANY for cf in found) else None)
        for cf in found:
            if wanted in (None, cf.company):
                return self.dag(cf)
        raise LookupError(f"flow {self.flow_id} does not run for company {company!r} (companies file: "
                          f"{self.companies_file or 'none'})")

    def dag(self, cf: CompanyFlow) -> DAG:
        with DAG(dag_id=cf.dag_id, description=f"{cf.flow.label} ({cf.company_name})", schedule=cf.schedule,
                 start_date=START_DATE, catchup=False, max_active_runs=1, tags=[*cf.flow.tags, f"company:{cf.company}"],
                 doc_md=self.doc, default_args=dict(self.default_args), params=self.company_params(),
                 is_paused_upon_creation=cf.flow.paused_on_creation or None) as dag:
            dag.fileloc = self.build.__code__.co_filename  # the DAG file, not this module
            self.build(cf)
        return dag

    def company_params(self) -> dict[str, Param]:
        """The flow's Params for one company's DAG: each its own copy of the value (a trigger or test may set
        it), the schemas shared (read only), so a DAG costs no deep copy of them."""
        return {name: Param(copy.deepcopy(param.value) if param.has_value else param.value, param.description,
                            schema=param.schema, source=param.source) for name, param in self.params.items()}


def _in_dialect(params: dict) -> dict[str, Param]:
    """The flow's Params, built once, each schema declaring ``PARAM_DIALECT`` unless it names its own."""
    out = {}
    for name, param in params.items():
        param = param if isinstance(param, Param) else Param(param)
        out[name] = Param(param.value, param.description, schema={"$schema": PARAM_DIALECT, **param.schema},
                          source=param.source)
    return out


def company_dags(flow_id: str, *, params: dict | None = None,
                 default_args: dict | None = None) -> Callable[[Callable[[CompanyFlow], None]], CompanyDags]:
    """Decorator: the function wires one company's tasks of flow ``flow_id``; see the module doc."""
    return lambda build: CompanyDags(flow_id, build, params, default_args)
