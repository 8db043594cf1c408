"""P6 on Airflow: N companies' register DAGs at once on the LocalExecutor, against one company's DAG alone.

One Airflow (include/airflow_services.py: api-server, scheduler, dag-processor, PostgreSQL metadata DB) parses
the DAG folder with a companies file of N + 1 companies running ``severa_netvisor_registers`` (DAGs
``severa_netvisor_registers__cNN``), each company with its own simulators (``bench.companies.prepare``: Severa
seeded, Netvisor answering one request at a time after 20 ms), its own connections and its own Netvisor pool
of one slot (``airflow_services.pools()`` reads the companies file). The scheduler creates no runs itself
(``use_job_schedule`` off): only the triggered ones run.

Each round: every Netvisor emptied, a fresh ledger database (the ``erpbridge_ledger`` connection is replaced
through the REST API; the DAGs' own ``migrate_ledger`` task migrates it), the N DAGs triggered together through
the REST API; then a fresh ledger and company c00's DAG alone. The figure of each: the first run's ``queued_at``
to the last run's ``end_date`` (dag_run rows), so neither the trigger's HTTP call nor our polling counts.
Each run must succeed and each company's Netvisor must hold its customers.

What it measures beside ``bench.companies`` (a process per company running the sync, no Airflow): that plus
Airflow's part, i.e. the scheduler, the 5 task processes per run (start-up, the execution API) and the pools.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime

import psutil
import requests

from bench.companies import FLOW, companies_file, prepare, simulators_cpu
from bench.env import World, cores
from include.airflow_services import AirflowServices, wait_healthy
from include.simulators.client import stop

LEDGER = "erpbridge_ledger"


class LoadWatch:
    """The machine's 1-minute load average sampled every 2 s while a measurement runs (the machine is shared)."""

    def __init__(self):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(2)

    def __enter__(self) -> LoadWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        return f"load {min(self.samples):.1f}-{max(self.samples):.1f}"


def airflow_cpu(services: AirflowServices) -> dict[str, float]:
    """CPU seconds used so far by each Airflow service's process, and (``tasks``) by the scheduler's descendants:
    the LocalExecutor's workers and the task processes they have reaped."""
    def used(process: psutil.Process, children: bool = True) -> float:
        try:
            t = process.cpu_times()
        except psutil.NoSuchProcess:
            return 0.0
        return t.user + t.system + (t.children_user + t.children_system if children else 0.0)

    out = {}
    for name, proc in services.procs.items():
        process = psutil.Process(proc.pid)
        below = sum(used(p) for p in process.children(recursive=True))
        if name == "scheduler":
            out["scheduler"], out["tasks"] = used(process, children=False), below
        else:
            out[name] = used(process) + below
    return out


class Api:
    """Airflow's REST API as an admin (the services run the simple auth manager with everyone an admin)."""

    def __init__(self, base: str):
        self.base, self.http = base, requests.Session()
        token = self.http.get(f"{base}/auth/token", timeout=30).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def use_ledger(self, world: World) -> str:
        """A new, empty ledger database as the ``erpbridge_ledger`` connection; returns its name."""
        name = world.create_database()
        response = self.http.patch(f"{self.base}/api/v2/connections/{LEDGER}", json={
            "connection_id": LEDGER, "conn_type": "postgres", "host": world.socket_dir, "login": "postgres",
            "schema": name}, timeout=30)
        response.raise_for_status()
        return name

    def trigger_together(self, dag_ids: list[str], run_id: str) -> None:
        """One POST per DAG, all at once (threads), so the runs are queued within a fraction of a second."""
        def post(dag_id: str) -> None:
            self.http.post(f"{self.base}/api/v2/dags/{dag_id}/dagRuns", json={
                "dag_run_id": run_id, "logical_date": None}, timeout=60).raise_for_status()

        threads = [threading.Thread(target=post, args=(dag_id,)) for dag_id in dag_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def measure(services: AirflowServices, api: Api, world: World, dag_ids: list[str], run_id: str, deadline: float,
            sims: list) -> dict:
    """Trigger these DAGs together on a fresh ledger; wall = first queued_at -> last end_date."""
    ledger = api.use_ledger(world)
    cpu_before, sims_before = airflow_cpu(services), simulators_cpu(sims)
    with LoadWatch() as load:
        api.trigger_together(dag_ids, run_id)
        runs = services.wait_finished(deadline, run_id)
    first = min(r[3] for r in runs)
    return {"run_id": run_id, "ledger": ledger, "load": load.summary(),
            "wall_s": round((max(r[5] for r in runs) - first).total_seconds(), 1),
            "cpu_s": {name: round(seconds - cpu_before[name], 1) for name, seconds in airflow_cpu(services).items()},
            "simulators_cpu_s": round(simulators_cpu(sims) - sims_before, 1),
            "runs": {r[0]: {"state": r[2], "queued_to_end_s": round((r[5] - r[3]).total_seconds(), 1),
                            "tasks": tasks(services, r[0], run_id, first)} for r in runs}}


def tasks(services: AirflowServices, dag_id: str, run_id: str, origin: datetime) -> list[tuple]:
    """(task, state, queued, started, ended) in seconds from the first run's queued_at."""
    at = (lambda t: round((t - origin).total_seconds(), 1) if t else None)
    return [(task_id, state, at(queued), at(start), at(end))
            for task_id, state, queued, start, end in services.task_instances(dag_id, run_id)]


def report(label: str, figure: dict) -> None:
    cpu = ", ".join(f"{name} {seconds} s" for name, seconds in figure["cpu_s"].items())
    print(f"  P6/LocalExecutor {cores()} {label}: {figure['wall_s']} s first queued -> last ended ({figure['load']}; "
          f"CPU: {cpu}, simulators {figure['simulators_cpu_s']} s)", flush=True)
    for dag_id, run in sorted(figure["runs"].items()):
        steps = "  ".join(f"{task.removeprefix('sync_')} {q}/{s}/{e}" for task, _, q, s, e in run["tasks"])
        print(f"      {dag_id.split('__')[-1]} {run['state']} {run['queued_to_end_s']:5.1f} s | queued/started/ended "
              f"(s): {steps}", flush=True)


def check(figure: dict, admins: dict, customers: int, companies: list[str]) -> None:
    """Every run succeeded and each company's Netvisor holds its customers (none more, none less)."""
    failed = [dag_id for dag_id, run in figure["runs"].items() if run["state"] != "success"]
    held = {c: len(admins[c]["netvisor"].state()["customers"]) for c in companies}
    wrong = {c: n for c, n in held.items() if n != customers}
    if failed or wrong:
        raise RuntimeError(f"{figure['run_id']}: runs not successful {failed}; Netvisor customers not {customers}: {wrong}")


def p6_local(world: World, companies: int = 10, customers: int = 2000, rounds: int = 1, latency_ms: int = 20,
             timeout: float = 3600) -> dict:
    from erpbridge.company import dag_id

    print(f"P6 on LocalExecutor: {companies} companies' DAGs x {customers} customers, Netvisor latency {latency_ms} "
          f"ms, {rounds} round(s) ({cores()})", flush=True)
    deadline = time.monotonic() + timeout
    keys = [f"c{i:02d}" for i in range(companies + 1)]  # c00 runs alone, the others together
    path = companies_file(world.home / "p6-local-companies.yaml", keys, [FLOW])
    procs, conns, admins = prepare(keys, customers, latency_ms)
    dag_ids = {key: dag_id(FLOW, key) for key in keys}
    services = AirflowServices(world.home / "p6-airflow", world.pg.get_uri(world.create_database("airflow")), {
        **conns, "ERPBRIDGE_COMPANIES_FILE": str(path),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # only the triggered runs
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": str(max(32, 2 * companies)),  # executor slots: every company's task at once
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "16",
    }, {LEDGER: {"conn_type": "postgres", "host": world.socket_dir, "login": "postgres", "schema": "postgres"}})
    services.env.pop("AIRFLOW_CONN_ERPBRIDGE_LEDGER", None)  # the metadata DB's connection, replaced per measurement
    figures = []
    try:
        started = time.perf_counter()
        services.start()
        wait_healthy(f"{services.env['AIRFLOW__API__BASE_URL']}/api/v2/monitor/health", services.procs["api-server"],
                     timeout=300)
        services.wait_parsed(list(dag_ids.values()), deadline)
        print(f"  Airflow up and {len(dag_ids)} DAGs parsed in {time.perf_counter() - started:.0f} s", flush=True)
        api = Api(services.env["AIRFLOW__API__BASE_URL"])
        for n in range(rounds):
            for key in keys:
                admins[key]["netvisor"].reset()
                admins[key]["netvisor"].faults(latency_ms=latency_ms)
            together = measure(services, api, world, [dag_ids[k] for k in keys[1:]], f"p6_{n}_together", deadline,
                               procs[1:])
            report(f"round {n + 1}, {companies} companies together", together)
            check(together, admins, customers, keys[1:])
            alone = measure(services, api, world, [dag_ids[keys[0]]], f"p6_{n}_alone", deadline, procs[:1])
            report(f"round {n + 1}, one company alone", alone)
            check(alone, admins, customers, keys[:1])
            ratio = together["wall_s"] / alone["wall_s"]
            print(f"  P6/LocalExecutor round {n + 1}: {companies} together {together['wall_s']} s, one alone "
                  f"{alone['wall_s']} s: {ratio:.2f}x", flush=True)
            figures.append({"together": together, "alone": alone, "ratio": round(ratio, 2)})
    except Exception:
        print(services.tail(), flush=True)
        raise
    finally:
        services.stop()
        for proc in procs:
            stop(proc)
    goals = {"<= 1.5x one company (every round)": all(f["ratio"] <= 1.5 for f in figures)}
    for goal, met in goals.items():
        print(f"  P6/LocalExecutor goal {goal}: {'MET' if met else 'MISSED'} "
              f"({', '.join(str(f['ratio']) + 'x' for f in figures)})", flush=True)
    return {"companies": companies, "customers": customers, "latency_ms": latency_ms, "rounds": figures,
            "goals": goals, "cpu_count": os.cpu_count()}
