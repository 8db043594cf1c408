"""Where files go to and come from: a local folder (``/path``) or a folder on an SFTP server
(``sftp://<Airflow connection id>/path``, hooks/exchange_sftp.py). A file is delivered whole or not at all (a
temporary name in the same folder, then a rename over the final name)."""

from __future__ import annotations

import os
import re
from pathlib import Path

LOCATION = r"^(/|sftp://[A-Za-z0-9_.-]+/)"  # the settings' pattern of a location
SFTP = re.compile(r"^sftp://(?P<conn_id>[A-Za-z0-9_.-]+)(?P<folder>/.*)$")  # sftp://<Airflow connection id>/folder
# an SFTP server's refusal (SftpRefused.kind) -> the failure category of a destination in the transfer log
DESTINATION_KIND = {"CREDENTIALS": "DESTINATION_CREDENTIALS", "HOST_KEY": "DESTINATION_HOST_KEY",
                    "NO_RIGHTS": "DESTINATION_UNWRITABLE", "UNREACHABLE": "DESTINATION_UNREACHABLE"}


def is_remote(location: str) -> bool:
    return SFTP.match(location) is not None


def _sftp(location: str):
    """(the SFTP hook, the folder on the server) of an ``sftp://`` location; None for a local folder."""
    remote = SFTP.match(location)
    if remote is None:
        return None
    from airflow.sdk import Connection

    return Connection.get(remote["conn_id"]).get_hook(), remote["folder"]


def deliver(location: str, name: str, content: bytes, *, if_different: bool = False) -> None:
    """``content`` as ``name`` in the location, whole or not at all; ``if_different``: a file of that name already
    holding these bytes is left alone. Raises OSError (a local folder) or SftpRefused (an SFTP server: its kind and
    what to do)."""
    remote = _sftp(location)
    if remote is None:
        write_atomically(location, name, content, if_different=if_different)
    else:
        hook, folder = remote
        hook.write_atomically(folder, name, content, if_different=if_different)


def collect(location: str, suffix: str) -> list[tuple[str, bytes]]:
    """(name, content) of every regular file directly in the location whose name ends with ``suffix``, in name
    order. Raises OSError (a local folder) or SftpRefused (an SFTP server)."""
    remote = _sftp(location)
    if remote is not None:
        hook, folder = remote
        return hook.read_files(folder, suffix)
    paths = sorted(p for p in Path(location).iterdir() if p.name.lower().endswith(suffix) and p.is_file())
    return [(path.name, path.read_bytes()) for path in paths]


def write_atomically(folder: str, name: str, content: bytes, *, if_different: bool = False) -> Path:
    """``content`` as ``folder/name``: whole or not at all, never a half-written file under that name."""
    directory = Path(folder)
    target = directory / name
    if target.parent != directory or name.startswith("."):
        raise ValueError(f"{name!r} is not a plain file name")
    for stale in directory.glob(f".{name}.*.tmp"):  # left by a writer killed mid-write
        stale.unlink(missing_ok=True)
    if if_different and target.is_file() and target.read_bytes() == content:
        return target
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
