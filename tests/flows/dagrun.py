"""Run a DAG from dags/ in-process with dag.test(), as `airflow dags test` does."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sqlite3
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


def returned(run, task_id: str):
    """What ``task_id`` returned in ``run`` (its XCom in the session's SQLite metadata DB)."""
    metadata = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    try:
        (value,) = metadata.execute("SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND"
                                    " key = 'return_value'", (run.dag_id, run.run_id, task_id)).fetchone()
    finally:
        metadata.close()
    return json.loads(value)


def ledger_contents(ledger) -> dict[str, list[str]]:
    """Every row of every ledger table (``ledger``: a psycopg connection), to show a run wrote nothing."""
    tables = [t for (t,) in ledger.execute("SELECT table_name FROM information_schema.tables"
                                           " WHERE table_schema = 'public'")]
    return {t: sorted(map(repr, ledger.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}
