"""P6: many companies on one installation.

1. Registers: N companies (default 10), each with its own Severa and Netvisor simulators (a process per
   company), Netvisor answering with 20 ms latency and our client sending one request at a time, 2,000
   customers each. The customers register of every company runs at once, each in its own process (as the
   LocalExecutor runs each task: one process per task, companies in parallel, one at a time within a
   company through its pool), against one shared ledger; then one company alone on fresh simulators.
   Wall time of all vs one. Each process builds its hooks and ledger from the company's scope, as the
   task does (``CompanyFlow.scope()`` from a companies file). It measures the syncs and the simulators on their
   own, without Airflow's scheduling, task start-up and other registers.
2. Parse: the DAG folder with a companies file of 10 and of 100 companies (every flow each), imported
   in a fresh interpreter with Airflow loaded (median of 3), as P3 measures one company: the wall time and the
   interpreter's own CPU time (what the wall would be on an idle core); beside it, Airflow's own cost of building
   the same DAGs, tasks and Params without erpbridge (``bench.parse.airflow_construction``).

``bench.companies_airflow`` (``--local-executor``) runs the same companies as DAGs on a real Airflow instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bench.env import FAST, FAST_HOOK_RATE, ROOT, World, cores
from bench.parse import DAGS, _measure, airflow_construction
from bench.registers import seed_severa
from include.simulators.client import SimulatorAdmin, launch, stop

FLOW = "severa_netvisor_registers"
CHILD = r"""
import json, sys, time
started = time.perf_counter()
from erpbridge.engine.registry import RegistrySync
from erpbridge.engine.run_context import Scope
from erpbridge.flows.severa_netvisor.registers import build_registers
from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings
from erpbridge.hooks.netvisor import NetvisorHook
from erpbridge.hooks.severa import SeveraHook
from erpbridge.ledger.store import RunContext
scope = Scope.of(json.loads(sys.argv[1]))
ledger = scope.ledger(RunContext("bench_p6", scope.company, "sync_customers", 1))
syncing = time.perf_counter()
try:
    [register] = build_registers("customers", SeveraNetvisorSettings(), NetvisorHook(scope.conn_id("netvisor")),
                                 SeveraHook(scope.conn_id("severa")))
    result = RegistrySync(register, ledger).run()
finally:
    ledger.close()
print(json.dumps({"company": scope.company, "sync_s": time.perf_counter() - syncing,
                  "process_s": time.perf_counter() - started, "cpu_s": time.process_time(),
                  "counts": dict(result.counts)}))
"""


def companies_file(path: Path, companies: list[str], flows: list[str]) -> Path:
    path.write_text(yaml.safe_dump({"companies": {
        company: {"name": f"Company {company}", "flows": {flow: {} for flow in flows}} for company in companies}}))
    return path


def connections(company: str, urls: dict[str, str]) -> dict[str, str]:
    """AIRFLOW_CONN_* of the company's netvisor_<company> / severa_<company> (the companies file's defaults)."""
    from include.simulators import netvisor, severa

    nv, sv = netvisor.DEFAULT_CONFIG, severa.DEFAULT_CONFIG
    return {
        f"AIRFLOW_CONN_NETVISOR_{company.upper()}": json.dumps({
            "conn_type": "netvisor", "host": urls["netvisor"], "login": nv["customer_id"],
            "password": nv["customer_key"],
            "extra": {"sender": "erpbridge bench", "partner_id": nv["partner_id"], "partner_key": nv["partner_key"],
                      "organisation_id": nv["organisation_id"], "language": "FI"}}),
        f"AIRFLOW_CONN_SEVERA_{company.upper()}": json.dumps({
            "conn_type": "severa", "host": f"{urls['severa']}/rest-api", "login": sv["client_id"],
            "password": sv["client_secret"], "extra": {"scope": "", "rate_per_second": FAST_HOOK_RATE}}),
    }


def prepare(companies: list[str], customers: int, latency_ms: int) -> tuple[list, dict[str, str], dict[str, dict]]:
    """A simulator process per company, Severa seeded, Netvisor slowed; returns the processes, their connections
    (AIRFLOW_CONN_*) and each company's simulator admins (company -> {"severa": ..., "netvisor": ...})."""
    procs, env, admins = [], {}, {}
    for company in companies:
        proc, urls = launch("empty", ["netvisor", "severa"])
        procs.append(proc)
        severa, netvisor = SimulatorAdmin(urls["severa"], timeout=600), SimulatorAdmin(urls["netvisor"], timeout=600)
        severa.configure(**FAST)
        seed_severa(severa, customers)
        netvisor.faults(latency_ms=latency_ms)
        env.update(connections(company, urls))
        admins[company] = {"severa": severa, "netvisor": netvisor}
    return procs, env, admins


def simulators_cpu(procs: list) -> float:
    """CPU seconds the simulator processes have used so far (on this machine they compete with erpbridge)."""
    import psutil

    return sum(sum(psutil.Process(proc.pid).cpu_times()[:2]) for proc in procs)


def run_all(companies: list[str], path: Path, env: dict[str, str]) -> dict:
    """Every company's customers register at once, one process each; wall time until the last is done."""
    from erpbridge.companies import company_flow

    started = time.perf_counter()
    children = [subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(company_flow(FLOW, c, path).scope())],
                                 env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for c in companies]
    outputs = [child.communicate(timeout=3600) for child in children]
    wall = time.perf_counter() - started
    results = []
    for child, (out, err) in zip(children, outputs):
        if child.returncode != 0:
            raise RuntimeError(err[-2000:])
        results.append(json.loads(out.strip().splitlines()[-1]))
    return {"wall_s": round(wall, 1), "runs": results}


def p6(world: World, companies: int = 10, customers: int = 2000, latency_ms: int = 20) -> dict:
    print(f"P6 {companies} companies x {customers} customers, Netvisor latency {latency_ms} ms ({cores()})", flush=True)
    path = world.home / "p6-companies.yaml"
    keys = [f"c{i:02d}" for i in range(companies + 1)]  # c00 runs alone, the others together
    companies_file(path, keys, [FLOW])
    procs, conns, _ = prepare(keys, customers, latency_ms)
    env = {**conns, "ERPBRIDGE_COMPANIES_FILE": str(path), "PYTHONPATH": str(ROOT)}
    try:
        world.fresh_ledger()  # an empty ledger for each measurement
        before = simulators_cpu(procs[1:])
        together = run_all(keys[1:], path, {**os.environ, **env})
        together["simulators_cpu_s"] = round(simulators_cpu(procs[1:]) - before, 1)
        world.fresh_ledger()
        before = simulators_cpu(procs[:1])
        alone = run_all(keys[:1], path, {**os.environ, **env})
        alone["simulators_cpu_s"] = round(simulators_cpu(procs[:1]) - before, 1)
    finally:
        for proc in procs:
            stop(proc)
    created = {r["company"]: r["counts"].get("created", 0) for r in together["runs"] + alone["runs"]}
    ratio = together["wall_s"] / alone["wall_s"]
    sync_alone, sync_together = alone["runs"][0]["sync_s"], max(r["sync_s"] for r in together["runs"])
    cpu = sum(r["cpu_s"] for r in together["runs"])
    print(f"  P6 {cores()} one company alone: {alone['wall_s']} s (sync {sync_alone:.1f} s, CPU "
          f"{alone['runs'][0]['cpu_s']:.1f} s); {companies} at once: {together['wall_s']} s (slowest sync "
          f"{sync_together:.1f} s, CPU of the {companies} processes {cpu:.0f} s): {ratio:.2f}x; created per company: "
          f"{sorted(set(created.values()))}; simulators' CPU alone {alone['simulators_cpu_s']} s, together "
          f"{together['simulators_cpu_s']} s", flush=True)
    out = {"companies": companies, "customers": customers, "latency_ms": latency_ms, "alone": alone,
           "together": together, "ratio": round(ratio, 2), "parse": parse_times(world.home)}
    out["goals"] = {"<= 1.5x one company": ratio <= 1.5, **{
        f"<= 1 s parse with 100 companies running {scenario}": out["parse"][f"{scenario}, 100"]["all_s"] <= 1.0
        for scenario in ("registers", "every flow")}}
    for goal, met in out["goals"].items():
        print(f"  P6 goal {goal}: {'MET' if met else 'MISSED'}", flush=True)
    return out


def parse_times(home: Path, sizes=(10, 100), repeats: int = 3) -> dict:
    """Import time of the whole DAG folder with a companies file of each size: every company running the registers
    (the P6 scenario: one DAG per company) and every company running every flow (one DAG per flow per company);
    for the largest, what Airflow alone takes to build as many DAGs, tasks and Params (``airflow_part``)."""
    from erpbridge.catalog import FLOWS

    files = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
    out = {}
    for scenario, flows in (("registers", [FLOW]), ("every flow", list(FLOWS))):
        for size in sizes:
            path = companies_file(home / f"p6-parse-{size}.yaml", [f"c{i:03d}" for i in range(size)], flows)
            os.environ["ERPBRIDGE_COMPANIES_FILE"] = str(path)
            try:
                measured = _measure(files, "airflow,airflow.sdk", repeats)
                seconds, cpu = measured["__all__"], measured["__cpu__"]
                out[f"{scenario}, {size}"] = {"dags": size * len(flows), "all_s": round(seconds, 2),
                                              "cpu_s": round(cpu, 2)}
                print(f"  P6 {cores()} parse of {len(files)} DAG files, {size} companies running {scenario} "
                      f"({size * len(flows)} DAGs): {seconds:.2f} s (CPU {cpu:.2f} s)", flush=True)
                if (scenario, size) == ("every flow", max(sizes)):
                    out["airflow construction"] = airflow_part(files, cpu)
            finally:
                del os.environ["ERPBRIDGE_COMPANIES_FILE"]
    return out


def airflow_part(files: list, parse_cpu: float) -> dict:
    """How much of the parse's CPU Airflow's own construction of as many DAGs, tasks and Params takes."""
    costs = airflow_construction(files)
    print(f"  P6 {cores()} Airflow's own construction, CPU: {costs['dag_ms']:.2f} ms a DAG, {costs['task_ms']:.2f} ms a "
          f"task, {costs['param_per_dag_ms']:.2f} ms a Param (checked), {costs['param_per_task_ms']:.3f} ms a Param "
          f"per task (copied); the same {costs['dags']} DAGs, {costs['tasks']} tasks and {costs['params']} Params "
          f"built by Airflow alone: {costs['airflow_alone_s']:.2f} s, the parse: {parse_cpu:.2f} s", flush=True)
    return {**costs, "parse_cpu_s": round(parse_cpu, 2)}
