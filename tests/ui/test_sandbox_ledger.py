"""Every sandbox start gives the ledger a fresh database, as fresh as the simulators (which start from their seed):
the last sandbox's id maps, watermarks and quarantine are gone; Airflow's metadata DB is kept."""

from __future__ import annotations

import uuid

import psycopg

from erpbridge.ledger.store import Ledger
from include.sandbox import prepare_databases


def test_each_sandbox_start_has_a_fresh_ledger_and_keeps_airflows_db(postgres):
    suffix = uuid.uuid4().hex[:8]
    names = {"airflow_db": f"sandbox_airflow_{suffix}", "ledger_db": f"sandbox_ledger_{suffix}"}
    prepare_databases(postgres.get_uri(), **names)
    with psycopg.connect(postgres.get_uri(names["ledger_db"])) as conn:  # the last sandbox's run
        ledger = Ledger(conn, "severa_netvisor_registers")
        ledger.migrate()
        ledger.of("severa").remember("customer", "0b3b82e6-guid-of-a-gone-simulator", "42", None)
        ledger.of("severa").quarantine("customer", "0b3b82e6-guid-of-a-gone-simulator", "C1", "refused", None, None)
        conn.commit()
    with psycopg.connect(postgres.get_uri(names["airflow_db"]), autocommit=True) as conn:
        conn.execute("CREATE TABLE dag (dag_id text)")
    with psycopg.connect(postgres.get_uri(names["ledger_db"])):  # a session left open (e.g. a task) does not block
        prepare_databases(postgres.get_uri(), **names)  # the next start
    with psycopg.connect(postgres.get_uri(names["ledger_db"]), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
    with psycopg.connect(postgres.get_uri(names["airflow_db"]), autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('dag') IS NOT NULL").fetchone()[0]
    with psycopg.connect(postgres.get_uri(), autocommit=True) as admin:
        for name in names.values():
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
