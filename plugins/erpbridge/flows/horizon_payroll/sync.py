"""Flow C (R-C.3): work time -> staged batch -> a person's decision -> Horizon payroll time import.

Sources: Severa hour entries (``/v1/workhours`` of the period, the user's ``code`` = employee code)
and CSV files in an inbox folder (``employee_code;date;time_type;hours;comment``, UTF-8, ``;`` or
``,``, a header line optional). The inbox is a folder inside one of the configured inbox roots;
symbolic links are never followed. After a batch is loaded the inbox files it read move to
``archive/<start>_<end>/`` in the inbox; a rerun of the same period reads them again from there.

Loading sums the chosen rows per employee, date and time type and sends one row per key: Horizon
replaces a key it already holds, so a re-sent period replaces and never doubles; a key an earlier
batch of the period loaded and this one no longer has is sent with 0 hours (removed); such
removals are listed in the review and need the reviewer's confirmation (``confirm_removal``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
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
MAX_TEXT = {"employee_code": 100, "time_type": 100, "comment": 1000}  # characters kept of a source's text
MAX_HOURS = Decimal("9999.99")  # what the review table holds (numeric(6, 2))
# flags no approval can override: such a row is never loaded (the others are warnings a person may accept)
BLOCKING = ("unknown employee code", "date outside the period", "negative hours", "unreadable",
            "employee code and time type are required", "Severa user")


def blocking(flags) -> bool:
    return any(str(flag).startswith(BLOCKING) for flag in flags or [])


class InboxRefused(ValueError):
    """The inbox asked for is not a folder inside the configured inbox roots."""


class RemovalNotConfirmed(ValueError):
    """The load would remove entries Horizon holds for the period and the reviewer did not confirm it."""


def parse_hours(text: str) -> Decimal:
    """Hours as a person writes them ("7,5"): finite, at most two decimals, within what can be stored."""
    try:
        hours = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not hours.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    if abs(hours) > MAX_HOURS:
        raise ValueError(f"{text!r} is beyond {MAX_HOURS}")
    if hours != hours.quantize(Decimal("0.01")):
        raise ValueError(f"{text!r} has more than two decimals (hours are kept to the hundredth)")
    return hours


def text_problem(field: str, value: str | None) -> str | None:
    """Why a text from a source cannot be kept as it is (a NUL character, too long), or None."""
    if value is None:
        return None
    if "\x00" in value:
        return f"{field} contains a NUL character"
    if len(value) > MAX_TEXT[field]:
        return f"{field} is {len(value)} characters long, more than {MAX_TEXT[field]}"
    return None


# --- sources ------------------------------------------------------------------------------------

def period_folder(inbox: Path, start: date, end: date) -> Path:
    return inbox / "archive" / f"{start.isoformat()}_{end.isoformat()}"


def inbox_folder(requested: str | None, roots: list[str]) -> Path:
    """The inbox of a run: ``requested`` (absolute, or relative to the first root) when it is an existing folder
    inside one of ``roots`` once symbolic links are resolved; the first root when nothing is requested."""
    real_roots = [Path(root).resolve() for root in roots]
    if not requested:
        return real_roots[0]
    wanted = Path(requested)
    real = (wanted if wanted.is_absolute() else real_roots[0] / wanted).resolve()
    if not any(real.is_relative_to(root) for root in real_roots):
        raise InboxRefused(f"inbox {requested!r} is outside the configured inbox roots ({', '.join(roots)}); "
                           "inbox_roots in the Variable erpbridge_horizon_payroll lists them")
    if not real.is_dir():
        raise InboxRefused(f"inbox {requested!r} is not an existing folder: nothing staged (a batch without its "
                           "files would remove hours already loaded)")
    return real


def csv_files(inbox: Path, start: date, end: date) -> tuple[list[Path], list[str]]:
    """The CSV files of the inbox and of the period's archive folder, and those not read (with why):
    a symbolic link, or anything that leads outside the inbox, is never read."""
    files, skipped = [], []
    for folder in (inbox, period_folder(inbox, start, end)):
        if folder.is_symlink() or not folder.is_dir():
            if folder.is_symlink():
                skipped.append(f"{folder.relative_to(inbox)}/ (a symbolic link: not read)")
            continue
        for path in sorted(folder.glob("*.csv")):
            if path.is_symlink() or not path.resolve().is_relative_to(inbox):
                skipped.append(f"{path.relative_to(inbox)} (a symbolic link: not read)")
            elif path.is_file():
                files.append(path)
    for reason in skipped:
        log.warning("inbox %s: %s", inbox, reason)
    return files, skipped


def read_csv(path: Path) -> list[dict]:
    """Rows of one CSV file; a line that cannot be read becomes a row flagged with the reason, a file that
    cannot be read one row flagged with the file's name and why."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [_unreadable(path.name, f"unreadable file {path.name}: {exc}")]
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    rows = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # the reader goes on with the next line
            rows.append(_unreadable(f"{path.name}:{reader.line_num}", f"unreadable line: {exc}"))
            continue
        number = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if number == 1 and fields[0].strip().lower() == "employee_code":
            continue
        row = {"source": "csv", "source_ref": f"{path.name}:{number}", "flags": []}
        values = dict(zip(CSV_COLUMNS, (f.strip() for f in fields)))
        for field in ("employee_code", "time_type", "comment"):
            row[field] = _kept_text(field, values.get(field) or None, row["flags"])
        if len(fields) < 4:
            row["flags"].append(f"unreadable line: {len(fields)} fields, expected at least 4")
        try:
            row["work_date"] = date.fromisoformat(values.get("date", ""))
        except ValueError:
            row["work_date"] = None
            row["flags"].append(f"unreadable date {values.get('date', '')[:40]!r} (expected YYYY-MM-DD)")
        try:
            row["hours"] = parse_hours(values.get("hours", ""))
        except ValueError as exc:
            row["hours"] = None
            row["flags"].append(f"unreadable hours: {str(exc)[:80]}")
        if not row["employee_code"] or not row["time_type"]:
            row["flags"].append("employee code and time type are required")
        rows.append(row)
    return rows


def _unreadable(source_ref: str, flag: str) -> dict:
    return {"source": "csv", "source_ref": source_ref, "employee_code": None, "work_date": None, "time_type": None,
            "hours": None, "comment": None, "flags": [flag]}


def _kept_text(field: str, value: str | None, flags: list[str]) -> str | None:
    """The text as read, or, when it cannot be kept (NUL, too long), a visibly marked stand-in and a
    blocking flag saying why: never stored differently without saying so."""
    problem = text_problem(field, value)
    if problem is None:
        return value
    flags.append(f"unreadable {problem}")
    return value.replace("\x00", "\ufffd")[:MAX_TEXT[field]] + ("…" if len(value) > MAX_TEXT[field] else "")


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

def review_body(batch_id: int, start: date, end: date, rows: list[dict], removals: list[tuple] = (),
                sources: list[str] = ()) -> str:
    """Markdown for the reviewer: what was read, per employee the hours and row count, every flagged row and
    every entry loaded earlier that this batch would remove. Source text is escaped: shown, never rendered."""
    by_employee: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_employee[row.get("employee_code") or "(no code)"].append(row)
    flagged = [r for r in rows if r.get("flags")]
    lines = [f"**Work time {start} .. {end}**, batch {batch_id}: {len(rows)} rows, {len(by_employee)} employees,"
             f" {len(flagged)} flagged.", ""]
    lines += [f"Read: {_md('; '.join(sources))}.", ""] if sources else []
    lines += ["| employee | hours | rows | flagged |", "| --- | ---: | ---: | ---: |"]
    for code in sorted(by_employee):
        items = by_employee[code]
        hours = sum((r["hours"] for r in items if r.get("hours") is not None and not r.get("duplicate")), Decimal())
        lines.append(f"| {_md(code)} | {_h(hours)} | {len(items)} | {sum(1 for r in items if r.get('flags'))} |")
    if flagged:
        lines += ["", "**Flagged rows**", "", "| employee | date | type | hours | source | problem |",
                  "| --- | --- | --- | ---: | --- | --- |"]
        for r in flagged:
            hours = "" if r.get("hours") is None else _h(r["hours"])
            lines.append(f"| {_md(r.get('employee_code') or '')} | {r.get('work_date') or ''} | "
                         f"{_md(r.get('time_type') or '')} | {hours} | {_md(r['source_ref'])} | "
                         f"{_md('; '.join(r['flags']))} |")
    if removals:
        lines += ["", f"**Removed from Horizon: {len(removals)} entries loaded earlier for this period are not in"
                      " this batch.** An approval removes them only with *confirm_removal* ticked:", "",
                  "| employee | date | type |", "| --- | --- | --- |"]
        lines += [f"| {_md(code)} | {day} | {_md(time_type)} |" for code, day, time_type in removals]
    lines += ["", f"*{APPROVE}* loads every row but those that cannot be paid (unknown employee, negative hours,"
                  f" outside the period, unreadable) and counts a duplicate once; *{APPROVE_EXCLUDING}* leaves"
                  f" every flagged row out (say why); *{REJECT}* loads nothing and keeps the batch with your"
                  f" reason (required)."]
    return "\n".join(lines)


def loadable_keys(rows: list[dict], decision: str = APPROVE) -> set[tuple]:
    """(employee, date, time type) of the rows ``decision`` would send to Horizon."""
    return {(r["employee_code"], r["work_date"], r["time_type"]) for r in rows if _chosen(r, decision)}


def _chosen(row: dict, decision: str) -> bool:
    unusable = not row.get("employee_code") or row.get("work_date") is None or row.get("hours") is None \
        or not row.get("time_type")
    return not (row.get("duplicate") or unusable or blocking(row.get("flags"))
                or (decision == APPROVE_EXCLUDING and row.get("flags")))


def _h(hours: Decimal) -> str:
    return format(Decimal(hours).normalize(), "f")


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:/=\"'$%@^])")


def _md(value: str) -> str:
    """Text from a source as literal text in a markdown table cell: every punctuation mark a renderer could
    read as syntax (links, images, autolinks, HTML, emphasis, cell ends) is backslash-escaped."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).split()))


# --- load ---------------------------------------------------------------------------------------

@dataclass
class LoadResult:
    keys: int = 0
    loaded_rows: int = 0
    excluded_rows: int = 0
    refused_keys: int = 0
    removed_keys: int = 0


def load(review: PayrollReview, horizon, batch_id: int, decision: str, reason: str | None,
         responded_by: str | None, confirm_removal: bool = False, max_removal_share: float = 0.0) -> dict:
    """Apply the reviewer's decision to the batch; only an approval writes to Horizon.

    Each row sent is recorded (rows and transfer log) as it lands. A row that fails for a system reason is
    logged as failed and the load goes on; it then fails (IncompleteTransfer), the batch stays "loading",
    and a retry of the task with the same decision sends what is not loaded yet. A load that would remove more
    than ``max_removal_share`` of the entries earlier batches loaded for the period is refused (the batch is
    rejected, Horizon untouched) unless ``confirm_removal``."""
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
    rows = review.rows(batch_id)
    chosen = [row for row in rows if _chosen(row, decision)]
    excluded = [row["id"] for row in rows if not _chosen(row, decision)]
    before = review.loaded_keys(batch["period_start"], batch["period_end"], batch_id)
    removed = sorted(before - {(r["employee_code"], r["work_date"], r["time_type"]) for r in chosen})
    if not resuming and removed and len(removed) > max_removal_share * len(before) and not confirm_removal:
        why = (f"not loaded: it would remove {len(removed)} of the {len(before)} entries loaded for "
               f"{batch['period_start']}..{batch['period_end']} ({', '.join(f'{c} {d} {t}' for c, d, t in removed)})"
               " and removal was not confirmed")
        review.decide(batch_id, "rejected", decision, why, responded_by)
        raise RemovalNotConfirmed(f"batch {batch_id} {why}")
    if resuming:
        log.info("batch %s: resuming its load (%s), sending what is not loaded yet", batch_id, decision)
    else:
        review.decide(batch_id, "loading", decision, reason, responded_by)
    review.mark_rows(excluded, "excluded")
    sums: dict[tuple, Decimal] = defaultdict(Decimal)
    members: dict[tuple, list[int]] = defaultdict(list)
    for row in chosen:
        key = (row["employee_code"], row["work_date"], row["time_type"])
        sums[key] += row["hours"]
        members[key].append(row["id"])
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


def fingerprint(path: Path) -> str:
    """What a file held when the batch read it (to archive that file only if it still holds it)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def archive_inbox(inbox: Path, start: date, end: date, files: dict[str, str]) -> list[str]:
    """Move the inbox's CSV files a loaded batch read (``files``: name -> fingerprint, as staged) under
    archive/<start>_<end>/. A file added or changed since it was read stays where it is, with a warning."""
    target = period_folder(inbox, start, end)
    moved = []
    for name, read in files.items():
        path = inbox / name
        if path.parent != inbox or path.is_symlink() or not path.is_file():
            continue
        if fingerprint(path) != read:
            log.warning("inbox file %s changed after the batch read it: left in the inbox", name)
            continue
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
