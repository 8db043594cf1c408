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
