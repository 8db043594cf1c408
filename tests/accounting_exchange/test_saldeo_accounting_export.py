"""saldeo_accounting_export end to end (dag.test(), the SaldeoSMART simulator over HTTP, a real ledger, a real
folder): the documents marked for export become the hand-verified EPP file, are marked in the hub once, a second
run exports nothing, a re-export of the month gives the same bytes, and the four failure kinds - refused hub
credentials, an unwritable folder, an unmapped account, an unknown format version - each leave their own reason."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.accounting_exchange.samples import SETTINGS
from tests.accounting_exchange.test_epp import EXPECTED
from tests.flows.dagrun import run_dag, task_states
from tests.saldeo import COMPANY, saldeo  # noqa: F401 (fixture)

DAG_ID = "saldeo_accounting_export"
FILE = f"{COMPANY}-0000005001.epp"
CONTRACTOR = {"contractor_program_id": "K-001", "short_name": "Papiernik \"Żółw\"", "full_name": "Papiernik Żółw Sp. z o.o.",
              "vat_number": "5252344078", "street": "ul. Łąkowa 7", "city": "Łódź", "postcode": "90-001"}
BUYER = {"contractor_program_id": "O-17", "short_name": "Odbiorca", "full_name": "Odbiorca SA", "vat_number": "1132853869",
         "street": "ul. Prosta 2", "city": "Warszawa", "postcode": "00-850"}


def hub_seed(document_id: int, **fields) -> dict:
    """A document as the hub holds it (the simulator's seed), the same as tests/accounting_exchange/samples.py."""
    return {"company_program_id": COMPANY, "document_id": document_id, "number": f"FV {document_id}/01/2026",
            "model_type": "INVOICE_COST", "short_name": "FZ", "issue_date": "2026-01-15", "sale_date": "2026-01-14",
            "receive_date": "2026-01-16", "payment_date": "2026-01-29", "category": "Materiały biurowe",
            "ksef_number": "5252344078-20260115-0A1B2C3D4E5F-6A", "contractor": CONTRACTOR,
            "vat_rows": [{"rate": "23", "net": "100.00", "vat": "23.00"}, {"rate": "8", "net": "50.50", "vat": "4.04"}],
            **fields}


DOCUMENTS = [
    hub_seed(5001),
    hub_seed(5002, number="FS 3/2026", model_type="INVOICE_SALES", short_name="FS", category="Sprzedaż towarów",
             ksef_number=None, contractor=BUYER,
             vat_rows=[{"rate": "23", "net": "1234.56", "vat": "283.95"}, {"rate": "ZW", "net": "99.99", "vat": "0.00"}]),
    hub_seed(5003, number="KOR 1/2026", model_type="INVOICE_SALES", short_name="KFS", category="Sprzedaż towarów",
             corrected_number="FS 3/2026", corrected_date="2026-01-15", issue_date="2026-01-20", receive_date=None,
             payment_date=None, ksef_number=None, contractor=BUYER,
             vat_rows=[{"rate": "23", "net": "-234.56", "vat": "-53.95"}]),
]
UNMAPPED = hub_seed(5004, number="FV 9/2026", category="Paliwo")


@pytest.fixture
def destination(tmp_path) -> Path:
    folder = tmp_path / "exchange"
    folder.mkdir()
    return folder


@pytest.fixture
def configure(monkeypatch, destination):
    def apply(**changes) -> None:
        values = {**SETTINGS.model_dump(mode="json"), "destination": str(destination), **changes}
        monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SALDEO_ACCOUNTING", json.dumps(values))
    apply()
    return apply


@pytest.fixture
def hub(airflow_db, ledger, saldeo, configure):
    saldeo.seed(documents=DOCUMENTS)
    return saldeo


def run(expected: str = "success", **conf):
    result = run_dag(DAG_ID, conf)
    assert str(result.state) == expected, task_states(result)
    return result


def log_rows(ledger, action: str | None = None) -> list[tuple]:
    return ledger.execute("SELECT entity, source_id, action, error_category, error_text, target_id FROM transfer_log"
                          " WHERE action = coalesce(%s, action) ORDER BY id", (action,)).fetchall()


def ready(saldeo) -> list[int]:
    return sorted(d["document_id"] for d in saldeo.state()["documents"] if d["ready"])


@contextmanager
def unwritable(folder: Path):
    """The folder made read-only for real: immutable for root (chattr +i), mode 0555 for anyone else."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_marked_documents_become_the_expected_file_once_and_are_marked_in_the_hub(hub, ledger, destination):
    hub.seed(documents=[UNMAPPED])
    run()
    assert sorted(p.name for p in destination.iterdir()) == [FILE]
    assert (destination / FILE).read_bytes() == EXPECTED.read_bytes()
    assert ready(hub) == [5004]  # the unmapped one waits, the rest are marked
    assert {(s["saldeo_id"], s["account_number"], s["status"]) for s in hub.state()["syncs"]} == \
        {(str(i), FILE, "INTRODUCED") for i in (5001, 5002, 5003)}
    assert [(e, s, a, t) for e, s, a, _, _, t in log_rows(ledger, "created")] == \
        [("document", str(i), "created", FILE) for i in (5001, 5002, 5003)]
    [(entity, source, _, category, reason, _)] = log_rows(ledger, "rejected")
    assert (entity, source, category) == ("document", "5004", "UNMAPPED_ACCOUNT")
    assert "document FV 9/2026 (Saldeo id 5004): field CATEGORY 'Paliwo' has no account mapping" in reason
    assert "add it to accounts in Variable erpbridge_saldeo_accounting" in reason
    assert ledger.execute("SELECT source_id, error_category FROM quarantine").fetchall() == [("5004", "UNMAPPED_ACCOUNT")]

    syncs = len(hub.state()["syncs"])
    run()  # nothing new: no file, no mark
    assert sorted(p.name for p in destination.iterdir()) == [FILE] and len(hub.state()["syncs"]) == syncs


def test_a_mapping_added_later_exports_the_waiting_document_in_a_file_of_its_own(hub, ledger, destination, configure):
    hub.seed(documents=[UNMAPPED])
    run()
    configure(accounts={**SETTINGS.accounts, "Paliwo": "402-07"})
    run()
    assert sorted(p.name for p in destination.iterdir()) == [FILE, f"{COMPANY}-0000005004.epp"]
    assert b'"FV 9/2026"' in (destination / f"{COMPANY}-0000005004.epp").read_bytes()
    assert b'"FV 9/2026"' not in (destination / FILE).read_bytes()
    assert ready(hub) == [] and ledger.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def test_a_counterparty_code_the_file_cannot_hold_waits_and_cards_can_be_switched_off(hub, ledger, destination,
                                                                                      configure):
    long_code = {**CONTRACTOR, "contractor_program_id": "DOSTAWCA-Z-DLUGIM-KODEM"}  # 23 characters, the header has 20
    hub.seed(documents=[hub_seed(5006, number="FV 11/2026", contractor=long_code)])
    configure(epp_counterparty_cards=False)
    run()
    without_cards = EXPECTED.read_bytes().split(b'[NAGLOWEK]\r\n"KONTRAHENCI"')[0]
    assert (destination / FILE).read_bytes() == without_cards and ready(hub) == [5006]
    [(source, category, reason)] = ledger.execute("SELECT source_id, error_category, reason FROM quarantine").fetchall()
    assert (source, category) == ("5006", "INVALID_DATA")
    assert reason.startswith("document FV 11/2026 (Saldeo id 5006): field CONTRACTOR/CONTRACTOR_PROGRAM_ID "
                             "'DOSTAWCA-Z-DLUGIM-KODEM' has 23 characters")


def test_a_retry_exports_just_the_named_document_once_its_mapping_is_fixed(hub, ledger, destination, configure):
    hub.seed(documents=[UNMAPPED])
    run()
    configure(accounts={**SETTINGS.accounts, "Paliwo": "402-07"})
    hub.seed(documents=[hub_seed(5007, number="FV 12/2026")])  # marked for export after: not part of the retry

    result = run(retry_records=[{"entity": "document", "source_id": "5004"},
                                {"entity": "document", "source_id": "9999"}])  # 9999: not in the hub's list

    assert result.get_task_instance("export_documents").xcom_pull() == {
        "exported": 1, "rejected": 0, "already_in_a_file": 0, "files": 1}
    retried = destination / f"{COMPANY}-0000005004.epp"
    assert sorted(p.name for p in destination.iterdir()) == [FILE, retried.name]
    assert b'"FV 9/2026"' in retried.read_bytes() and b'"FV 12/2026"' not in retried.read_bytes()
    assert ready(hub) == [5007] and ledger.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def test_a_re_export_of_the_month_writes_the_same_bytes_and_leaves_the_hub_alone(hub, destination):
    run()
    first = (destination / FILE).read_bytes()
    (destination / FILE).unlink()
    syncs = hub.state()["syncs"]
    run(reexport_month="2026-01")
    assert (destination / FILE).read_bytes() == first
    assert hub.state()["syncs"] == syncs
    run(reexport_month="2026-02")  # no file of that month: nothing written
    assert sorted(p.name for p in destination.iterdir()) == [FILE]


def test_refused_hub_credentials_are_their_own_reason(hub, ledger, destination, monkeypatch):
    conn = json.loads(os.environ["AIRFLOW_CONN_SALDEO_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_SALDEO_DEFAULT", json.dumps({**conn, "password": "an-old-token"}))
    run("failed")
    [(entity, source, _, category, reason, _)] = log_rows(ledger, "failed")
    assert (entity, source, category) == ("hub", "saldeo_default", "HUB_CREDENTIALS")
    assert "refused the API user" in reason and "What to do: check the login (API user) and the password" in reason
    assert "an-old-token" not in reason
    assert list(destination.iterdir()) == [] and ready(hub) == [5001, 5002, 5003]


def test_an_unwritable_folder_is_its_own_reason_and_the_next_run_finishes_the_file(hub, ledger, destination):
    with unwritable(destination):
        run("failed")
        [(entity, source, _, category, reason, _)] = log_rows(ledger, "failed")
        assert (entity, source, category) == ("exchange_file", FILE, "DESTINATION_UNWRITABLE")
        assert f"cannot write {FILE} into {destination}" in reason and "What to do: give the user" in reason
        assert list(destination.iterdir()) == [] and ready(hub) == [5001, 5002, 5003]  # not marked before written
    run()
    assert (destination / FILE).read_bytes() == EXPECTED.read_bytes() and ready(hub) == []


def test_an_unknown_format_version_is_its_own_reason_and_nothing_moves(hub, ledger, destination, configure):
    configure(format_version="1.11")
    run("failed")
    [(entity, source, _, category, reason, _)] = log_rows(ledger, "failed")
    assert (entity, source, category) == ("exchange_file", "settings", "FORMAT_VERSION")
    assert "epp 1.11 is not one this export writes (it writes: epp 1.05; optima 2.00; ksef_fa3 1-0E)" in reason and "What to do" in reason
    assert list(destination.iterdir()) == [] and hub.requests() == []


def test_a_document_the_hub_does_not_mark_is_marked_by_the_next_run_never_exported_again(hub, ledger, destination):
    hub.faults(respond={"path": "/api/xml/1.13/document/sync", "count": 1, "body": (
        "<RESPONSE><STATUS>OK</STATUS><DOCUMENT_SYNCS>"
        "<DOCUMENT_SYNC><SALDEO_ID>5001</SALDEO_ID><STATUS>NOT_VALID</STATUS><ERRORS><ERROR><PATH>DOCUMENT_STATUS</PATH>"
        "<MESSAGE>document locked</MESSAGE></ERROR></ERRORS></DOCUMENT_SYNC></DOCUMENT_SYNCS></RESPONSE>")})
    run("failed")
    failed = {source: (category, reason, target) for _, source, _, category, reason, target in log_rows(ledger, "failed")}
    assert {s: (c, t) for s, (c, _, t) in failed.items()} == {s: ("HUB_SYNC", FILE) for s in ("5001", "5002", "5003")}
    assert "FV 5001/01/2026 (Saldeo id 5001) is in" in failed["5001"][1]
    assert "DOCUMENT_STATUS: document locked" in failed["5001"][1] and "never written into another" in failed["5001"][1]
    assert "no result for it in the answer" in failed["5002"][1]
    run()
    assert sorted(p.name for p in destination.iterdir()) == [FILE] and ready(hub) == []
    assert [s for _, s, *_ in log_rows(ledger, "created")] == ["5001", "5002", "5003"]


def test_optima_xml_is_written_when_the_settings_ask_for_it(hub, ledger, destination, configure):
    configure(format="optima", format_version="2.00")
    run()
    [written] = destination.iterdir()
    assert written.name == f"{COMPANY}-0000005001.xml" and b"http://www.comarch.pl/cdn/optima/offline" in written.read_bytes()
    assert ready(hub) == []


def test_ksef_fa3_invoices_are_written_and_a_document_the_schema_refuses_waits(hub, ledger, destination, configure):
    hub.seed(documents=[hub_seed(5005, number="FV 10/2026", contractor={**CONTRACTOR, "vat_number": "0123"})])
    configure(format="ksef_fa3", format_version="1-0E", ksef_exemption_basis="art. 43 ust. 1 pkt 37 ustawy o VAT")
    run()
    [written] = destination.iterdir()
    assert written.name == f"{COMPANY}-0000005001.zip"
    with zipfile.ZipFile(written) as archive:
        assert archive.namelist() == ["5001.xml", "5002.xml", "5003.xml"]
        assert b'kodSystemowy="FA (3)"' in archive.read("5001.xml")
    assert ready(hub) == [5005]
    [(entity, source, category, reason)] = ledger.execute(
        "SELECT entity, source_id, error_category, reason FROM quarantine").fetchall()
    assert (entity, source, category) == ("document", "5005", "INVALID_DATA")
    assert reason.startswith("document FV 10/2026 (Saldeo id 5005): not a valid FA(3) invoice: "
                             "Faktura/Podmiot1/DaneIdentyfikacyjne/NIP:")


def test_the_four_failure_kinds_each_show_their_own_reason_in_the_control_room(hub, ledger, destination, configure,
                                                                              monkeypatch):
    from erpbridge.control_room import queries

    hub.seed(documents=[UNMAPPED])
    configure(format_version="9.99")
    run("failed")  # unknown format version
    configure()
    conn = json.loads(os.environ["AIRFLOW_CONN_SALDEO_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_SALDEO_DEFAULT", json.dumps({**conn, "password": "changed-in-saldeo"}))
    run("failed")  # hub credentials refused
    monkeypatch.setenv("AIRFLOW_CONN_SALDEO_DEFAULT", json.dumps(conn))
    with unwritable(destination):
        run("failed")  # unwritable folder; the unmapped document is refused in the same run

    rows = queries.history(ledger, queries.HistoryFilter(flow=DAG_ID)).rows
    reasons = {row["error_category"]: row["error_text"] for row in rows if row["action"] in ("failed", "rejected")}
    assert set(reasons) == {"FORMAT_VERSION", "HUB_CREDENTIALS", "DESTINATION_UNWRITABLE", "UNMAPPED_ACCOUNT"}
    assert all(row["dag_id"] == DAG_ID for row in rows)
    assert "set format and format_version" in reasons["FORMAT_VERSION"]
    assert "check the login (API user) and the password (API token)" in reasons["HUB_CREDENTIALS"]
    assert "give the user Airflow's workers run as the right to create files" in reasons["DESTINATION_UNWRITABLE"]
    assert "FV 9/2026 (Saldeo id 5004): field CATEGORY 'Paliwo'" in reasons["UNMAPPED_ACCOUNT"]
    [(flow, waiting)] = queries.quarantine(ledger)
    assert [(r["source_id"], r["error_category"]) for r in waiting] == [("5004", "UNMAPPED_ACCOUNT")]


def test_two_client_companies_each_get_their_own_files_from_their_own_hub_company(airflow_db, ledger, saldeo,
                                                                                 tmp_path, monkeypatch):
    import yaml

    companies = {"north": "BIURO-1", "south": "BIURO-2"}
    path = tmp_path / "companies.yaml"
    path.write_text(yaml.safe_dump({"companies": {key: {"name": key.title(), "flows": {DAG_ID: {}}}
                                                  for key in companies}}))
    monkeypatch.setenv("ERPBRIDGE_COMPANIES_FILE", str(path))
    saldeo.seed(companies=[{"program_id": "BIURO-2", "name": "Drugi Klient"}])
    saldeo.seed(documents=[hub_seed(5101), hub_seed(5201, company_program_id="BIURO-2", number="FV S/1")])
    conn = os.environ["AIRFLOW_CONN_SALDEO_DEFAULT"]
    for key, program_id in companies.items():
        (tmp_path / key).mkdir()
        monkeypatch.setenv(f"AIRFLOW_CONN_SALDEO_{key.upper()}", conn)
        monkeypatch.setenv(f"AIRFLOW_VAR_ERPBRIDGE_SALDEO_ACCOUNTING_{key.upper()}", json.dumps(
            {**SETTINGS.model_dump(mode="json"), "company_program_id": program_id, "destination": str(tmp_path / key)}))
    for key in companies:
        result = run_dag(f"{DAG_ID}__{key}")
        assert str(result.state) == "success", task_states(result)
    assert [p.name for p in (tmp_path / "north").iterdir()] == ["BIURO-1-0000005101.epp"]
    assert [p.name for p in (tmp_path / "south").iterdir()] == ["BIURO-2-0000005201.epp"]
    assert b"FV S/1" in (tmp_path / "south" / "BIURO-2-0000005201.epp").read_bytes()
    assert sorted(ledger.execute("SELECT company, source_id, dag_id FROM transfer_log WHERE action = 'created'")) == [
        ("north", "5101", f"{DAG_ID}__north"), ("south", "5201", f"{DAG_ID}__south")]
    assert sorted(ledger.execute("SELECT company, file_name FROM accounting_export_file")) == [
        ("north", "BIURO-1-0000005101.epp"), ("south", "BIURO-2-0000005201.epp")]


def test_a_dry_run_says_what_would_be_exported_and_writes_nothing(hub, ledger, destination):
    hub.seed(documents=[UNMAPPED])
    result = run(dry_run=True)
    assert result.get_task_instance("export_documents").xcom_pull() == {
        "would_export": 3, "would_reject": 1, "already_in_a_file": 0}
    assert list(destination.iterdir()) == [] and ready(hub) == [5001, 5002, 5003, 5004]
    assert log_rows(ledger) == [] and ledger.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def test_the_trigger_form_needs_nothing_filled_in(airflow_db):
    """The house check of tests/test_dag_files.py (whose FORM_DAGS the browser tests also trigger)."""
    from tests.test_dag_files import test_trigger_form_needs_nothing_filled_in as form_check

    form_check(airflow_db, DAG_ID)


def test_a_company_without_a_hub_company_runs_without_a_connection(airflow_db, ledger, configure, monkeypatch):
    configure(company_program_id="")
    monkeypatch.delenv("AIRFLOW_CONN_SALDEO_DEFAULT", raising=False)
    assert run().get_task_instance("export_documents").xcom_pull() == {}
