"""What the control room reads from and writes to the ledger: plain SQL over one psycopg connection.

The history is paged by keyset on (at, id), newest first: a page costs the same at row 50 as at
row 900,000, and the indexes of migration 004 serve the filters a user combines.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from itertools import groupby

from erpbridge.company import dag_id

ACTIONS = ("created", "updated", "unchanged", "skipped", "rejected", "failed", "dismissed", "gone")
PAGE_SIZE = 50
QUARANTINE_LIMIT = 1000

HISTORY_COLUMNS = ("id", "at", "company", "flow", "system", "entity", "source_id", "source_key", "target_id", "action",
                   "error_category", "error_text", "dag_id", "run_id", "task_id", "try_number", "comment", "actor")


@dataclass
class HistoryFilter:
    """The history's filters as the user typed them; empty means "any"."""

    company: str = ""
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
        for column in ("company", "flow", "entity", "action"):
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
    """Values for the company, flow and entity pickers: distinct values by a loose index scan (cheap on big
    tables)."""
    out = {}
    for column, index_lead in (("company", "company"), ("flow", "flow"), ("entity", "entity")):
        with conn.cursor() as cur:
            cur.execute(
                f"WITH RECURSIVE v AS (SELECT min({index_lead}) AS x FROM transfer_log UNION ALL"
                f" SELECT (SELECT min({index_lead}) FROM transfer_log WHERE {index_lead} > v.x) FROM v"
                f" WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL")
            out[column] = [row[0] for row in cur.fetchall()]
    return out


def companies(conn) -> list[str]:
    """The companies the ledger knows (its log, quarantine and watermarks), for the company pickers."""
    with conn.cursor() as cur:
        cur.execute("SELECT company FROM quarantine UNION SELECT company FROM watermark")
        known = {row[0] for row in cur.fetchall()}
    return sorted(known | set(choices(conn)["company"]))


# --- quarantine ------------------------------------------------------------------------------------

QUARANTINE_COLUMNS = ("company", "flow", "entity", "system", "source_id", "source_key", "reason", "error_category",
                      "first_seen", "last_seen", "attempts")
RECORD_KEY = ("company", "flow", "entity", "system", "source_id")  # what names one waiting record


def _waiting(row: tuple) -> dict:
    """A quarantine row, with the DAG that runs its flow for its company."""
    record = dict(zip(QUARANTINE_COLUMNS, row))
    return {**record, "dag_id": dag_id(record["flow"], record["company"])}


def quarantine(conn, company: str = "", limit: int = QUARANTINE_LIMIT) -> list[tuple[tuple[str, str], list[dict]]]:
    """Waiting records (of ``company``, or of all) grouped by company and reason, largest group first within a
    company."""
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(QUARANTINE_COLUMNS)} FROM quarantine WHERE (%s = '' OR company = %s)"
            " ORDER BY company, count(*) OVER (PARTITION BY company, reason) DESC, reason, first_seen LIMIT %s",
            (company, company, limit))
        rows = [_waiting(row) for row in cur.fetchall()]
    return [(key, list(group)) for key, group in groupby(rows, key=lambda r: (r["company"], r["reason"]))]


def quarantined_record(conn, key: dict) -> dict | None:
    """One waiting record named by ``key`` (RECORD_KEY), or None when it is not (or no longer) waiting."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(QUARANTINE_COLUMNS)} FROM quarantine WHERE "
                    + " AND ".join(f"{column} = %s" for column in RECORD_KEY), [key[c] for c in RECORD_KEY])
        row = cur.fetchone()
    return _waiting(row) if row else None


def dismiss(conn, key: dict, comment: str, actor: str) -> bool:
    """Take a record out of quarantine, keeping a 'dismissed' row with the comment in the history."""
    if not comment.strip():
        raise ValueError("a comment is required to dismiss a record")
    values = [key[c] for c in RECORD_KEY]
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute("DELETE FROM quarantine WHERE " + " AND ".join(f"{column} = %s" for column in RECORD_KEY)
                        + " RETURNING source_key, reason, error_category", values)
            row = cur.fetchone()
            if row is None:
                return False
            cur.execute(
                f"INSERT INTO transfer_log ({', '.join(RECORD_KEY)}, source_key, action, error_category, error_text,"
                " comment, actor) VALUES (%s, %s, %s, %s, %s, %s, 'dismissed', %s, %s, %s, %s)",
                (*values, row[0], row[2], row[1], comment.strip(), actor))
    return True


# --- per flow ------------------------------------------------------------------------------------

def flow_status(conn, company: str = "", now: datetime | None = None) -> list[dict]:
    """Per company and flow (of ``company``, or of all): counts of the last 24 h by action, waiting records,
    watermarks and the DAG that runs it."""
    flows: dict[tuple[str, str], dict] = {}

    def flow(company_name: str, name: str) -> dict:
        return flows.setdefault((company_name, name), {
            "company": company_name, "flow": name, "dag_id": dag_id(name, company_name), "counts": {},
            "quarantined": 0, "watermarks": []})

    mine = "(%(company)s = '' OR company = %(company)s)"
    args = {"company": company, "now": now}
    with conn.cursor() as cur:
        cur.execute(f"SELECT company, flow, action, count(*) FROM transfer_log WHERE {mine} AND"
                    " at >= coalesce(%(now)s, now()) - interval '24 hours' GROUP BY company, flow, action", args)
        for company_name, name, action, count in cur.fetchall():
            flow(company_name, name)["counts"][action] = count
        cur.execute(f"SELECT company, flow, count(*) FROM quarantine WHERE {mine} GROUP BY company, flow", args)
        for company_name, name, count in cur.fetchall():
            flow(company_name, name)["quarantined"] = count
        cur.execute(f"SELECT company, flow, system, stream, value, updated_at FROM watermark WHERE {mine}"
                    " ORDER BY company, flow, system, stream", args)
        for company_name, name, system, stream, value, updated_at in cur.fetchall():
            flow(company_name, name)["watermarks"].append(
                {"system": system, "stream": stream, "value": value, "updated_at": updated_at})
        cur.execute(  # every (company, flow) the log has ever seen, by a loose scan of transfer_log_source
            f"WITH RECURSIVE v (company, flow) AS ((SELECT company, flow FROM transfer_log WHERE {mine}"
            " ORDER BY company, flow LIMIT 1) UNION ALL SELECT n.company, n.flow FROM v, LATERAL (SELECT company, flow"
            f" FROM transfer_log WHERE {mine} AND (company, flow) > (v.company, v.flow) ORDER BY company, flow LIMIT 1) n)"
            " SELECT company, flow FROM v", args)
        for company_name, name in cur.fetchall():
            flow(company_name, name)
    return [flows[key] for key in sorted(flows)]
