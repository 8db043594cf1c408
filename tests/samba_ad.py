"""A real Samba AD domain controller for the identity tests and the AD fault soak: provisioned once per
session in a temp dir, started in the foreground (it exits when its stdin pipe closes), reached over LDAPS
with the CA checked. Its fixtures are offered to every test by tests/conftest.py."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ADMIN_PASSWORD = "Passw0rd!Test123"
REALM, DOMAIN, BASE_DN = "TEST.LOCAL", "TEST", "DC=test,DC=local"
USERS_OU = f"OU=Staff,{BASE_DN}"
GROUPS = [f"CN=All Staff,OU=Groups,{BASE_DN}", f"CN=VPN Users,OU=Groups,{BASE_DN}"]
CERT_NAME = "TESTDC.test.local"
READY_TIMEOUT = 60
LOCK_FILE = "/tmp/erpbridge-samba-ad.lock"
LOCK_TIMEOUT = 900


@dataclass
class SambaAD:
    host: str
    ca_file: str
    admin: str = f"Administrator@{REALM.lower()}"
    password: str = ADMIN_PASSWORD

    def server(self):
        from ldap3 import Server, Tls

        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.ca_file, valid_names=[CERT_NAME])
        return Server(self.host, 636, use_ssl=True, tls=tls, connect_timeout=5)

    def admin_conn(self):
        from ldap3 import Connection

        return Connection(self.server(), self.admin, self.password, auto_bind=True, raise_exceptions=False)

    def bind(self, user: str, password: str) -> tuple[bool, str]:
        """A simple bind over LDAPS as ``user``: (ok, the server's message)."""
        from ldap3 import Connection

        conn = Connection(self.server(), user, password)
        ok = conn.bind()
        message = conn.result.get("message") or ""
        conn.unbind()
        return ok, message

    def users(self, ldap_filter: str, attributes=("*",)) -> list:
        conn = self.admin_conn()
        conn.search(BASE_DN, ldap_filter, attributes=list(attributes))
        entries = list(conn.entries)
        conn.unbind()
        return entries


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def samba_ad():
    if shutil.which("samba-tool") is None or shutil.which("samba") is None:
        message = "samba-tool is not installed (apt-get install samba-ad-dc; .ci/run installs it)"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(message + " and CI is set: the AD tests must run in CI")
        pytest.skip(message)
    # LDAP ports are fixed (389/636) and Samba only binds addresses an interface really has: test
    # sessions running at the same time on this machine take turns (an exclusive lock for the session)
    lock = open(LOCK_FILE, "w")
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                pytest.fail(f"another test session has held {LOCK_FILE} (the Samba AD ports) for {LOCK_TIMEOUT}s")
            time.sleep(1)
    home = Path(tempfile.mkdtemp(prefix="erpbridge-samba-"))
    d = home / "dc"
    host = "127.0.0.1"
    _run("samba-tool", "domain", "provision", "-s", "/dev/null", "--use-rfc2307", f"--realm={REALM}",
         f"--domain={DOMAIN}", "--server-role=dc", "--dns-backend=NONE", f"--adminpass={ADMIN_PASSWORD}",
         "--host-name=testdc", f"--host-ip={host}", f"--targetdir={d}", "--option=interfaces=lo",
         "--option=bind interfaces only=yes", f"--option=pid directory={d}/run",
         f"--option=ncalrpc dir={d}/run/ncalrpc", f"--option=winbindd socket directory={d}/run/winbindd",
         f"--option=ntp signd socket directory={d}/run/ntp_signd", f"--option=log file={d}/log.%m",
         "--option=server services=ldap")
    # relax only the minimum password age (tests change passwords at once); complexity stays on
    _run("samba-tool", "domain", "passwordsettings", "set", "--min-pwd-age=0", "-H", f"tdb://{d}/private/sam.ldb")
    process = subprocess.Popen(["samba", "-i", "-M", "single", "-s", str(d / "etc" / "smb.conf"),
                                "--maximum-runtime=1800"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=open(home / "samba.out", "wb"))
    ad = SambaAD(host=host, ca_file=str(d / "private" / "tls" / "ca.pem"))
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                if Path(ad.ca_file).exists() and ad.bind(ad.admin, ad.password)[0]:
                    break
            except Exception:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Samba AD did not come up: {(home / 'samba.out').read_text()[-2000:]}")
            time.sleep(0.3)
        conn = ad.admin_conn()
        for ou in (USERS_OU, f"OU=Groups,{BASE_DN}"):
            conn.add(ou, ["top", "organizationalUnit"])
        for group in GROUPS:
            conn.add(group, ["top", "group"], {"sAMAccountName": group.split(",")[0][3:].replace(" ", "_")})
        conn.unbind()
        yield ad
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
        lock.close()


@pytest.fixture
def active_directory(samba_ad, monkeypatch) -> SambaAD:
    """The active_directory_default connection pointing at the session's Samba AD."""
    monkeypatch.setenv("AIRFLOW_CONN_ACTIVE_DIRECTORY_DEFAULT", json.dumps({
        "conn_type": "active_directory", "host": samba_ad.host, "port": 636, "login": samba_ad.admin,
        "password": samba_ad.password,
        "extra": {"base_dn": BASE_DN, "users_ou": USERS_OU, "groups": GROUPS, "upn_suffix": "test.local",
                  "ca_file": samba_ad.ca_file, "tls_server_name": CERT_NAME, "timeout": 10}}))
    return samba_ad
