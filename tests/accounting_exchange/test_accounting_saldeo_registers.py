"""accounting_saldeo_registers end to end (dag.test(), the SaldeoSMART simulator over HTTP, a real ledger, a real
folder holding the accounting program's EPP export, written here from the format description): counterparties,
categories and payment forms merged into the hub once, a second run changes nothing, a change sends just that
item, an item the hub refuses waits in the quarantine in its words while the rest goes on, a file that is not
EDI++ is named, and the export is read from an SFTP folder too (a real OpenSSH server, tests/sftp_server.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.flows.dagrun import run_dag, task_states
from tests.saldeo import COMPANY, saldeo  # noqa: F401 (fixture)
from tests.sftp_server import make_key, sftp_server  # noqa: F401 (fixture)

DAG_ID = "accounting_saldeo_registers"
CRLF = "\r\n"


def quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def card(kind: int, code: str, short: str, full: str, nip: str, city: str = "Łódź", country: str = "PL") -> str:
    """A KONTRAHENCI card row: 31 fields (Table 14: type, code, names, city, postcode, street, NIP, ..., ISO prefix)."""
    fields = [str(kind), quoted(code), quoted(short), quoted(full), quoted(city), quoted("90-001"),
              quoted("ul. Łąkowa 7"), quoted(nip), quoted(""), quoted("42 630 00 00")] + [quoted("")] * 21
    fields[14] = quoted("Anna Żak")
    fields[30] = quoted(country)
    return ",".join(fields)


def document_header(category: str, payment_form: str) -> str:
    """A trade document's header: 62 fields, the category 19th and the payment form 34th (Table 3)."""
    fields = ['""'] * 62
    fields[0], fields[18], fields[33] = quoted("FZ"), quoted(category), quoted(payment_form)
    return ",".join(fields)


def export_file(*cards: str, documents: tuple[tuple[str, str], ...] = ()) -> bytes:
    info = ",".join([quoted("1.05"), "3", "1250", quoted("Rachmistrz GT")] + [quoted("")] * 20)
    sections = ["[INFO]", info, "", "[NAGLOWEK]", quoted("KONTRAHENCI"), "", "[ZAWARTOSC]", *cards, ""]
    for category, payment_form in documents:
        sections += ["[NAGLOWEK]", document_header(category, payment_form), "", "[ZAWARTOSC]",
                     ",".join([quoted("23"), "23.0000", "100.0000", "23.0000", "123.0000"] + ["0.0000"] * 13), ""]
    return CRLF.join(sections).encode("cp1250")


PAPIERNIK = card(1, "K-001", 'Papiernik "Żółw"', "Papiernik Żółw Sp. z o.o.", "525-234-40-78")
ODBIORCA = card(2, "O-17", "Odbiorca", "Odbiorca SA", "1132853869", city="Warszawa")
WRONG_NIP = card(0, "K-002", "Zły NIP", "Zły NIP s.c.", "12AB")
DOCUMENTS = (("Materiały biurowe", "przelew"), ("Paliwo", "gotówka"), ("Materiały biurowe", "przelew"))


@pytest.fixture
def source(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "registers"
    folder.mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SALDEO_REGISTERS",
                       json.dumps({"company_program_id": COMPANY, "source": str(folder)}))
    return folder


@pytest.fixture
def hub(airflow_db, ledger, saldeo, source):
    (source / "rachmistrz.epp").write_bytes(export_file(PAPIERNIK, ODBIORCA, WRONG_NIP, documents=DOCUMENTS))
    return saldeo


def run(expected: str = "success", **conf):
    result = run_dag(DAG_ID, conf)
    assert str(result.state) == expected, task_states(result)
    return result


def merged(hub, kind: str) -> dict[str, dict]:
    return {program_id: record for program_id, record in hub.state()["registers"][kind].get(COMPANY, {}).items()}


def quarantine(ledger) -> list[tuple]:
    return ledger.execute("SELECT entity, source_id, error_category, reason FROM quarantine ORDER BY entity, source_id"
                          ).fetchall()


def test_the_registers_are_merged_once_and_a_second_run_changes_nothing(hub, ledger):
    run()
    contractors = merged(hub, "contractor")
    assert set(contractors) == {"K-001", "O-17"}
    assert {k: v for k, v in contractors["K-001"].items() if k != "id"} == {
        "program_id": "K-001", "SHORT_NAME": 'Papiernik "Żółw"', "FULL_NAME": "Papiernik Żółw Sp. z o.o.",
        "SUPPLIER": "true", "CUSTOMER": "false", "VAT_NUMBER": "5252344078", "CITY": "Łódź", "POSTCODE": "90-001",
        "STREET": "ul. Łąkowa 7", "TELEPHONE": "42 630 00 00", "CONTACT_PERSON": "Anna Żak", "COUNTRY_ISO3166A2": "PL"}
    assert (contractors["O-17"]["SUPPLIER"], contractors["O-17"]["CUSTOMER"]) == ("false", "true")
    assert {k: v["NAME"] for k, v in merged(hub, "category").items()} == {
        "Materiały biurowe": "Materiały biurowe", "Paliwo": "Paliwo"}
    assert set(merged(hub, "payment_method")) == {"przelew", "gotówka"}
    [(entity, source_id, category, reason)] = quarantine(ledger)
    assert (entity, source_id, category) == ("contractor", "K-002", "NOT_VALID")
    assert reason == "contractor K-002 (rachmistrz.epp line 10): SaldeoSMART refused it: VAT_NUMBER: Niepoprawny numer NIP"
    ids = ledger.execute("SELECT entity, source_id, target_id FROM id_map WHERE entity = 'contractor' ORDER BY 2"
                         ).fetchall()
    assert ids == [("contractor", "K-001", str(contractors["K-001"]["id"])),
                   ("contractor", "O-17", str(contractors["O-17"]["id"]))]

    writes = len(hub.state()["merges"])
    run()
    assert len(hub.state()["merges"]) == writes  # nothing changed: nothing sent but the waiting refusal
    assert [r[:3] for r in quarantine(ledger)] == [("contractor", "K-002", "NOT_VALID")]


def test_a_changed_card_sends_just_that_item_and_a_fixed_one_leaves_the_quarantine(hub, ledger, source):
    run()
    before = len(hub.state()["merges"])
    fixed = card(0, "K-002", "Dobry NIP", "Dobry NIP s.c.", "7010020030")
    moved = card(2, "O-17", "Odbiorca", "Odbiorca SA", "1132853869", city="Kraków")
    (source / "rachmistrz.epp").write_bytes(export_file(PAPIERNIK, moved, fixed, documents=DOCUMENTS))
    run()
    sent = hub.state()["merges"][before:]
    assert sorted((m["kind"], m["program_id"]) for m in sent) == [("contractor", "K-002"), ("contractor", "O-17")]
    assert merged(hub, "contractor")["O-17"]["CITY"] == "Kraków"
    assert quarantine(ledger) == []
    actions = ledger.execute("SELECT source_id, action FROM transfer_log WHERE entity = 'contractor' ORDER BY id"
                             ).fetchall()
    assert actions[-2:] == [("O-17", "updated"), ("K-002", "created")]


def test_a_card_the_file_cannot_give_waits_named_and_leaves_as_gone_when_the_export_drops_it(hub, ledger, source):
    broken = card(7, "K-003", "Osoba", "Jan Kowalski", "").replace("7,", "X,", 1)
    (source / "rachmistrz.epp").write_bytes(export_file(PAPIERNIK, broken))
    run()
    [(entity, source_id, category, reason)] = quarantine(ledger)
    assert (entity, source_id, category) == ("contractor", "K-003", "INVALID_DATA")
    assert reason == "counterparty K-003 (rachmistrz.epp line 9): field 1 (Typ kontrahenta) 'X' is not a type 0-9 of the format"
    assert set(merged(hub, "contractor")) == {"K-001"}  # the rest went on
    (source / "rachmistrz.epp").write_bytes(export_file(PAPIERNIK))
    run()
    assert quarantine(ledger) == []
    assert ledger.execute("SELECT source_id, error_text FROM transfer_log WHERE action = 'gone'").fetchall() == [
        ("K-003", "contractor K-003 is no longer in the accounting program's export")]


def test_a_file_that_is_not_an_epp_export_is_named_and_the_others_go_on(hub, ledger, source):
    (source / "zestawienie.epp").write_bytes("Kontrahenci;NIP\r\nK-9;123\r\n".encode("cp1250"))
    run()
    [(entity, source_id, category, reason)] = quarantine(ledger)[-1:]
    assert (entity, source_id, category) == ("source_file", "zestawienie.epp", "SOURCE_FORMAT")
    assert "zestawienie.epp in" in reason and "its first line is not [INFO]" in reason and "What to do" in reason
    assert set(merged(hub, "contractor")) == {"K-001", "O-17"}
    (source / "zestawienie.epp").unlink()
    run()
    assert [r[:2] for r in quarantine(ledger)] == [("contractor", "K-002")]
    assert ledger.execute("SELECT source_id FROM transfer_log WHERE action = 'gone'").fetchall() == [("zestawienie.epp",)]


def test_dry_run_writes_nothing(hub, ledger):
    run(dry_run=True)
    assert hub.state()["merges"] == [] and quarantine(ledger) == []
    assert ledger.execute("SELECT count(*) FROM id_map").fetchone() == (0,)


def test_refused_hub_credentials_are_their_own_reason(hub, ledger, monkeypatch):
    conn = json.loads(os.environ["AIRFLOW_CONN_SALDEO_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_SALDEO_DEFAULT", json.dumps({**conn, "password": "an-old-token"}))
    run("failed")
    rows = ledger.execute("SELECT entity, source_id, error_category, error_text FROM transfer_log WHERE action = 'failed'"
                          ).fetchall()
    [(entity, source_id, category, reason)] = rows
    assert (entity, source_id, category) == ("hub", "saldeo_default", "HUB_CREDENTIALS")
    assert "What to do: check the login (API user)" in reason and hub.state()["merges"] == []


def test_an_unreadable_source_folder_is_named(hub, ledger, source, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SALDEO_REGISTERS",
                       json.dumps({"company_program_id": COMPANY, "source": str(source / "missing")}))
    run("failed")
    [(category, reason)] = ledger.execute("SELECT error_category, error_text FROM transfer_log WHERE action = 'failed'"
                                          ).fetchall()
    assert category == "SOURCE_UNREADABLE" and f"cannot read the folder {source / 'missing'}" in reason


def test_the_export_is_read_from_an_sftp_folder_and_a_changed_server_is_named(hub, ledger, sftp_server, monkeypatch,
                                                                               tmp_path):
    (sftp_server.root / "rachmistrz.epp").write_bytes(export_file(PAPIERNIK, documents=DOCUMENTS[:1]))

    def connect(host_key: str) -> None:
        monkeypatch.setenv("AIRFLOW_CONN_SFTP_BIURO", json.dumps({
            "conn_type": "erpbridge_sftp", "host": "127.0.0.1", "port": sftp_server.port, "login": sftp_server.user,
            "password": sftp_server.private_key, "extra": {"host_key": host_key}}))

    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SALDEO_REGISTERS", json.dumps(
        {"company_program_id": COMPANY, "source": f"sftp://sftp_biuro{sftp_server.root}"}))
    _, other = make_key(tmp_path / "other_host")
    connect(" ".join(other.split()[:2]))
    run("failed")
    [(category, reason)] = ledger.execute("SELECT error_category, error_text FROM transfer_log WHERE action = 'failed'"
                                          ).fetchall()
    assert category == "SOURCE_HOST_KEY" and "is not the one connection sftp_biuro trusts" in reason
    connect(sftp_server.host_key)
    run()
    assert set(merged(hub, "contractor")) == {"K-001"} and set(merged(hub, "category")) == {"Materiały biurowe"}
