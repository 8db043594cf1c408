"""Exchange files: recorded in the ledger (``accounting_export_file``, migration 008) before they are written,
then written atomically (a temporary name in the same folder, fsync, rename) into the destination: a local folder
(``/path``) or a folder on an SFTP server (``sftp://<Airflow connection id>/path``)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path


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
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", company_program_id) or "company"
    return f"{safe}-{int(first_saldeo_id):010d}.{extension}"


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


SFTP = re.compile(r"^sftp://(?P<conn_id>[A-Za-z0-9_.-]+)(?P<folder>/.*)$")  # sftp://<Airflow connection id>/folder


def _sftp(location: str):
    """(the SFTP hook, the folder on the server) of an ``sftp://`` location; None for a local folder."""
    remote = SFTP.match(location)
    if remote is None:
        return None
    from airflow.sdk import Connection

    return Connection.get(remote["conn_id"]).get_hook(), remote["folder"]


def deliver(destination: str, name: str, content: bytes) -> None:
    """``content`` as ``name`` in the destination, whole or not at all. Raises OSError (a local folder) or
    SftpRefused (an SFTP server: its kind and what to do)."""
    remote = _sftp(destination)
    if remote is None:
        write_atomically(destination, name, content)
    else:
        hook, folder = remote
        hook.write_atomically(folder, name, content)


def collect(source: str, suffix: str) -> list[tuple[str, bytes]]:
    """(name, content) of every regular file directly in the source folder whose name ends with ``suffix``, in
    name order. Raises OSError (a local folder) or SftpRefused (an SFTP server)."""
    remote = _sftp(source)
    if remote is not None:
        hook, folder = remote
        return hook.read_files(folder, suffix)
    paths = sorted(p for p in Path(source).iterdir() if p.name.lower().endswith(suffix) and p.is_file())
    return [(path.name, path.read_bytes()) for path in paths]


def write_atomically(folder: str, name: str, content: bytes) -> Path:
    """``content`` as ``folder/name``: whole or not at all, never a half-written file under that name."""
    directory = Path(folder)
    target = directory / name
    if target.parent != directory or name.startswith("."):
        raise ValueError(f"{name!r} is not a plain file name")
    for stale in directory.glob(f".{name}.*.tmp"):  # left by a writer killed mid-write
        stale.unlink(missing_ok=True)
    temporary = directory / f".{name}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)  # the rename itself survives a power cut
    finally:
        os.close(descriptor)
    return target
