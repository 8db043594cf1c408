"""Review tables (migration 003): payroll batches and their rows, staged before a person decides."""

from __future__ import annotations

from datetime import date

from erpbridge.ledger.store import Ledger

ROW_COLUMNS = ("id", "source", "source_ref", "employee_code", "work_date", "time_type", "hours", "comment",
               "flags", "duplicate", "status", "error_text")


class PayrollReview:
    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def new_batch(self, start: date, end: date, rows: list[dict]) -> int:
        run = self.ledger.run
        with self.ledger.conn.cursor() as cur:
            cur.execute("INSERT INTO payroll_batch (company, flow, period_start, period_end, dag_id, run_id)"
                        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                        (self.ledger.company, self.ledger.flow, start, end, run.dag_id, run.run_id))
            batch_id = cur.fetchone()[0]
            cur.executemany(
                "INSERT INTO payroll_row (batch_id, source, source_ref, employee_code, work_date, time_type, hours,"
                " comment, flags, duplicate) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(batch_id, r["source"], r["source_ref"], r.get("employee_code"), r.get("work_date"),
                  r.get("time_type"), r.get("hours"), r.get("comment"), list(r.get("flags") or []),
                  bool(r.get("duplicate"))) for r in rows])
        self.ledger.commit()
        return batch_id

    def batch(self, batch_id: int) -> dict:
        with self.ledger.conn.cursor() as cur:
            cur.execute("SELECT id, period_start, period_end, status, decision, reason FROM payroll_batch"
                        " WHERE id = %s AND company = %s AND flow = %s", (batch_id, self.ledger.company, self.ledger.flow))
            row = cur.fetchone()
        if row is None:
            raise LookupError(f"no payroll batch {batch_id}")
        return dict(zip(("id", "period_start", "period_end", "status", "decision", "reason"), row))

    def rows(self, batch_id: int) -> list[dict]:
        with self.ledger.conn.cursor() as cur:
            cur.execute(f"SELECT {', '.join(ROW_COLUMNS)} FROM payroll_row WHERE batch_id = %s ORDER BY id",
                        (batch_id,))
            return [dict(zip(ROW_COLUMNS, row)) for row in cur.fetchall()]

    def decide(self, batch_id: int, status: str, decision: str, reason: str | None, by: str | None) -> None:
        with self.ledger.conn.cursor() as cur:
            cur.execute("UPDATE payroll_batch SET status = %s, decision = %s, reason = %s, decided_by = %s,"
                        " decided_at = now() WHERE id = %s", (status, decision, reason, by, batch_id))
        self.ledger.commit()

    def mark_rows(self, row_ids: list[int], status: str, error_text: str | None = None) -> None:
        if row_ids:
            with self.ledger.conn.cursor() as cur:
                cur.execute("UPDATE payroll_row SET status = %s, error_text = %s WHERE id = ANY(%s)",
                            (status, error_text, row_ids))

    def finish(self, batch_id: int, status: str) -> None:
        with self.ledger.conn.cursor() as cur:
            cur.execute("UPDATE payroll_batch SET status = %s, loaded_at = now() WHERE id = %s", (status, batch_id))
        self.ledger.commit()

    def loaded_keys(self, start: date, end: date, before_batch: int) -> set[tuple[str, date, str]]:
        """(employee, date, time type) loaded into Horizon by earlier batches of the same period."""
        with self.ledger.conn.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT r.employee_code, r.work_date, r.time_type FROM payroll_row r"
                " JOIN payroll_batch b ON b.id = r.batch_id WHERE b.company = %s AND b.flow = %s"
                " AND b.period_start = %s AND b.period_end = %s AND b.id < %s AND r.status = 'loaded'",
                (self.ledger.company, self.ledger.flow, start, end, before_batch))
            return {tuple(row) for row in cur.fetchall()}
