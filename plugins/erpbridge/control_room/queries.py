"""What the control room reads from and writes to the ledger: plain SQL over one psycopg connection.

The history is paged by keyset on (at, id), newest first: a page costs the same at row 50 as at
row 900,000, and the indexes of migration 004 serve the filters a user combines.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from itertools import groupby

ACTIONS = ("created", "updated", "unchanged", "skipped", "rejected", "failed", "dismissed")
PAGE_SIZE = 50
QUARANTINE_LIMIT = 1000

HISTORY_COLUMNS = ("id", "at", "flow", "entity", "source_id", "source_key", "target_id", "action", "error_category",
                   "error_text", "dag_id", "run_id", "task_id", "try_number", "comment", "actor")


@dataclass
class HistoryFilter:
    """The history's filters as the user typed them; empty means "any"."""

    flow: str = ""
    entity: str = ""
    action: str = ""
    record: str = ""  # a source id, a source key (code / number) or a target id
    document: str = ""  # a document number (the source key of a document's rows)
    date_from: str = ""  # YYYY-MM-DD, inclusive
    date_to: str = ""  # YYYY-MM-DD, inclusive

    @classmethod
    def from_query(cls, params) -> "HistoryFilter":
        return cls(**{f.name: (params.get(f.name) or "").strip() for f in fields(cls)})

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}

    def where(self) -> tuple[list[str], list]:
        clauses: list[str] = []
        args: list = []
        for column in ("flow", "entity", "action"):
            if value := getattr(self, column):
                clauses.append(f"{column} = %s")
                args.append(value)
        if self.record:
            clauses.append("(source_id = %s OR source_key = %s OR target_id = %s)")
            args += [self.record] * 3
        if self.document:
            clauses.append("source_key = %s")
            args.append(self.document)
        if self.date_from:
            clauses.append("at >= %s")
            args.append(_day(self.date_from))
        if self.date_to and (last := _day(self.date_to)) < date.max:  # date.max: no end
            clauses.append("at < %s")
            args.append(last + timedelta(days=1))
        return clauses, args


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {text[:40]!r}") from None


@dataclass
class Scope:
    """The records a user may see: those of ``dag_ids``, and those without a DAG when ``without_dag``."""

    dag_ids: set[str]
    without_dag: bool

    def where(self) -> tuple[str, list]:
        clause = "dag_id = ANY(%s)" + (" OR dag_id IS NULL OR dag_id = ''" if self.without_dag else "")
        return f"({clause})", [sorted(self.dag_ids)]


def dag_ids(conn) -> list[str]:
    """The DAG ids in the transfer log, by a loose index scan (migration 005)."""
    with conn.cursor() as cur:
        cur.execute(
            "WITH RECURSIVE v AS (SELECT min(dag_id) AS x FROM transfer_log WHERE dag_id <> '' UNION ALL"
            " SELECT (SELECT min(dag_id) FROM transfer_log WHERE dag_id > v.x) FROM v WHERE v.x IS NOT NULL)"
            " SELECT x FROM v WHERE x IS NOT NULL")
        return [row[0] for row in cur.fetchall()]


def encode_cursor(at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.rsplit("|", 1)
        return datetime.fromisoformat(at), int(row_id)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("bad page cursor") from None


@dataclass
class Page:
    rows: list[dict]
    next_cursor: str | None


def history(conn, flt: HistoryFilter, after: str | None = None, limit: int = PAGE_SIZE,
            scope: Scope | None = None) -> Page:
    """One page of the transfer log, newest first, after the keyset cursor ``after``, within ``scope`` (None:
    every record)."""
    clauses, args = flt.where()
    if scope is not None:
        clause, scope_args = scope.where()
        clauses.append(clause)
        args += scope_args
    if after:
        at, row_id = decode_cursor(after)
        clauses.append("(at, id) < (%s, %s)")
        args += [at, row_id]
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = (f"SELECT {', '.join(HISTORY_COLUMNS)} FROM transfer_log {where}"
           f" ORDER BY at DESC, id DESC LIMIT %s")
    with conn.cursor() as cur:
        cur.execute(sql, [*args, limit + 1])
        rows = [dict(zip(HISTORY_COLUMNS, row)) for row in cur.fetchall()]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]["at"], rows[-1]["id"]) if more else None)


def choices(conn) -> dict[str, list[str]]:
    """Values for the flow and entity pickers: distinct values by a loose index scan (cheap on big tables)."""
    out = {}
    for column, index_lead in (("flow", "flow"), ("entity", "entity")):
        with conn.cursor() as cur:
            cur.execute(
                f"WITH RECURSIVE v AS (SELECT min({index_lead}) AS x FROM transfer_log UNION ALL"
                f" SELECT (SELECT min({index_lead}) FROM transfer_log WHERE {index_lead} > v.x) FROM v"
                f" WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL")
            out[column] = [row[0] for row in cur.fetchall()]
    return out


# --- quarantine ------------------------------------------------------------------------------------

QUARANTINE_COLUMNS = ("flow", "entity", "source_id", "source_key", "reason", "error_category", "first_seen",
                      "last_seen", "attempts", "dag_id")


def quarantine(conn, limit: int = QUARANTINE_LIMIT) -> list[tuple[str, list[dict]]]:
    """Waiting records grouped by reason (largest group first), each with the DAG that last tried it."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT q.flow, q.entity, q.source_id, q.source_key, q.reason, q.error_category, q.first_seen,"
            " q.last_seen, q.attempts, t.dag_id FROM quarantine q LEFT JOIN LATERAL (SELECT dag_id FROM transfer_log l"
            " WHERE l.flow = q.flow AND l.entity = q.entity AND l.source_id = q.source_id AND l.dag_id <> ''"
            " ORDER BY l.at DESC, l.id DESC LIMIT 1) t ON true"
            " ORDER BY count(*) OVER (PARTITION BY q.reason) DESC, q.reason, q.first_seen LIMIT %s", (limit,))
        rows = [dict(zip(QUARANTINE_COLUMNS, row)) for row in cur.fetchall()]
    return [(reason, list(group)) for reason, group in groupby(rows, key=lambda r: r["reason"])]


def quarantined_record(conn, flow: str, entity: str, source_id: str) -> dict | None:
    """One waiting record with the DAG that last tried it, or None when it is not (or no longer) waiting."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT q.flow, q.entity, q.source_id, q.source_key, q.reason, q.error_category, q.first_seen,"
            " q.last_seen, q.attempts, (SELECT dag_id FROM transfer_log l WHERE l.flow = q.flow AND"
            " l.entity = q.entity AND l.source_id = q.source_id AND l.dag_id <> '' ORDER BY l.at DESC, l.id DESC"
            " LIMIT 1) FROM quarantine q WHERE q.flow = %s AND q.entity = %s AND q.source_id = %s",
            (flow, entity, source_id))
        row = cur.fetchone()
    return dict(zip(QUARANTINE_COLUMNS, row)) if row else None


def dismiss(conn, flow: str, entity: str, source_id: str, comment: str, actor: str) -> bool:
    """Take a record out of quarantine, keeping a 'dismissed' row with the comment in the history."""
    if not comment.strip():
        raise ValueError("a comment is required to dismiss a record")
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute("DELETE FROM quarantine WHERE flow = %s AND entity = %s AND source_id = %s"
                        " RETURNING source_key, reason, error_category", (flow, entity, source_id))
            row = cur.fetchone()
            if row is None:
                return False
            cur.execute(
                "INSERT INTO transfer_log (flow, entity, source_id, source_key, action, error_category, error_text,"
                " comment, actor) VALUES (%s, %s, %s, %s, 'dismissed', %s, %s, %s, %s)",
                (flow, entity, source_id, row[0], row[2], row[1], comment.strip(), actor))
    return True


# --- per flow ------------------------------------------------------------------------------------

def flow_status(conn, now: datetime | None = None) -> list[dict]:
    """Per flow: counts of the last 24 h by action, waiting records, watermarks and its latest DAG."""
    flows: dict[str, dict] = {}

    def flow(name: str) -> dict:
        return flows.setdefault(name, {"flow": name, "counts": {}, "quarantined": 0, "watermarks": [],
                                       "dag_ids": []})

    with conn.cursor() as cur:
        cur.execute("SELECT flow, action, count(*) FROM transfer_log WHERE at >= coalesce(%s, now())"
                    " - interval '24 hours' GROUP BY flow, action", (now,))
        for name, action, count in cur.fetchall():
            flow(name)["counts"][action] = count
        cur.execute("SELECT flow, count(*) FROM quarantine GROUP BY flow")
        for name, count in cur.fetchall():
            flow(name)["quarantined"] = count
        cur.execute("SELECT flow, stream, value, updated_at FROM watermark ORDER BY flow, stream")
        for name, stream, value, updated_at in cur.fetchall():
            flow(name)["watermarks"].append({"stream": stream, "value": value, "updated_at": updated_at})
        for name in list(flows) + [f for f in choices(conn)["flow"] if f not in flows]:
            cur.execute("SELECT DISTINCT dag_id FROM (SELECT dag_id FROM transfer_log WHERE flow = %s"
                        " AND dag_id <> '' ORDER BY at DESC, id DESC LIMIT 200) recent", (name,))
            flow(name)["dag_ids"] = sorted(row[0] for row in cur.fetchall())
    return [flows[name] for name in sorted(flows)]
