"""Ledger access over one DB-API connection (psycopg 3 from PostgresHook). Callers commit at page boundaries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Iterable

from erpbridge.company import DEFAULT_COMPANY

MIGRATION_LOCK = 4242_0001  # pg advisory lock id: one migrator at a time


def storable(value):
    """``value`` with every NUL character shown as U+FFFD: PostgreSQL text and jsonb cannot hold U+0000, and a
    source record carrying one must still reach the quarantine and the transfer log, not fail the batch."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    return value


@dataclass(frozen=True)
class RunContext:
    """Who writes to the transfer log: links a row to the Airflow task run that made it."""

    dag_id: str = ""
    run_id: str = ""
    task_id: str = ""
    try_number: int = 0


@dataclass
class Outcome:
    entity: str
    source_id: str
    action: str
    source_key: str | None = None
    target_id: str | None = None
    error_category: str | None = None
    error_text: str | None = None


@dataclass
class DocumentState:
    """Where one document's transfer got to: in_flight (about to post), posted, attached, completed, done."""

    reference: str
    stage: str
    target_id: str | None = None


class Ledger:
    """One flow's ledger for one company. Source ids (id map, watermarks, quarantine, document transfers) are
    read and written per system: ``of(system)`` gives the ledger of the system whose ids the caller holds."""

    def __init__(self, conn, flow: str, run: RunContext = RunContext(), company: str = DEFAULT_COMPANY,
                 system: str | None = None):
        self.conn = conn
        self.flow = flow
        self.run = run
        self.company = company
        self.system = system

    @classmethod
    def connect(cls, flow: str, run: RunContext = RunContext(), conn_id: str = "erpbridge_ledger", *,
                company: str = DEFAULT_COMPANY) -> "Ledger":
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        return cls(PostgresHook(postgres_conn_id=conn_id).get_conn(), flow, run, company)

    def of(self, system: str) -> "Ledger":
        """This ledger (connection, flow, run, company) for the source ids of ``system`` (e.g. "severa")."""
        return Ledger(self.conn, self.flow, self.run, self.company, system)

    def for_flow(self, flow: str) -> "Ledger":
        """Another flow's ledger of the same company, system and run (the e-shop flows read each other's)."""
        return Ledger(self.conn, flow, self.run, self.company, self.system)

    @property
    def scope(self) -> tuple[str, str, str]:
        """(company, flow, system) of every row holding a source id."""
        if self.system is None:
            raise ValueError(f"ledger of flow {self.flow!r}: say which system its source ids belong to (Ledger.of)")
        return self.company, self.flow, self.system

    def close(self) -> None:
        self.conn.close()

    def commit(self) -> None:
        self.conn.commit()

    # --- schema ---------------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply numbered SQL migrations not yet applied; safe to run concurrently and repeatedly."""
        applied_now = []
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migration (name text PRIMARY KEY,"
                        " applied_at timestamptz NOT NULL DEFAULT now())")
            cur.execute("SELECT name FROM schema_migration")
            done = {row[0] for row in cur.fetchall()}
            folder = resources.files("erpbridge.ledger").joinpath("migrations")
            for script in sorted(folder.iterdir(), key=lambda p: p.name):
                if script.name.endswith(".sql") and script.name not in done:
                    cur.execute(script.read_text(encoding="utf-8"))
                    cur.execute("INSERT INTO schema_migration (name) VALUES (%s)", (script.name,))
                    applied_now.append(script.name)
        self.conn.commit()
        return applied_now

    # --- id map ---------------------------------------------------------------------------------

    def mappings(self, entity: str, source_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """{source id: (target id, content hash)} for the ids already transferred."""
        ids = list(source_ids)
        if not ids:
            return {}
        with self.conn.cursor() as cur:
            cur.execute("SELECT source_id, target_id, content_hash FROM id_map WHERE company = %s AND flow = %s"
                        " AND system = %s AND entity = %s AND source_id = ANY(%s)", (*self.scope, entity, ids))
            return {row[0]: (row[1], row[2]) for row in cur.fetchall()}

    def remember(self, entity: str, source_id: str, target_id: str, content_hash: str | None) -> None:
        self.remember_many(entity, [(source_id, target_id, content_hash)])

    def remember_many(self, entity: str, rows: Iterable[tuple[str, str, str | None]]) -> None:
        """``remember`` for many (source id, target id, content hash) rows in one pipelined batch."""
        rows = list(rows)
        if not rows:
            return
        scope = self.scope
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO id_map (company, flow, system, entity, source_id, target_id, content_hash)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (company, flow, entity, system, source_id)"
                " DO UPDATE SET target_id = EXCLUDED.target_id, content_hash = EXCLUDED.content_hash, updated_at = now()",
                [(*scope, entity, source_id, target_id, digest) for source_id, target_id, digest in rows])

    # --- watermarks -----------------------------------------------------------------------------

    def watermark(self, stream: str) -> str | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT value FROM watermark WHERE company = %s AND flow = %s AND system = %s AND stream = %s",
                        (*self.scope, stream))
            row = cur.fetchone()
        return row[0] if row else None

    def set_watermark(self, stream: str, value: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO watermark (company, flow, system, stream, value) VALUES (%s, %s, %s, %s, %s)"
                        " ON CONFLICT (company, flow, system, stream) DO UPDATE SET value = EXCLUDED.value,"
                        " updated_at = now()", (*self.scope, stream, value))

    # --- transfer log and quarantine ------------------------------------------------------------

    def log(self, outcomes: list[Outcome]) -> None:
        """Transfer log rows; their system is this ledger's (None: ids of no system, e.g. payroll keys)."""
        if not outcomes:
            return
        run = self.run
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO transfer_log (company, flow, system, entity, source_id, source_key, target_id, action,"
                " error_category, error_text, dag_id, run_id, task_id, try_number)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(self.company, self.flow, self.system, o.entity, storable(o.source_id), storable(o.source_key),
                  o.target_id, o.action, o.error_category, storable(o.error_text), run.dag_id, run.run_id,
                  run.task_id, run.try_number) for o in outcomes])

    def quarantine(self, entity: str, source_id: str, source_key: str | None, reason: str, category: str | None,
                   payload: dict | None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO quarantine (company, flow, system, entity, source_id, source_key, reason, error_category,"
                " payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
                " ON CONFLICT (company, flow, entity, system, source_id) DO UPDATE SET"
                " source_key = EXCLUDED.source_key, reason = EXCLUDED.reason,"
                " error_category = EXCLUDED.error_category, payload = EXCLUDED.payload, last_seen = now(),"
                " attempts = quarantine.attempts + 1",
                (*self.scope, entity, storable(source_id), storable(source_key), storable(reason), category,
                 json.dumps(storable(payload), default=str) if payload is not None else None))

    def release(self, entity: str, source_ids: Iterable[str]) -> None:
        ids = list(source_ids)
        if ids:
            with self.conn.cursor() as cur:
                cur.execute("DELETE FROM quarantine WHERE company = %s AND flow = %s AND system = %s AND entity = %s"
                            " AND source_id = ANY(%s)", (*self.scope, entity, ids))

    def gone(self, entity: str, reasons: dict[str, str]) -> list[str]:
        """Quarantined records their source cannot give any more ({source id: why}): out of the quarantine, with
        a 'gone' transfer-log row each saying why; returns the ids that were waiting. Callers commit."""
        if not reasons:
            return []
        with self.conn.cursor() as cur:
            cur.execute("DELETE FROM quarantine WHERE company = %s AND flow = %s AND system = %s AND entity = %s"
                        " AND source_id = ANY(%s) RETURNING source_id, source_key", (*self.scope, entity, list(reasons)))
            left = cur.fetchall()
        self.log([Outcome(entity, source_id, "gone", source_key, error_category="GONE", error_text=reasons[source_id])
                  for source_id, source_key in left])
        return [source_id for source_id, _ in left]

    def forget(self, entity: str) -> int:
        """Drop the id map of one entity (its target records were deleted); returns how many rows."""
        with self.conn.cursor() as cur:
            cur.execute("DELETE FROM id_map WHERE company = %s AND flow = %s AND system = %s AND entity = %s",
                        (*self.scope, entity))
            return cur.rowcount

    # --- document transfers ---------------------------------------------------------------------

    def document_state(self, entity: str, source_id: str) -> DocumentState | None:
        return self.document_states(entity, [source_id]).get(source_id)

    def document_states(self, entity: str, source_ids: Iterable[str]) -> dict[str, DocumentState]:
        """{source id: its transfer's state} for those of ``source_ids`` whose transfer began."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT source_id, reference, stage, target_id FROM document_transfer WHERE company = %s"
                        " AND flow = %s AND system = %s AND entity = %s AND source_id = ANY(%s)",
                        (*self.scope, entity, list(source_ids)))
            return {row[0]: DocumentState(*row[1:]) for row in cur.fetchall()}

    def set_document_state(self, entity: str, source_id: str, source_key: str | None, state: DocumentState) -> None:
        self.set_document_states(entity, [(source_id, source_key, state)])

    def set_document_states(self, entity: str, rows: Iterable[tuple[str, str | None, DocumentState]]) -> None:
        """(source id, source key, state) rows in one pipelined batch; each in_flight one counts an attempt."""
        rows = list(rows)
        if not rows:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO document_transfer (company, flow, system, entity, source_id, source_key, reference, stage,"
                " target_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (company, flow, entity, system, source_id) DO UPDATE SET"
                " source_key = EXCLUDED.source_key, reference = EXCLUDED.reference, stage = EXCLUDED.stage,"
                " target_id = EXCLUDED.target_id, updated_at = now(),"
                " attempts = document_transfer.attempts + (EXCLUDED.stage = 'in_flight')::int",
                [(*self.scope, entity, source_id, source_key, state.reference, state.stage, state.target_id)
                 for source_id, source_key, state in rows])

    def unfinished_documents(self, entity: str) -> list[str]:
        """Source ids whose transfer began but did not reach 'done' (a crash or a failed write-back)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT source_id FROM document_transfer WHERE company = %s AND flow = %s AND system = %s"
                        " AND entity = %s AND stage <> 'done' ORDER BY created_at", (*self.scope, entity))
            return [row[0] for row in cur.fetchall()]

    def drop_document_state(self, entity: str, source_id: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute("DELETE FROM document_transfer WHERE company = %s AND flow = %s AND system = %s AND entity = %s"
                        " AND source_id = %s", (*self.scope, entity, source_id))

    def quarantined(self, entity: str) -> list[str]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT source_id FROM quarantine WHERE company = %s AND flow = %s AND system = %s"
                        " AND entity = %s ORDER BY first_seen", (*self.scope, entity))
            return [row[0] for row in cur.fetchall()]

    def quarantined_payloads(self, entity: str) -> dict[str, dict | None]:
        """{source id: payload} of ``entity``'s records waiting in the quarantine, oldest first."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT source_id, payload FROM quarantine WHERE company = %s AND flow = %s AND system = %s"
                        " AND entity = %s ORDER BY first_seen", (*self.scope, entity))
            return dict(cur.fetchall())
