"""A real OpenSSH server for a test: sshd (Debian's openssh-server) started on a free localhost port with a host key
and the test user's authorized key made for the test, SFTP served by its internal-sftp, stopped afterwards.
Import the fixture where it is used (``from tests.sftp_server import sftp_server``)."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


@dataclass
class SftpServer:
    port: int
    user: str
    private_key: str  # the user's key (OpenSSH text), what the connection's password holds
    host_key: str  # the server's public host key line (type and base64)
    root: Path  # a folder the tests write to


def make_key(path: Path) -> tuple[str, str]:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.read_text(), path.with_suffix(".pub").read_text().strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sftp_server(tmp_path) -> SftpServer:
    if not os.path.exists(SSHD):
        pytest.fail("sshd is missing: install Debian's openssh-server (.ci/run does)")
    home = tmp_path / "sshd"
    home.mkdir()
    _, host_public = make_key(home / "host_key")
    user_private, user_public = make_key(home / "user_key")
    (home / "authorized_keys").write_text(user_public + "\n")
    port = free_port()
    (home / "sshd_config").write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {home / 'host_key'}", f"PidFile {home / 'sshd.pid'}",
        f"AuthorizedKeysFile {home / 'authorized_keys'}", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no", "Subsystem sftp internal-sftp", ""]))
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder, as its service creates it
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(home / "sshd_config")], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"sshd did not start: {process.stderr.read().decode(errors='replace')}")
            time.sleep(0.1)
    root = tmp_path / "sftp-root"
    root.mkdir()
    try:
        yield SftpServer(port, getpass.getuser(), user_private, " ".join(host_public.split()[:2]), root)
    finally:
        process.terminate()
        process.wait(timeout=10)
