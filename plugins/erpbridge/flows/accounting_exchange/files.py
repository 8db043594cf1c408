"""Exchange files: recorded in the ledger (``accounting_export_file``, migration 008) before they are written,
then delivered to the destination (engine.destinations: a local folder or a folder on an SFTP server)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ExchangeFile:
    name: str
    destination: str
    content: bytes
    first_issue_date: date
    last_issue_date: date
    documents: int


def file_name(company_program_id: str, first_saldeo_id: str, extension: str) -> str:
    """``<company>-<first document's hub id>.<ext>``: unique (a document is in one file only), no path parts."""
    return f"{company_part(company_program_id)}-{int(first_saldeo_id):010d}.{extension}"


def company_part(company_program_id: str) -> str:
    """The company's program id as a file name's first part: no path parts."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", company_program_id) or "company"


def record(ledger, exchange_file: ExchangeFile) -> None:
    """The file in the ledger of its company and flow (the caller commits)."""
    with ledger.conn.cursor() as cur:
        cur.execute(
            "INSERT INTO accounting_export_file (company, flow, file_name, destination, content, sha256, documents,"
            " first_issue_date, last_issue_date) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (ledger.company, ledger.flow, exchange_file.name, exchange_file.destination, exchange_file.content,
             hashlib.sha256(exchange_file.content).hexdigest(), exchange_file.documents,
             exchange_file.first_issue_date, exchange_file.last_issue_date))


def _rows(ledger, where: str, args: tuple) -> list[ExchangeFile]:
    with ledger.conn.cursor() as cur:
        cur.execute("SELECT file_name, destination, content, first_issue_date, last_issue_date, documents"
                    f" FROM accounting_export_file WHERE company = %s AND flow = %s AND {where} ORDER BY file_name",
                    (ledger.company, ledger.flow, *args))
        return [ExchangeFile(name, destination, bytes(content), first, last, count)
                for name, destination, content, first, last, count in cur.fetchall()]


def unwritten(ledger) -> list[ExchangeFile]:
    return _rows(ledger, "written_at IS NULL", ())


def of_period(ledger, first: date, last: date) -> list[ExchangeFile]:
    """Files holding a document issued between ``first`` and ``last`` (inclusive)."""
    return _rows(ledger, "first_issue_date <= %s AND last_issue_date >= %s", (last, first))


def mark_written(ledger, name: str) -> None:
    with ledger.conn.cursor() as cur:
        cur.execute("UPDATE accounting_export_file SET written_at = now() WHERE company = %s AND flow = %s"
                    " AND file_name = %s", (ledger.company, ledger.flow, name))
