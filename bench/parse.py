"""P3: import time of each DAG file, and of all of them, in a fresh interpreter that has Airflow loaded.

Two baselines per figure: ``airflow`` imported (what the goal names), and ``airflow.sdk`` imported
too (as in the DAG processor, whose parsing process has the task SDK loaded). Median of N runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.env import ROOT, cores

DAGS = ROOT / "dags"
CHILD = r"""
import importlib.util, json, sys, time
for name in sys.argv[2].split(","):
    __import__(name)
files = sys.argv[3:]
times = {}
start_all, cpu_all = time.perf_counter(), time.process_time()
for i, path in enumerate(files):
    start = time.perf_counter()
    spec = importlib.util.spec_from_file_location(f"bench_dag_{i}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    times[path] = time.perf_counter() - start
times["__all__"] = time.perf_counter() - start_all
times["__cpu__"] = time.process_time() - cpu_all  # on a shared machine: this process's own share of the wall
print(json.dumps(times))
"""


# Airflow's own cost of what a DAG file declares, with nothing of erpbridge: DAGs with our DAG arguments, chains of
# @task tasks, and Params in our dialect (like the registers' list Params), built N times in one process (CPU ms
# each). Then (first run only) the DAG folder's DAGs for the companies file in the environment, and the same
# shapes (as many DAGs, each with its number of tasks and Params) built by Airflow alone: CPU seconds.
CONSTRUCTION = r"""
import importlib.util, json, sys, time
from datetime import datetime, timedelta
from airflow.sdk import DAG, Param, task
from erpbridge.dag_factory import PARAM_DIALECT, CompanyDags

@task
def step(previous=None, scope=None):
    return previous

def params(n):
    return {f"p{i}": Param([], description="a list", schema={"$schema": PARAM_DIALECT, "type": ["null", "array"],
                                                             "items": {"type": "string", "enum": ["a", "b", "c"]},
                                                             "uniqueItems": True}) for i in range(n)}

def build(i, tasks, n_params):
    with DAG(dag_id=f"d{i}", schedule=timedelta(minutes=40), start_date=datetime(2026, 1, 1), catchup=False,
             max_active_runs=1, tags=["a", "b", "company:x"], default_args={"retries": 3}, params=params(n_params)):
        previous = None
        for j in range(tasks):
            previous = step.override(task_id=f"t{j}", pool="p")(previous, scope={"company": "x"})

def cpu_ms(n, tasks, n_params):
    started = time.process_time()
    for i in range(n):
        build(i, tasks, n_params)
    return (time.process_time() - started) / n * 1000

n = int(sys.argv[1])
build(0, 4, 4)  # warm up
bare, with_tasks = cpu_ms(n, 0, 0), cpu_ms(n, 4, 0)
with_params, both = cpu_ms(n, 0, 4), cpu_ms(n, 4, 4)
out = {"dag_ms": bare, "task_ms": (with_tasks - bare) / 4, "param_per_dag_ms": (with_params - bare) / 4,
       "param_per_task_ms": (both - with_params - with_tasks + bare) / 16}
if sys.argv[2:]:  # the DAG folder's DAGs as (tasks, Params), then the same shapes built by Airflow alone
    shapes = []
    for i, path in enumerate(sys.argv[2:]):
        spec = importlib.util.spec_from_file_location(f"bench_dag_{i}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for factory in (v for v in vars(module).values() if isinstance(v, CompanyDags)):
            shapes += [(len(dag.tasks), len(dag.params)) for dag in factory.for_every_company()]
    started = time.process_time()
    for i, (tasks, n_params) in enumerate(shapes):
        build(i, tasks, n_params)
    out.update(dags=len(shapes), tasks=sum(t for t, _ in shapes), params=sum(p for _, p in shapes),
               airflow_alone_s=time.process_time() - started)
print(json.dumps(out))
"""


def airflow_construction(files: list[Path], dags: int = 300, repeats: int = 3) -> dict[str, float]:
    """CPU ms Airflow takes per DAG, per task, per Param of a DAG and per Param per task (median of fresh
    interpreters); and the DAG folder's shape (DAGs, tasks, Params) with the CPU seconds Airflow alone takes to
    build the same shape (``airflow_alone_s``, one run)."""
    runs = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for run in range(repeats):
        out = subprocess.run([sys.executable, "-c", CONSTRUCTION, str(dags), *map(str, files if run == 0 else [])],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {**runs[0], **{key: statistics.median(run[key] for run in runs) for key in runs[-1]}}


def _measure(files: list[Path], preload: str, repeats: int) -> dict[str, float]:
    runs = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", CHILD, "x", preload, *map(str, files)], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def p3(repeats: int = 3) -> dict:
    files = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
    print(f"P3 parse cost: {len(files)} DAG file(s), median of {repeats} fresh interpreters ({cores()})", flush=True)
    out: dict = {"files": {}, "repeats": repeats}
    for preload in ("airflow", "airflow,airflow.sdk"):
        label = "airflow loaded" if preload == "airflow" else "airflow + airflow.sdk loaded"
        each = {f.name: _measure([f], preload, repeats)[str(f)] for f in files}
        together = _measure(files, preload, repeats)["__all__"]
        for name, seconds in each.items():
            print(f"  P3 {cores()} [{label}] {name}: {seconds * 1000:.0f} ms", flush=True)
            out["files"].setdefault(name, {})[label] = seconds
        print(f"  P3 {cores()} [{label}] all {len(files)} together: {together * 1000:.0f} ms", flush=True)
        out.setdefault("all", {})[label] = together
    worst = max(max(v.values()) for v in out["files"].values())
    goals = {"<= 150 ms each": worst <= 0.150, "<= 1 s all": max(out["all"].values()) <= 1.0}
    for goal, met in goals.items():
        print(f"  P3 goal {goal}: {'MET' if met else 'MISSED'}", flush=True)
    out["goals"] = goals
    return out
