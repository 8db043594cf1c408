"""saldeo_accounting_export with an SFTP destination, against a real OpenSSH server started by the test
(tests/sftp_server.py): the file arrives whole under its name (written as a temporary name and renamed), the host
key is checked, and a changed server, changed credentials and a folder without rights are each their own reason;
the file stays in the ledger and the next run delivers it."""

from __future__ import annotations

import json
import socket

import pytest

from erpbridge.hooks.exchange_sftp import ExchangeSftpHook
from tests.accounting_exchange.test_epp import EXPECTED
from tests.accounting_exchange.test_saldeo_accounting_export import (  # noqa: F401 (fixtures)
    FILE, configure, destination, hub, log_rows, ready, run, unwritable)
from tests.saldeo import saldeo  # noqa: F401 (fixture)
from tests.sftp_server import make_key, sftp_server  # noqa: F401 (fixture)

CONN_ID = "sftp_biuro"


@pytest.fixture
def remote(sftp_server, monkeypatch, configure):
    """The export's destination on the SFTP server; returns a function changing the connection."""
    def connect(**changes):
        extra = {"host_key": sftp_server.host_key, "timeout": 10, **changes.pop("extra", {})}
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({
            "conn_type": "erpbridge_sftp", "host": "127.0.0.1", "port": sftp_server.port, "login": sftp_server.user,
            "password": sftp_server.private_key, "extra": extra, **changes}))
    connect()
    configure(destination=f"sftp://{CONN_ID}{sftp_server.root}")
    return connect


def test_the_file_arrives_whole_over_sftp_and_the_documents_are_marked(hub, remote, sftp_server, ledger):
    assert ExchangeSftpHook(CONN_ID).test_connection()[0]
    (sftp_server.root / f".{FILE}.4242.tmp").write_bytes(b"half an upload of a killed worker")
    run()
    assert sorted(p.name for p in sftp_server.root.iterdir()) == [FILE]  # no temporary name left behind, not even a killed upload's
    assert (sftp_server.root / FILE).read_bytes() == EXPECTED.read_bytes()
    assert ready(hub) == []
    run()  # nothing new: nothing written again
    assert sorted(p.name for p in sftp_server.root.iterdir()) == [FILE]


def test_a_server_with_another_host_key_is_refused_as_a_changed_server(hub, remote, sftp_server, ledger, tmp_path):
    _, other = make_key(tmp_path / "other_host")
    remote(extra={"host_key": " ".join(other.split()[:2])})
    run("failed")
    [(entity, source, _, category, reason, _)] = log_rows(ledger, "failed")
    assert (entity, source, category) == ("exchange_file", FILE, "DESTINATION_HOST_KEY")
    assert f"the SFTP server 127.0.0.1:{sftp_server.port} is not the one connection {CONN_ID} trusts" in reason
    assert "ask its administrator for the new host key" in reason
    assert list(sftp_server.root.iterdir()) == [] and ready(hub) == [5001, 5002, 5003]
    remote()  # the right key again: the next run delivers the recorded file
    run()
    assert (sftp_server.root / FILE).read_bytes() == EXPECTED.read_bytes() and ready(hub) == []


def test_an_unknown_server_is_not_accepted_without_a_host_key(hub, remote, sftp_server, ledger, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no known_hosts of the worker's user either
    remote(extra={"host_key": None})
    run("failed")
    assert [c for _, _, _, c, _, _ in log_rows(ledger, "failed")] == ["DESTINATION_HOST_KEY"]
    assert list(sftp_server.root.iterdir()) == []


def test_changed_credentials_are_their_own_reason_and_no_secret_is_shown(hub, remote, sftp_server, ledger, tmp_path):
    old_key, _ = make_key(tmp_path / "old_user_key")
    remote(password=old_key)
    run("failed")
    [(entity, source, _, category, reason, _)] = log_rows(ledger, "failed")
    assert (entity, source, category) == ("exchange_file", FILE, "DESTINATION_CREDENTIALS")
    assert f"refused user '{sftp_server.user}' of connection {CONN_ID}" in reason and "What to do" in reason
    assert "PRIVATE KEY" not in reason and ready(hub) == [5001, 5002, 5003]


def test_a_folder_without_rights_is_its_own_reason_and_the_next_run_delivers(hub, remote, sftp_server, ledger):
    with unwritable(sftp_server.root):
        run("failed")
        [(entity, source, _, category, reason, _)] = log_rows(ledger, "failed")
        assert (entity, source, category) == ("exchange_file", FILE, "DESTINATION_UNWRITABLE")
        assert f"cannot write {FILE} into {sftp_server.root} on the SFTP server" in reason
        assert "give that user the right to create files in the folder" in reason
        assert list(sftp_server.root.iterdir()) == [] and ready(hub) == [5001, 5002, 5003]
    run()
    assert (sftp_server.root / FILE).read_bytes() == EXPECTED.read_bytes() and ready(hub) == []


def test_the_connection_test_names_a_server_that_is_not_there_and_a_host_key_that_is_no_key(sftp_server, monkeypatch):
    def check(**changes) -> tuple[bool, str]:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({
            "conn_type": "erpbridge_sftp", "host": "127.0.0.1", "login": sftp_server.user,
            "password": sftp_server.private_key, **changes}))
        return ExchangeSftpHook(CONN_ID).test_connection()

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    ok, message = check(port=port, extra={"host_key": sftp_server.host_key, "timeout": 5})
    assert not ok and message.startswith(f"cannot reach the SFTP server 127.0.0.1:{port} of connection {CONN_ID}")
    ok, message = check(port=sftp_server.port, extra={"host_key": "ssh-ed25519 not-base64!"})
    assert not ok and f"host_key of connection {CONN_ID} is not a public key line" in message
    ok, message = check(port=sftp_server.port, extra={"host_key": sftp_server.host_key})
    assert ok and f"SFTP server 127.0.0.1:{sftp_server.port} accepted the user" in message, message
