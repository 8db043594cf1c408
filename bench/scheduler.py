"""P5: a registry run with nothing changed, scheduler to done, on LocalExecutor with PostgreSQL metadata.

Starts api-server + scheduler + dag-processor (own AIRFLOW_HOME, metadata DB in the embedded
server), lets a first run sync the seeded registers, then triggers a run with nothing changed and
reads queued -> success from the dag_run row (so CLI start-up time does not count).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.env import ROOT, World, cores, free_port

DAG_ID = "severa_netvisor_registers"


def _airflow_env(world: World, home: Path, db: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(world.connections(severa_rate=9.0))  # the product's own Severa pace
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@/{db}?host={world.socket_dir}",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    })
    env["AIRFLOW_CONN_ERPBRIDGE_LEDGER"] = os.environ["AIRFLOW_CONN_ERPBRIDGE_LEDGER"]
    return env


def _cli(env, *args, check=True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "airflow", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=check, timeout=600)


def _runs(world: World, db: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(world.pg.get_uri(db), autocommit=True) as conn:
        return conn.execute("SELECT run_id, state, queued_at, start_date, end_date, run_type FROM dag_run"
                            " WHERE dag_id = %s ORDER BY id", (DAG_ID,)).fetchall()


def _is_paused(world: World, db: str) -> bool | None:
    import psycopg

    with psycopg.connect(world.pg.get_uri(db), autocommit=True) as conn:
        row = conn.execute("SELECT is_paused FROM dag WHERE dag_id = %s", (DAG_ID,)).fetchone()
    return None if row is None else bool(row[0])


def _task_times(world: World, db: str, run_id: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(world.pg.get_uri(db), autocommit=True) as conn:
        return conn.execute("SELECT task_id, state, queued_dttm, start_date, end_date FROM task_instance"
                            " WHERE dag_id = %s AND run_id = %s ORDER BY start_date", (DAG_ID, run_id)).fetchall()


def _wait_idle(world: World, db: str, deadline: float, procs) -> list[tuple]:
    shown = time.monotonic()
    while time.monotonic() < deadline:
        if time.monotonic() - shown > 20:
            shown = time.monotonic()
            for run in _runs(world, db):
                if run[1] not in ("success", "failed"):
                    states = [(t[0], t[1]) for t in _task_times(world, db, run[0])]
                    print(f"    waiting: {run[0]} {run[1]} {states}", flush=True)
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}")
        runs = _runs(world, db)
        if runs and all(r[1] in ("success", "failed") for r in runs):
            return runs
        time.sleep(0.5)
    raise TimeoutError("runs did not finish in time")


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
    home = world.home / "p5-airflow"
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = _airflow_env(world, home, db, port)
    started = time.perf_counter()
    _cli(env, "db", "migrate")
    _cli(env, "pools", "set", "netvisor_default", "1", "Netvisor accepts one request at a time per company")
    print(f"  metadata DB migrated in {time.perf_counter() - started:.0f} s; starting api-server, scheduler, "
          f"dag-processor", flush=True)
    procs: dict[str, subprocess.Popen] = {}
    logs = home / "process-logs"
    logs.mkdir(exist_ok=True)
    try:
        for name, args in {"api-server": ["api-server", "--port", str(port)], "scheduler": ["scheduler"],
                           "dag-processor": ["dag-processor"]}.items():
            out = open(logs / f"{name}.log", "w")
            procs[name] = subprocess.Popen([sys.executable, "-m", "airflow", *args], env=env, cwd=ROOT,
                                           stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        while (paused := _is_paused(world, db)) is None:  # until the dag-processor has stored the DAG
            if time.monotonic() > deadline:
                raise TimeoutError("the DAG was not parsed in time")
            time.sleep(1)
        if paused:
            _cli(env, "dags", "unpause", DAG_ID)
        _cli(env, "dags", "trigger", DAG_ID, "--run-id", "bench_first_sync")
        first = _wait_idle(world, db, deadline, procs)
        print(f"  first run(s) done: {[(r[0], r[1]) for r in first]}", flush=True)
        figures = []
        for attempt in range(2):
            run_id = f"bench_nothing_changed_{attempt}"
            nv_before = world.netvisor.last_seq()
            wall = time.perf_counter()
            _cli(env, "dags", "trigger", DAG_ID, "--run-id", run_id)
            runs = _wait_idle(world, db, deadline, procs)
            wall = time.perf_counter() - wall
            run = next(r for r in runs if r[0] == run_id)
            seconds = (run[4] - run[2]).total_seconds()
            writes = sum(r["method"] == "POST" for r in world.netvisor.requests(nv_before))
            tasks = _task_times(world, db, run_id)
            print(f"  P5 {cores()} run {run_id}: state={run[1]} queued->end={seconds:.1f}s "
                  f"(queued->start {(run[3] - run[2]).total_seconds():.1f}s) trigger CLI->seen done {wall:.1f}s "
                  f"netvisor writes={writes}", flush=True)
            for task_id, state, queued, start, end in tasks:  # offsets from the run's queued_at
                at = (lambda t: (t - run[2]).total_seconds() if t else float("nan"))
                print(f"      {task_id:18s} {state:8s} queued +{at(queued):4.1f}s  started +{at(start):4.1f}s  "
                      f"ended +{at(end):4.1f}s", flush=True)
            figures.append({"run_id": run_id, "state": run[1], "queued_to_end_s": seconds, "wall_s": wall,
                            "writes": writes, "tasks": [(t[0], t[1], str(t[2]), str(t[3]), str(t[4])) for t in tasks]})
        best = min(f["queued_to_end_s"] for f in figures)
        worst = max(f["queued_to_end_s"] for f in figures)
        goals = {"< 20 s": worst < 20 and all(f["state"] == "success" for f in figures)}
        for goal, met in goals.items():
            print(f"  P5 goal {goal}: {'MET' if met else 'MISSED'} (best {best:.1f}s, worst {worst:.1f}s)", flush=True)
        return {"runs": figures, "goals": goals}
    except Exception:
        for log_file in sorted(logs.glob("*.log")):
            print(f"  --- last lines of {log_file.name}:\n" + "\n".join(
                line[:300] for line in log_file.read_text(errors="replace").splitlines()[-15:]), flush=True)
        raise
    finally:
        for proc in procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
