"""P5: a registry run with nothing changed, scheduler to done, on LocalExecutor with PostgreSQL metadata.

Starts api-server + scheduler + dag-processor (include/airflow_services.py: own AIRFLOW_HOME, metadata
DB in the embedded server), lets a first run sync the seeded registers, then triggers a run with nothing
changed and reads queued -> success from the dag_run row (so CLI start-up time does not count).
"""

from __future__ import annotations

import time

from bench.env import World, cores
from include.airflow_services import AirflowServices

DAG_ID = "severa_netvisor_registers"


def p5(world: World, timeout: float = 600) -> dict:
    print(f"P5 nothing-changed run, trigger -> success on LocalExecutor + PostgreSQL ({cores()})", flush=True)
    from include.simulators import netvisor, severa

    deadline = time.monotonic() + timeout
    world.severa.reset()
    world.netvisor.reset()
    world.severa.seed(**{k: v for k, v in severa.DEMO_SEED.items()})
    world.netvisor.seed(dimensions=netvisor.DEMO_SEED["dimensions"])
    world.fresh_ledger()
    db = world.create_database("airflow")
    started = time.perf_counter()
    services = AirflowServices(world.home / "p5-airflow", world.pg.get_uri(db),
                               world.connections(severa_rate=9.0))  # the product's own Severa pace
    try:
        services.start()
        print(f"  metadata DB migrated and services started in {time.perf_counter() - started:.0f} s", flush=True)
        services.wait_parsed([DAG_ID], deadline)
        services.trigger(DAG_ID, "bench_first_sync")
        first = services.wait_finished(deadline)
        print(f"  first run(s) done: {[(r[1], r[2]) for r in first]}", flush=True)
        figures = []
        for attempt in range(2):
            run_id = f"bench_nothing_changed_{attempt}"
            nv_before = world.netvisor.last_seq()
            wall = time.perf_counter()
            services.trigger(DAG_ID, run_id)
            runs = services.wait_finished(deadline)
            wall = time.perf_counter() - wall
            _, _, state, queued_at, start_date, end_date = next(r for r in runs if r[1] == run_id)
            seconds = (end_date - queued_at).total_seconds()
            writes = sum(r["method"] == "POST" for r in world.netvisor.requests(nv_before))
            tasks = services.task_instances(DAG_ID, run_id)
            print(f"  P5 {cores()} run {run_id}: state={state} queued->end={seconds:.1f}s "
                  f"(queued->start {(start_date - queued_at).total_seconds():.1f}s) trigger CLI->seen done {wall:.1f}s "
                  f"netvisor writes={writes}", flush=True)
            for task_id, task_state, queued, start, end in tasks:  # offsets from the run's queued_at
                at = (lambda t: (t - queued_at).total_seconds() if t else float("nan"))
                print(f"      {task_id:18s} {task_state:8s} queued +{at(queued):4.1f}s  started +{at(start):4.1f}s  "
                      f"ended +{at(end):4.1f}s", flush=True)
            figures.append({"run_id": run_id, "state": state, "queued_to_end_s": seconds, "wall_s": wall,
                            "writes": writes, "tasks": [(t[0], t[1], str(t[2]), str(t[3]), str(t[4])) for t in tasks]})
        best = min(f["queued_to_end_s"] for f in figures)
        worst = max(f["queued_to_end_s"] for f in figures)
        goals = {"< 20 s": worst < 20 and all(f["state"] == "success" for f in figures)}
        for goal, met in goals.items():
            print(f"  P5 goal {goal}: {'MET' if met else 'MISSED'} (best {best:.1f}s, worst {worst:.1f}s)", flush=True)
        return {"runs": figures, "goals": goals}
    except Exception:
        print(services.tail(), flush=True)
        raise
    finally:
        services.stop()
