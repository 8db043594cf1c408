"""An SFTP server holding exchange files (paramiko over SSH): the server's host key checked against the one the
connection names (never accepted blindly unless the connection says ``no_host_key_check``), a file written under a
temporary name in the target folder and renamed over the final name, files of a folder read, each refusal raised
as its own kind in plain words.

ASSUMED, verify first: the server supports OpenSSH's ``posix-rename@openssh.com`` extension, which renames over an
existing file (the ``posix_rename`` call in :meth:`ExchangeSftpHook.write_atomically`).
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import os
import socket
import stat
from contextlib import contextmanager
from functools import cached_property

import paramiko
from airflow.sdk import BaseHook

log = logging.getLogger(__name__)

KEY_TYPES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)
UNKNOWN_HOST = "not found in known_hosts"  # paramiko's RejectPolicy refusing a server it has no key for


class SftpRefused(Exception):
    """The SFTP server refused or could not be reached; ``kind`` is CREDENTIALS, HOST_KEY, NO_RIGHTS or
    UNREACHABLE (the caller names the failure ``DESTINATION_<kind>`` or ``SOURCE_<kind>``)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


class ExchangeSftpHook(BaseHook):
    """Connection: host and port of the SFTP server, login = the user, password = its password or its private key
    (OpenSSH / PEM text); extra ``host_key`` = the server's public host key as ``ssh-keyscan`` prints it
    (``ssh-ed25519 AAAA...``; without it the worker's known_hosts), ``no_host_key_check`` = true to accept any
    server (only for a lab), ``timeout`` seconds (default 30)."""

    conn_name_attr = "erpbridge_sftp_conn_id"
    default_conn_name = "erpbridge_sftp_default"
    conn_type = "erpbridge_sftp"
    hook_name = "SFTP (exchange files)"

    def __init__(self, erpbridge_sftp_conn_id: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.conn_id = erpbridge_sftp_conn_id or self.default_conn_name

    @cached_property
    def connection(self):
        return self.get_connection(self.conn_id)

    @property
    def server(self) -> str:
        return f"{self.connection.host}:{self.connection.port or 22}"

    def _host_keys(self, client: paramiko.SSHClient) -> None:
        conn = self.connection
        extra = conn.extra_dejson
        if extra.get("no_host_key_check") is True:
            log.warning("connection %s: the SFTP server's host key is not checked (no_host_key_check)", self.conn_id)
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            return
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        if extra.get("host_key"):
            try:
                kind, data = str(extra.get("host_key")).split()[:2]
                key = paramiko.PKey.from_type_string(kind, base64.b64decode(data, validate=True))
            except (ValueError, binascii.Error, paramiko.SSHException) as exc:
                raise SftpRefused("HOST_KEY", f"host_key of connection {self.conn_id} is not a public key line "
                                  f"({exc}). What to do: paste the server's key as ssh-keyscan prints it, e.g. "
                                  "'ssh-ed25519 AAAA...'.") from None
            name = conn.host if (conn.port or 22) == 22 else f"[{conn.host}]:{conn.port}"
            client.get_host_keys().add(name, kind, key)
        else:
            client.load_system_host_keys()

    def _credentials(self) -> dict:
        secret = self.connection.password or ""
        if not secret.lstrip().startswith("-----BEGIN"):
            return {"password": secret}
        for key_type in KEY_TYPES:
            try:
                return {"pkey": key_type.from_private_key(io.StringIO(secret.strip() + "\n"))}
            except (paramiko.SSHException, ValueError):
                continue
        raise SftpRefused("CREDENTIALS", f"the private key in the password of connection {self.conn_id} cannot be "
                          "read. What to do: paste the user's private key (OpenSSH or PEM text, without a passphrase) "
                          "or the password there.")

    @contextmanager
    def sftp(self):
        """An SFTP session with the server; its refusals raised as SftpRefused."""
        conn = self.connection
        client = paramiko.SSHClient()
        self._host_keys(client)
        try:
            client.connect(conn.host or "", port=conn.port or 22, username=conn.login or "", look_for_keys=False,
                           allow_agent=False, timeout=float(conn.extra_dejson.get("timeout", 30)),
                           **self._credentials())
        except paramiko.AuthenticationException as exc:
            client.close()
            raise SftpRefused("CREDENTIALS", (
                f"the SFTP server {self.server} refused user {conn.login!r} of connection {self.conn_id} ({exc}). "
                "What to do: the password or key was probably changed on the server; put the current one into that "
                "connection's password.")) from None
        except paramiko.SSHException as exc:
            client.close()
            if not isinstance(exc, paramiko.BadHostKeyException) and UNKNOWN_HOST not in str(exc):
                raise SftpRefused("UNREACHABLE", (
                    f"the SFTP server {self.server} of connection {self.conn_id} did not complete the SSH handshake: "
                    f"{exc}. What to do: check that host and port name an SSH server.")) from None
            raise SftpRefused("HOST_KEY", (
                f"the SFTP server {self.server} is not the one connection {self.conn_id} trusts: its host key is not "
                f"the one in the connection's host_key ({exc}). What to do: if the server was replaced or "
                "reinstalled, ask its administrator for the new host key and put it into host_key; otherwise do "
                "not send files there.")) from None
        except (OSError, socket.timeout) as exc:
            client.close()
            raise SftpRefused("UNREACHABLE", (
                f"cannot reach the SFTP server {self.server} of connection {self.conn_id}: {exc}. What to do: check "
                "the host and port in that connection and that the server is running.")) from None
        try:
            yield client.open_sftp()
        finally:
            client.close()

    def write_atomically(self, folder: str, name: str, content: bytes, *, if_different: bool = False) -> str:
        """``content`` as ``folder/name`` on the server: a temporary name in the folder, then a rename over it;
        ``if_different``: a file of that name already holding these bytes is left alone."""
        if "/" in name or name.startswith("."):
            raise ValueError(f"{name!r} is not a plain file name")
        target = f"{folder.rstrip('/')}/{name}"
        temporary = f"{folder.rstrip('/')}/.{name}.{os.getpid()}.tmp"
        with self.sftp() as sftp:
            _remove_stale_temporaries(sftp, folder, name)
            if if_different and _holds(sftp, target, content):
                return target
            try:
                sftp.putfo(io.BytesIO(content), temporary, file_size=len(content), confirm=True)
                sftp.posix_rename(temporary, target)
            except OSError as exc:
                try:
                    sftp.remove(temporary)
                except OSError:
                    pass
                raise SftpRefused("NO_RIGHTS", (
                    f"cannot write {name} into {folder} on the SFTP server {self.server} (user "
                    f"{self.connection.login!r}): {exc.strerror or exc}. What to do: give that user the right to "
                    "create files in the folder (and check that it exists), or set destination to a folder it may "
                    "write.")) from None
        return target

    def read_files(self, folder: str, suffix: str) -> list[tuple[str, bytes]]:
        """(name, content) of every regular file directly in ``folder`` whose name ends with ``suffix``."""
        with self.sftp() as sftp:
            try:
                entries = sorted(e.filename for e in sftp.listdir_attr(folder)
                                 if stat.S_ISREG(e.st_mode or 0) and e.filename.lower().endswith(suffix))
                return [(name, _read(sftp, f"{folder.rstrip('/')}/{name}")) for name in entries]
            except OSError as exc:
                raise SftpRefused("NO_RIGHTS", (
                    f"cannot read the folder {folder} on the SFTP server {self.server} (user "
                    f"{self.connection.login!r}): {exc.strerror or exc}. What to do: give that user the right to read "
                    "the folder and its files (and check that it exists).")) from None

    def test_connection(self) -> tuple[bool, str]:
        try:
            with self.sftp() as sftp:
                return True, f"SFTP server {self.server} accepted the user; home folder {sftp.normalize('.')}"
        except SftpRefused as refused:
            return False, refused.message


def _remove_stale_temporaries(sftp: paramiko.SFTPClient, folder: str, name: str) -> None:
    """The temporary files of ``name`` left in ``folder`` by a writer killed mid-upload (best effort: one the
    user may not remove stays, the write itself goes on)."""
    try:
        stale = [e for e in sftp.listdir(folder) if e.startswith(f".{name}.") and e.endswith(".tmp")]
    except OSError:
        return  # the write reports the folder's refusal in its own words
    for entry in stale:
        try:
            sftp.remove(f"{folder.rstrip('/')}/{entry}")
        except OSError:
            pass


def _holds(sftp: paramiko.SFTPClient, path: str, content: bytes) -> bool:
    """Whether ``path`` is a file holding exactly ``content`` (False when it is missing or unreadable)."""
    try:
        return sftp.stat(path).st_size == len(content) and _read(sftp, path) == content
    except OSError:
        return False


def _read(sftp: paramiko.SFTPClient, path: str) -> bytes:
    with sftp.open(path, "rb") as handle:
        return handle.read()
