"""The companies file: which flows run for which company, on which connections and settings.

A YAML file shipped with the DAGs (``companies.yaml`` beside the DAG files, or the path in the environment
variable ``ERPBRIDGE_COMPANIES_FILE``), read when the DAG files are parsed: no database, no network. Without
it there is one company, ``DEFAULT_COMPANY``, running every flow of the catalog on today's connection ids,
Variables and pools. Format (every key but ``name`` optional)::

    companies:
      acme:                                  # the company key: DAG ids <flow>__acme, tag company:acme
        name: Acme Oy
        flows:
          severa_netvisor_registers:         # a flow of the catalog; flows not listed do not run
            enabled: true
            schedule: "*/30 * * * *"         # cron or preset; default the catalog's
            connections: {netvisor: netvisor_acme, severa: severa_acme}   # default <type>_<company>
            settings_variable: erpbridge_severa_netvisor_acme             # default <catalog's>_<company>
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from erpbridge.catalog import FLOWS, POOL_TARGETS, Flow
from erpbridge.company import DEFAULT_COMPANY, dag_id

FILE_VARIABLE = "ERPBRIDGE_COMPANIES_FILE"
FILE_NAME = "companies.yaml"
COMPANY_KEY = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")  # no "__": that separates the flow from the company
CONN_ID = re.compile(r"^[\w.-]{1,250}$")
FLOW_KEYS = {"enabled", "schedule", "connections", "settings_variable"}


class CompaniesFileError(ValueError):
    """The companies file does not validate; the message names the file, the company, the flow and the key."""


@dataclass(frozen=True)
class CompanyFlow:
    """One flow as one company runs it: what its DAG is built from."""

    flow: Flow
    company: str
    company_name: str
    schedule: timedelta | str
    connections: dict[str, str]  # connection type -> connection id
    settings_variable: str

    @property
    def dag_id(self) -> str:
        return dag_id(self.flow.id, self.company)

    def pool(self, target: str) -> str:
        return pool_name(target, self.company)

    def scope(self) -> dict:
        """What the flow's tasks receive (``engine.run_context.Scope``): plain JSON, shown in the task's args."""
        return {"flow": self.flow.id, "company": self.company, "connections": dict(self.connections),
                "settings_variable": self.settings_variable}


def pool_name(target: str, company: str = DEFAULT_COMPANY) -> str:
    """The pool of a rate-limited target for a company: ``netvisor_default``, ``netvisor__acme``."""
    return f"{target}_default" if company == DEFAULT_COMPANY else f"{target}__{company}"


def companies_file(dags_folder: Path | None = None) -> Path | None:
    """The companies file in use: ``$ERPBRIDGE_COMPANIES_FILE``, else ``companies.yaml`` in the DAG folder."""
    if os.environ.get(FILE_VARIABLE):
        return Path(os.environ[FILE_VARIABLE])
    path = (dags_folder or Path()) / FILE_NAME
    return path if dags_folder is not None and path.is_file() else None


def company_flows(path: Path | None) -> list[CompanyFlow]:
    """Every enabled flow of every company (the default company's flows without a file)."""
    if path is None:
        return [_default(flow) for flow in FLOWS.values()]
    return list(_read(str(path), path.stat().st_mtime_ns))


def company_flow(flow_id: str, company: str = DEFAULT_COMPANY, path: Path | None = None) -> CompanyFlow:
    """How ``company`` runs ``flow_id``; LookupError when it does not."""
    for found in company_flows(path):
        if found.flow.id == flow_id and found.company == company:
            return found
    raise LookupError(f"company {company!r} does not run flow {flow_id!r} (companies file: {path or 'none'})")


def pools(path: Path | None) -> dict[str, str]:
    """Pool name -> description, for every company's rate-limited targets (one slot each)."""
    return {cf.pool(target): f"{POOL_TARGETS[target]} ({cf.company_name})"
            for cf in company_flows(path) for target in cf.flow.pools}


def pool_import(path: Path | None) -> dict[str, dict]:
    """Every company's pools as ``airflow pools import`` reads them: name -> one slot and its description."""
    return {name: {"slots": 1, "description": text} for name, text in pools(path).items()}


def _default(flow: Flow) -> CompanyFlow:
    return CompanyFlow(flow, DEFAULT_COMPANY, DEFAULT_COMPANY, _schedule(flow, DEFAULT_COMPANY, None),
                       dict(flow.connections), flow.settings_variable)


def _schedule(flow: Flow, company: str, configured):
    return configured or os.environ.get(f"ERPBRIDGE_SCHEDULE__{dag_id(flow.id, company).upper()}") or flow.schedule


@lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int) -> tuple[CompanyFlow, ...]:
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
        # libyaml's safe loader when PyYAML has it: a tenth of the pure-Python one's time, and every DAG file reads this
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CompaniesFileError(f"{path}: cannot be read: {exc}") from None
    companies = data.get("companies") if isinstance(data, dict) else None
    if not isinstance(companies, dict) or not companies:
        raise CompaniesFileError(f"{path}: needs a mapping 'companies' naming at least one company")
    found = []
    for company, entry in companies.items():
        where = f"{path}: company {company!r}"
        if not isinstance(company, str) or not COMPANY_KEY.match(company):
            raise CompaniesFileError(f"{where}: a key is lower-case letters and digits, single underscores between")
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise CompaniesFileError(f"{where}: needs a name")
        unknown = set(entry) - {"name", "flows"}
        if unknown:
            raise CompaniesFileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        for flow_id, settings in (entry.get("flows") or {}).items():
            if flow_id not in FLOWS:
                raise CompaniesFileError(f"{where}: no flow {flow_id!r} in the catalog; known: {', '.join(FLOWS)}")
            company_flow = _company_flow(FLOWS[flow_id], company, entry["name"], settings or {},
                                         f"{where}, flow {flow_id}")
            if company_flow:
                found.append(company_flow)
    return tuple(found)


def _company_flow(flow: Flow, company: str, name: str, entry: dict, where: str) -> CompanyFlow | None:
    if not isinstance(entry, dict) or set(entry) - FLOW_KEYS:
        raise CompaniesFileError(f"{where}: a flow takes only {', '.join(sorted(FLOW_KEYS))}")
    if not entry.get("enabled", True):
        return None
    connections = entry.get("connections") or {}
    unknown = set(connections) - set(flow.connections)
    if unknown:
        raise CompaniesFileError(f"{where}: connections of unknown type(s) {', '.join(sorted(unknown))}; "
                                 f"this flow uses {', '.join(flow.connections)}")
    default = company == DEFAULT_COMPANY
    resolved = {conn_type: connections.get(conn_type) or (conn_id if default else f"{conn_type}_{company}")
                for conn_type, conn_id in flow.connections.items()}
    bad = [conn_id for conn_id in resolved.values() if not isinstance(conn_id, str) or not CONN_ID.match(conn_id)]
    if bad:
        raise CompaniesFileError(f"{where}: {bad[0]!r} is not a connection id")
    variable = entry.get("settings_variable") or (flow.settings_variable if default
                                                  else f"{flow.settings_variable}_{company}")
    schedule = entry.get("schedule")
    if schedule is not None and not isinstance(schedule, str):
        raise CompaniesFileError(f"{where}: schedule is a cron expression or preset in quotes")
    return CompanyFlow(flow, company, name, _schedule(flow, company, schedule), resolved, str(variable))


if __name__ == "__main__":  # docker-compose.yaml's airflow-init: python -m erpbridge.companies <dags folder> <file>
    import json
    import sys

    Path(sys.argv[2]).write_text(json.dumps(pool_import(companies_file(Path(sys.argv[1])))), encoding="utf-8")
