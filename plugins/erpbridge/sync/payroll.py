"""Flow C (R-C.3): work time -> staged batch -> a person's decision -> Horizon payroll time import.

Sources: Severa hour entries (``/v1/workhours`` of the period, the user's ``code`` = employee code)
and CSV files in an inbox folder (``employee_code;date;time_type;hours;comment``, UTF-8, ``;`` or
``,``, a header line optional). After a batch is loaded its inbox files move to
``archive/<start>_<end>/`` in the inbox; a rerun of the same period reads them again from there.

Loading sums the chosen rows per employee, date and time type and sends one row per key: Horizon
replaces a key it already holds, so a re-sent period replaces and never doubles; a key an earlier
batch of the period loaded and this one no longer has is sent with 0 hours (removed).
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable

from erpbridge.errors import ExternalSystemError, RecordRejected, RunFailures
from erpbridge.ledger.review import PayrollReview
from erpbridge.ledger.store import Outcome

log = logging.getLogger(__name__)

ENTITY = "payroll_time"
APPROVE = "Approve"
APPROVE_EXCLUDING = "Approve excluding flagged rows"
REJECT = "Reject"
OPTIONS = [APPROVE, APPROVE_EXCLUDING, REJECT]
CSV_COLUMNS = ["employee_code", "date", "time_type", "hours", "comment"]
# flags no approval can override: such a row is never loaded (the others are warnings a person may accept)
BLOCKING = ("unknown employee code", "date outside the period", "negative hours", "unreadable",
            "employee code and time type are required", "Severa user")


def blocking(flags) -> bool:
    return any(str(flag).startswith(BLOCKING) for flag in flags or [])


# --- sources ------------------------------------------------------------------------------------

def period_folder(inbox: Path, start: date, end: date) -> Path:
    return inbox / "archive" / f"{start.isoformat()}_{end.isoformat()}"


def csv_files(inbox: Path, start: date, end: date) -> list[Path]:
    folders = [inbox, period_folder(inbox, start, end)]
    return sorted(p for folder in folders if folder.is_dir() for p in folder.glob("*.csv") if p.is_file())


def read_csv(path: Path) -> list[dict]:
    """Rows of one CSV file; a line that cannot be read becomes a row flagged with the reason."""
    text = path.read_text(encoding="utf-8-sig")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    rows = []
    for number, fields in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        if not any(f.strip() for f in fields):
            continue
        if number == 1 and fields[0].strip().lower() == "employee_code":
            continue
        row = {"source": "csv", "source_ref": f"{path.name}:{number}", "flags": []}
        values = dict(zip(CSV_COLUMNS, (f.strip() for f in fields)))
        row["employee_code"] = values.get("employee_code") or None
        row["time_type"] = values.get("time_type") or None
        row["comment"] = values.get("comment") or None
        if len(fields) < 4:
            row["flags"].append(f"unreadable line: {len(fields)} fields, expected at least 4")
        try:
            row["work_date"] = date.fromisoformat(values.get("date", ""))
        except ValueError:
            row["work_date"] = None
            row["flags"].append(f"unreadable date {values.get('date')!r} (expected YYYY-MM-DD)")
        try:
            row["hours"] = Decimal(values.get("hours", "").replace(",", "."))
        except InvalidOperation:
            row["hours"] = None
            row["flags"].append(f"unreadable hours {values.get('hours')!r}")
        if not row["employee_code"] or not row["time_type"]:
            row["flags"].append("employee code and time type are required")
        rows.append(row)
    return rows


def read_severa(hook, start: date, end: date, default_type: str, overtime_types: dict[str, str]) -> list[dict]:
    """Severa hour entries of the period, with the user's employee code."""
    codes = {u["guid"]: u.get("code") for page in hook.iter_pages("v1/users") for u in page}
    rows = []
    params = {"eventDateStart": start.isoformat(), "eventDateEnd": end.isoformat()}
    for page in hook.iter_pages("v1/workhours", params):
        for entry in page:
            user = entry.get("user") or {}
            overtime = entry.get("overtime") or {}
            time_type = default_type
            if overtime:
                time_type = overtime_types.get(overtime.get("code") or "") or overtime_types.get(
                    overtime.get("name") or "") or f"OVERTIME:{overtime.get('name') or overtime.get('guid')}"
            code = codes.get(user.get("guid"))
            rows.append({
                "source": "severa", "source_ref": entry["guid"], "employee_code": code, "time_type": time_type,
                "work_date": date.fromisoformat(str(entry["eventDate"])[:10]),
                "hours": Decimal(str(entry.get("quantity") or 0)), "comment": entry.get("description"),
                "flags": [] if code else [f"Severa user {user.get('firstName', '')} {user.get('lastName', '')}"
                                          " has no employee code".replace("  ", " ")],
            })
    return rows


# --- validation ---------------------------------------------------------------------------------

def validate(rows: list[dict], employees: set[str], absences: list[dict], start: date, end: date,
             max_hours: float = 24.0) -> list[dict]:
    """Flag every problem on its row (in words); mark exact copies of an earlier row as duplicates."""
    absent: dict[tuple[str, date], str] = {}
    for absence in absences:
        day, last = date.fromisoformat(absence["date_from"]), date.fromisoformat(absence["date_to"])
        while day <= last:
            absent[(absence["employee_code"], day)] = absence.get("absence_type") or "absence"
            day = date.fromordinal(day.toordinal() + 1)
    seen: dict[tuple, tuple[str, str]] = {}  # key -> (source ref, source) of its first row
    per_day: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for row in rows:
        flags = row.setdefault("flags", [])
        code, day, hours = row.get("employee_code"), row.get("work_date"), row.get("hours")
        if code and code not in employees:
            flags.append(f"unknown employee code {code}")
        if hours is not None and hours < 0:
            flags.append("negative hours")
        if day is not None and not start <= day <= end:
            flags.append(f"date outside the period {start}..{end}")
        if code and day is not None and hours and hours > 0 and (code, day) in absent:
            flags.append(f"work on a day of absence ({absent[(code, day)]})")
        key = (code, day, row.get("time_type"), hours)
        first = seen.get(key)
        # Severa entries are distinct records (each its own guid): two of the same hours are not copies
        if None not in key[:3] and first and not (row["source"] == first[1] == "severa"):
            row["duplicate"] = True
            flags.append(f"duplicate of {first[0]}")
        else:
            seen.setdefault(key, (row["source_ref"], row["source"]))
            if code and day is not None and hours and hours > 0:
                per_day[(code, day)] += hours
    for row in rows:
        total = per_day.get((row.get("employee_code"), row.get("work_date")))
        if total is not None and total > Decimal(str(max_hours)) and not row.get("duplicate"):
            row["flags"].append(f"more than {max_hours:g} h on {row['work_date']} ({_h(total)} h in all)")
    return rows


# --- review body --------------------------------------------------------------------------------

def review_body(batch_id: int, start: date, end: date, rows: list[dict]) -> str:
    """Markdown for the reviewer: per employee the hours and row count, then every flagged row."""
    by_employee: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_employee[row.get("employee_code") or "(no code)"].append(row)
    flagged = [r for r in rows if r.get("flags")]
    lines = [f"**Work time {start} .. {end}**, batch {batch_id}: {len(rows)} rows, {len(by_employee)} employees,"
             f" {len(flagged)} flagged.", "", "| employee | hours | rows | flagged |", "| --- | ---: | ---: | ---: |"]
    for code in sorted(by_employee):
        items = by_employee[code]
        hours = sum((r["hours"] for r in items if r.get("hours") is not None and not r.get("duplicate")), Decimal())
        lines.append(f"| {_cell(code)} | {_h(hours)} | {len(items)} | {sum(1 for r in items if r.get('flags'))} |")
    if flagged:
        lines += ["", "**Flagged rows**", "", "| employee | date | type | hours | source | problem |",
                  "| --- | --- | --- | ---: | --- | --- |"]
        for r in flagged:
            hours = "" if r.get("hours") is None else _h(r["hours"])
            lines.append(f"| {_cell(r.get('employee_code') or '')} | {r.get('work_date') or ''} | "
                         f"{_cell(r.get('time_type') or '')} | {hours} | {_cell(r['source_ref'])} | "
                         f"{_cell('; '.join(r['flags']))} |")
    lines += ["", f"*{APPROVE}* loads every row but those that cannot be paid (unknown employee, negative hours,"
                  f" outside the period, unreadable) and counts a duplicate once; *{APPROVE_EXCLUDING}* leaves"
                  f" every flagged row out; *{REJECT}* loads nothing and keeps the batch with your reason."]
    return "\n".join(lines)


def _h(hours: Decimal) -> str:
    return format(Decimal(hours).normalize(), "f")


def _cell(value: str) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


# --- load ---------------------------------------------------------------------------------------

@dataclass
class LoadResult:
    keys: int = 0
    loaded_rows: int = 0
    excluded_rows: int = 0
    refused_keys: int = 0
    removed_keys: int = 0


def load(review: PayrollReview, horizon, batch_id: int, decision: str, reason: str | None,
         responded_by: str | None) -> dict:
    """Apply the reviewer's decision to the batch; only an approval writes to Horizon.

    Each row sent is recorded (rows and transfer log) as it lands. A row that fails for a system reason is
    logged as failed and the load goes on; it then fails (IncompleteTransfer), the batch stays "loading",
    and a retry of the task with the same decision sends what is not loaded yet."""
    batch = review.batch(batch_id)
    resuming = batch["status"] == "loading" and batch["decision"] == decision
    if batch["status"] != "staged" and not resuming:
        raise ValueError(f"batch {batch_id} is {batch['status']}, not staged: it cannot be decided again")
    if decision not in OPTIONS:
        raise ValueError(f"unknown decision {decision!r}")
    if decision == REJECT:
        review.decide(batch_id, "rejected", decision, reason or "(no reason given)", responded_by)
        log.info("batch %s rejected by %s: %s", batch_id, responded_by, reason)
        return {"status": "rejected", "reason": reason}
    if resuming:
        log.info("batch %s: resuming its load (%s), sending what is not loaded yet", batch_id, decision)
    else:
        review.decide(batch_id, "loading", decision, reason, responded_by)
    rows = review.rows(batch_id)
    chosen, excluded = [], []
    for row in rows:
        unusable = row["employee_code"] is None or row["work_date"] is None or row["hours"] is None or not row["time_type"]
        if row["duplicate"] or unusable or blocking(row["flags"]) or (decision == APPROVE_EXCLUDING and row["flags"]):
            excluded.append(row["id"])
        else:
            chosen.append(row)
    review.mark_rows(excluded, "excluded")
    sums: dict[tuple, Decimal] = defaultdict(Decimal)
    members: dict[tuple, list[int]] = defaultdict(list)
    for row in chosen:
        key = (row["employee_code"], row["work_date"], row["time_type"])
        sums[key] += row["hours"]
        members[key].append(row["id"])
    before = review.loaded_keys(batch["period_start"], batch["period_end"], batch_id)
    status = {row["id"]: row["status"] for row in rows}
    result, failures = LoadResult(excluded_rows=len(excluded)), RunFailures("payroll time row")
    for key in sorted(sums) + sorted(before - set(sums)):
        code, day, time_type = key
        hours = sums.get(key, Decimal(0))
        source_id = f"{code}/{day}/{time_type}"
        done = {status[i] for i in members.get(key, [])}
        if done in ({"loaded"}, {"refused"}):  # by an earlier try of this load
            result.keys += done == {"loaded"}
            result.loaded_rows += len(members[key]) if done == {"loaded"} else 0
            result.refused_keys += done == {"refused"}
            continue
        try:
            pk = horizon.import_time({"employee_code": code, "date": day.isoformat(), "time_type": time_type,
                                      "hours": float(hours), "comment": f"erpbridge batch {batch_id}"})
        except RecordRejected as exc:
            review.mark_rows(members.get(key, []), "refused", exc.reason)
            review.ledger.log([Outcome(ENTITY, source_id, "rejected", code, None, exc.category, exc.reason)])
            review.ledger.commit()
            result.refused_keys += 1
            failures.succeeded()
            continue
        except ExternalSystemError as exc:
            review.ledger.log([Outcome(ENTITY, source_id, "failed", code, None, exc.category, str(exc))])
            review.ledger.commit()
            if failures.add(source_id, exc):  # Horizon is down: stop instead of failing every row
                raise
            continue
        failures.succeeded()
        review.mark_rows(members.get(key, []), "loaded")
        action = "updated" if key in before else "created"
        review.ledger.log([Outcome(ENTITY, source_id, action, code, pk,
                                   error_text=None if key in sums else "removed: not in the re-sent period")])
        review.ledger.commit()
        result.keys += 1
        result.loaded_rows += len(members.get(key, []))
        result.removed_keys += key not in sums
    failures.raise_if_any()  # the rows not loaded are sent when the task is retried
    review.finish(batch_id, "loaded_with_errors" if result.refused_keys else "loaded")
    return {"status": "loaded_with_errors" if result.refused_keys else "loaded", **result.__dict__}


def archive_inbox(inbox: Path, start: date, end: date) -> list[str]:
    """Move the inbox's CSV files of a loaded period under archive/<start>_<end>/."""
    target = period_folder(inbox, start, end)
    moved = []
    for path in sorted(inbox.glob("*.csv")) if inbox.is_dir() else []:
        target.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target / path.name)
        moved.append(path.name)
    return moved


def previous_month(today: date) -> tuple[date, date]:
    first_this = today.replace(day=1)
    last_prev = date.fromordinal(first_this.toordinal() - 1)
    return last_prev.replace(day=1), last_prev


def as_date(value: str | date | datetime | None) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def to_json(rows: Iterable[dict]) -> list[dict]:
    return [{k: (str(v) if isinstance(v, (date, Decimal)) else v) for k, v in r.items()} for r in rows]
