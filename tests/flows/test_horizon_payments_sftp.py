"""horizon_payroll_payments with the bank folder on an SFTP server, against a real OpenSSH server started by the
test (tests/sftp_server.py): the run's files arrive byte-identical to the ledger's record under their names (no
temporary name left), a rerun sends nothing again; a server with another host key is refused with its reason, the
files stay recorded and the next run, after the fix, delivers them; a local folder without rights behaves the same."""

from __future__ import annotations

import hashlib
import json

import pytest
from sepaxml.validation import try_valid_xml

from tests.accounting_exchange.test_saldeo_accounting_export import unwritable
from tests.flows.dagrun import task_states
from tests.flows.hitl import run_dag_answering
from tests.flows.test_horizon_payroll_payments import DAG_ID, PAYER_A, PAYER_B, files, never_asked, payroll  # noqa: F401
from tests.sftp_server import make_key, sftp_server  # noqa: F401 (fixture)

CONN_ID = "sftp_bank"


@pytest.fixture
def remote_bank(payroll, sftp_server, monkeypatch):  # noqa: F811
    """The payments' bank folder on the SFTP server; returns (ledger, run pk, a function changing the connection)."""
    ledger, _, _, run_pk = payroll

    def connect(**extra):
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({
            "conn_type": "erpbridge_sftp", "host": "127.0.0.1", "port": sftp_server.port, "login": sftp_server.user,
            "password": sftp_server.private_key, "extra": {"host_key": sftp_server.host_key, "timeout": 10, **extra}}))
    connect()
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_PAYMENTS", json.dumps(
        {"bank_folder": f"sftp://{CONN_ID}{sftp_server.root}", "debtor_name": "SIA Ābeļziedi"}))
    return ledger, run_pk, connect


def expected_names(run_pk) -> list[str]:
    return [f"payroll_2026-10_run{run_pk}_{PAYER_A}_v1.xml", f"payroll_2026-10_run{run_pk}_{PAYER_B}_v1.xml"]


def assert_delivered_as_recorded(ledger, folder, run_pk) -> None:
    delivered = files(folder)
    assert sorted(delivered) == expected_names(run_pk), "each file under its name, no temporary name left"
    recorded = dict(ledger.execute("SELECT file_name, file_sha256 FROM payment_file").fetchall())
    assert {name: hashlib.sha256(content).hexdigest() for name, content in delivered.items()} == recorded
    for document in delivered.values():
        try_valid_xml(document, "pain.001.001.03")


def test_the_payroll_runs_files_arrive_over_sftp_byte_identical_to_the_ledgers_record(remote_bank, sftp_server):
    ledger, run_pk, _ = remote_bank

    run, _ = run_dag_answering(DAG_ID, never_asked)

    assert run.state == "success", task_states(run)
    assert_delivered_as_recorded(ledger, sftp_server.root, run_pk)
    before = {path.name: path.stat().st_mtime_ns for path in sftp_server.root.iterdir()}
    rerun, _ = run_dag_answering(DAG_ID, never_asked)
    assert rerun.state == "success", task_states(rerun)
    assert {path.name: path.stat().st_mtime_ns for path in sftp_server.root.iterdir()} == before, "nothing sent again"
    assert ledger.execute("SELECT action, count(*) FROM transfer_log WHERE entity = 'payment_file' GROUP BY action"
                          " ORDER BY action").fetchall() == [("created", 2), ("unchanged", 2)]


def test_a_server_with_another_host_key_fails_the_run_with_its_reason_and_the_next_run_delivers(
        remote_bank, sftp_server, tmp_path):
    ledger, run_pk, connect = remote_bank
    _, other = make_key(tmp_path / "other_host")
    connect(host_key=" ".join(other.split()[:2]))

    refused, _ = run_dag_answering(DAG_ID, never_asked)

    assert refused.state == "failed" and task_states(refused)["write_payment_files"] == "failed"
    [(source, category, reason)] = ledger.execute(
        "SELECT source_id, error_category, error_text FROM transfer_log WHERE action = 'failed'").fetchall()
    assert category == "DESTINATION_HOST_KEY" and source.endswith(f"/{PAYER_A}")
    assert f"the SFTP server 127.0.0.1:{sftp_server.port} is not the one connection {CONN_ID} trusts" in reason
    assert "ask its administrator for the new host key" in reason and "the next run delivers it" in reason
    assert list(sftp_server.root.iterdir()) == []
    assert ledger.execute("SELECT count(*) FROM payment_file WHERE file_sha256 IS NULL").fetchone()[0] == 1

    connect()  # the right key again
    fixed, _ = run_dag_answering(DAG_ID, never_asked)

    assert fixed.state == "success", task_states(fixed)
    assert_delivered_as_recorded(ledger, sftp_server.root, run_pk)
    assert ledger.execute("SELECT count(*) FROM payment_file").fetchone()[0] == 2, "recorded once, not again"


def test_a_local_bank_folder_without_rights_fails_the_run_the_same_way(payroll):  # noqa: F811
    ledger, _, bank, run_pk = payroll
    with unwritable(bank):
        refused, _ = run_dag_answering(DAG_ID, never_asked)
        assert refused.state == "failed", task_states(refused)
        [(category, reason)] = ledger.execute(
            "SELECT error_category, error_text FROM transfer_log WHERE action = 'failed'").fetchall()
        assert category == "DESTINATION_UNWRITABLE" and f"into {bank}" in reason and "What to do" in reason
        assert list(bank.iterdir()) == []

    fixed, _ = run_dag_answering(DAG_ID, never_asked)

    assert fixed.state == "success", task_states(fixed)
    assert_delivered_as_recorded(ledger, bank, run_pk)
