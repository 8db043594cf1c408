"""Payroll review batches (migration 003) in the control room: a staged batch's rows with their flags,
editable until a person decides the batch in Airflow (the flow's HITL task); each changed field is kept
in payroll_row_edit (migration 004) with the flags the row had. The loader reads the rows when the
decision comes, so an edit made before it is what goes to Horizon.

After an edit the row's flags are re-checked for what needs no outside system (required fields,
negative hours, date inside the period); checks that need Horizon or Severa (unknown employee,
absences, hours per day, duplicates) are not redone here: the edit is the reviewer's judgment, and
the flags it replaced stay in the edit history.
"""

from __future__ import annotations

from datetime import date

from erpbridge.flows.horizon_payroll.sync import parse_hours, text_problem

EDITABLE = ("employee_code", "work_date", "time_type", "hours", "comment")
BATCH_COLUMNS = ("id", "flow", "period_start", "period_end", "status", "decision", "reason", "decided_by",
                 "decided_at", "dag_id", "run_id", "created_at", "rows", "flagged", "edits")
ROW_COLUMNS = ("id", "source", "source_ref", "employee_code", "work_date", "time_type", "hours", "comment", "flags",
               "duplicate", "status", "error_text")
EDIT_COLUMNS = ("id", "row_id", "field", "old_value", "new_value", "old_flags", "note", "actor", "at")


class EditRefused(ValueError):
    pass


def available(conn) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('payroll_batch') IS NOT NULL AND to_regclass('payroll_row_edit') IS NOT NULL")
        return bool(cur.fetchone()[0])


def batches(conn, limit: int = 50) -> list[dict]:
    """Staged batches first, then the most recent others."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT b.id, b.flow, b.period_start, b.period_end, b.status, b.decision, b.reason, b.decided_by,"
            " b.decided_at, b.dag_id, b.run_id, b.created_at,"
            " (SELECT count(*) FROM payroll_row r WHERE r.batch_id = b.id),"
            " (SELECT count(*) FROM payroll_row r WHERE r.batch_id = b.id AND cardinality(r.flags) > 0),"
            " (SELECT count(*) FROM payroll_row_edit e WHERE e.batch_id = b.id)"
            " FROM payroll_batch b ORDER BY (b.status = 'staged') DESC, b.id DESC LIMIT %s", (limit,))
        return [dict(zip(BATCH_COLUMNS, row)) for row in cur.fetchall()]


def batch(conn, batch_id: int) -> tuple[dict, list[dict], list[dict]] | None:
    """(batch, its rows, its edit history newest first), or None."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT b.id, b.flow, b.period_start, b.period_end, b.status, b.decision, b.reason, b.decided_by,"
            " b.decided_at, b.dag_id, b.run_id, b.created_at, 0, 0, 0 FROM payroll_batch b WHERE b.id = %s",
            (batch_id,))
        found = cur.fetchone()
        if found is None:
            return None
        cur.execute(f"SELECT {', '.join(ROW_COLUMNS)} FROM payroll_row WHERE batch_id = %s"
                    " ORDER BY employee_code NULLS FIRST, work_date, id", (batch_id,))
        rows = [dict(zip(ROW_COLUMNS, row)) for row in cur.fetchall()]
        cur.execute(f"SELECT {', '.join(EDIT_COLUMNS)} FROM payroll_row_edit WHERE batch_id = %s ORDER BY id DESC",
                    (batch_id,))
        edits = [dict(zip(EDIT_COLUMNS, row)) for row in cur.fetchall()]
    return dict(zip(BATCH_COLUMNS, found)), rows, edits


def _parse(field: str, text: str):
    """The value as typed, or EditRefused naming the field and why: stored exactly as the edit log shows it."""
    text = text.strip()
    if field == "hours":
        try:
            return parse_hours(text)
        except ValueError as exc:
            raise EditRefused(f"hours: {str(exc)[:120]}") from None
    if field == "work_date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise EditRefused(f"work_date: not a date (YYYY-MM-DD): {text[:40]!r}") from None
    if problem := text_problem(field, text):
        raise EditRefused(problem)
    if field == "comment":
        return text or None
    if not text:
        raise EditRefused(f"{field} is required")
    return text


def local_flags(row: dict, start: date, end: date) -> list[str]:
    """The checks that need no outside system, in the loader's words."""
    flags = []
    if not (row["employee_code"] and row["time_type"]):
        flags.append("employee code and time type are required")
    if row["hours"] is not None and row["hours"] < 0:
        flags.append("negative hours")
    if row["work_date"] is not None and not start <= row["work_date"] <= end:
        flags.append(f"date outside the period {start}..{end}")
    return flags


def edit_row(conn, batch_id: int, row_id: int, values: dict[str, str], note: str, actor: str) -> list[str]:
    """Change a staged row; returns the fields changed. Refused once the batch is decided."""
    changes = {}
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT {', '.join('r.' + c for c in ROW_COLUMNS)}, b.status, b.period_start, b.period_end"
                " FROM payroll_row r JOIN payroll_batch b ON b.id = r.batch_id WHERE r.id = %s AND r.batch_id = %s"
                " FOR UPDATE OF r, b", (row_id, batch_id))
            found = cur.fetchone()
            if found is None:
                raise LookupError(f"no row {row_id} in payroll batch {batch_id}")
            row = dict(zip(ROW_COLUMNS, found[:len(ROW_COLUMNS)]))
            status, start, end = found[len(ROW_COLUMNS):]
            if status != "staged":
                raise EditRefused(f"batch {batch_id} is {status}: rows can be edited only before the decision")
            for field in EDITABLE:
                if field in values:
                    new = _parse(field, values[field])
                    if new != row[field]:
                        changes[field] = (row[field], new)
            if not changes:
                return []
            old_flags = list(row["flags"] or [])
            row.update({field: new for field, (_, new) in changes.items()})
            flags = local_flags(row, start, end)
            cur.execute(f"UPDATE payroll_row SET {', '.join(f'{f} = %s' for f in changes)}, flags = %s WHERE id = %s",
                        [new for _, new in changes.values()] + [flags, row_id])
            cur.executemany(
                "INSERT INTO payroll_row_edit (batch_id, row_id, field, old_value, new_value, old_flags, note, actor)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(batch_id, row_id, field, None if old is None else str(old), None if new is None else str(new),
                  old_flags, note.strip() or None, actor) for field, (old, new) in changes.items()])
    return list(changes)
