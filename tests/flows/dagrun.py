"""Run a DAG from dags/ in-process with dag.test(), as `airflow dags test` does."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

DAGS = Path(__file__).resolve().parents[2] / "dags"


def load_dag(dag_id: str):
    """The DAG ``dag_id`` (``<flow>`` or ``<flow>__<company>``) from its flow's DAG file."""
    flow, _, company = dag_id.partition("__")
    spec = importlib.util.spec_from_file_location(f"dagfile_{flow}", DAGS / f"{flow}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, flow)(company or None)


def run_dag(dag_id: str, conf: dict | None = None):
    """One run with ``conf`` as its params; tasks get no retries (a failure shows at once)."""
    dag = load_dag(dag_id)
    for task in dag.tasks:
        task.retries = 0
    run = dag.test(run_conf=conf or {})
    logging.getLogger(__name__).info("run %s ended %s", run.run_id, run.state)
    return run


def task_states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
