"""saldeo_accounting_export with bank statements (dag.test(), the SaldeoSMART simulator over HTTP, a real ledger,
a real folder): the hub's approved statements become one file - Optima XML cash/bank reports or EPP bank documents -
read back here by readers written from the formats' descriptions (no code shared with the writers); a second run
writes nothing, a
re-export of the month gives the same bytes, a statement without a mapped account waits in the quarantine while
the rest go on, a crash after the file is written neither loses nor doubles a statement, and a format without
statements or a hub without the module is refused in plain words while the documents go on."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import csv

import pytest
from defusedxml import ElementTree as SafeET

from tests.accounting_exchange.test_saldeo_accounting_export import (  # noqa: F401 (fixtures)
    DOCUMENTS, FILE, configure, destination, hub, log_rows, ready, run, unwritable)
from tests.reliability.test_crash_consistency_accounting import kill_when, task_process
from tests.saldeo import COMPANY, saldeo  # noqa: F401 (fixture)

NS = {"o": "http://www.comarch.pl/cdn/optima/offline"}
ACCOUNT, SAVINGS = "PL61 1090 1014 0000 0712 1981 2874", "PL27 1140 2004 0000 3002 0135 5387"
BANK_ACCOUNTS = {"PL61109010140000071219812874": "BANK-PKO", "PL27 1140 2004 0000 3002 0135 5387": "BANK-MBANK"}


def operation(value: str, direction: str, day: str, text: str, approved: str = "true") -> dict:
    return {"bank_operation_type": "PRZELEW", "operation_date": day, "accounting_date": day, "value": value,
            "debit_credit": direction, "operation_description": text, "currency_iso4217": "PLN",
            "is_approved": approved, "is_refund": "false",
            "bank_operation_account_number": "PL10105000997603123456789123"}


def statement(account: str, first: str, last: str, *operations: dict, **fields) -> dict:
    return {"company_program_id": COMPANY, "bank_statement_account_number": account, "currency_iso4217": "PLN",
            "bank_statement_period_from": first, "bank_statement_period_to": last, "status": "OCRED",
            "bank_statement_filename": f"wyciag-{first}.pdf", "source": "https://saldeo.example/s.pdf",
            "operations": list(operations), **fields}


JANUARY = statement(ACCOUNT, "2026-01-01", "2026-01-31",
                    operation("1517.50", "CREDIT", "2026-01-05", "Zapłata za FS 3/2026  Odbiorca SA"),
                    operation("173.04", "DEBIT", "2026-01-29", "Przelew FV 5001/01/2026 Papiernik \"Żółw\" & syn"))
SAVINGS_JANUARY = statement(SAVINGS, "2026-01-01", "2026-01-31", operation("0.37", "CREDIT", "2026-01-31", "Odsetki"))
UNAPPROVED = statement(ACCOUNT, "2026-02-01", "2026-02-28",
                       operation("10.00", "DEBIT", "2026-02-03", "Opłata", approved="false"))
UNMAPPED = statement("PL83 1020 1026 0000 0422 7020 1111", "2026-01-01", "2026-01-31",
                     operation("50.00", "DEBIT", "2026-01-10", "Paliwo"))


OPTIMA = {"format": "optima", "format_version": "2.00"}


@pytest.fixture
def bank(hub, configure):
    configure(**OPTIMA, bank_statements=True, bank_accounts=BANK_ACCOUNTS)
    hub.seed(bank_statements=[JANUARY, SAVINGS_JANUARY, UNAPPROVED])
    return hub


def bank_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{COMPANY}-bank-*"))


def reports(path: Path) -> list[dict]:
    """Each RAPORT_KB of an Optima file: register, period, and its operations as (date, signed amount, text)."""
    root = SafeET.fromstring(path.read_bytes())
    assert root.tag == "{%s}ROOT" % NS["o"]
    [section] = root.findall("o:RAPORTY_KB", NS)
    assert section.findtext("o:WERSJA", namespaces=NS) == "2.00"
    out = []
    for report in section.findall("o:RAPORT_KB", NS):
        lines = []
        for line in report.findall("o:ZAPISY_KB/o:ZAPIS_KB", NS):
            sign = {"przychód": 1, "rozchód": -1}[line.findtext("o:KIERUNEK", namespaces=NS)]
            amount = sign * Decimal(line.findtext("o:KWOTA", namespaces=NS))
            lines.append((line.findtext("o:DATA_DOK", namespaces=NS), amount, line.findtext("o:OPIS", namespaces=NS)))
        out.append({"id": report.findtext("o:ID_ZRODLA", namespaces=NS),
                    "register": report.findtext("o:RACHUNEK", namespaces=NS),
                    "period": (report.findtext("o:DATA_OTWARCIA", namespaces=NS),
                               report.findtext("o:DATA_ZAMKNIECIA", namespaces=NS)), "lines": lines})
    return out


def epp_reports(path: Path) -> list[dict]:
    """EDI++ 1.05 bank documents (Table 9): cp1250, CRLF, [INFO] (24 fields) then one [NAGLOWEK] of 56 fields per
    document and no [ZAWARTOSC]; grouped by the bank (field 50) as {register, lines: (date, signed amount, title)}."""
    raw = path.read_bytes()
    assert raw.endswith(b"\r\n\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.decode("cp1250").split("\r\n")
    assert lines[0] == "[INFO]" and len(next(csv.reader([lines[1]]))) == 24
    assert "[ZAWARTOSC]" not in lines
    by_bank: dict[str, list] = {}
    for label, row in zip(lines, lines[1:]):
        if label == "[NAGLOWEK]":
            f = next(csv.reader([row]))
            assert len(f) == 56 and f[0] in ("BP", "BW") and f[3].startswith(f[0] + " ")
            day = f"{f[4][:4]}-{f[4][4:6]}-{f[4][6:8]}"
            by_bank.setdefault(f[49], []).append((day, Decimal(f[42]) * (1 if f[0] == "BP" else -1), f[36]))
    return [{"register": bank, "lines": rows} for bank, rows in by_bank.items()]


def read(path: Path) -> list[dict]:
    return epp_reports(path) if path.suffix == ".epp" else reports(path)


def expected(seeded: dict) -> list[tuple]:
    return [(o["operation_date"], Decimal(o["value"]) * (1 if o["debit_credit"] == "CREDIT" else -1),
             " ".join(o["operation_description"].split())) for o in seeded["operations"]]


def statements_recorded(ledger) -> bool:
    if ledger.execute("SELECT to_regclass('accounting_export_file')").fetchone()[0] is None:
        return False
    return ledger.execute("SELECT count(*) FROM accounting_export_file WHERE file_name LIKE %s",
                          (f"{COMPANY}-bank-%",)).fetchone()[0] > 0


@pytest.mark.parametrize("fmt", [OPTIMA, {"format": "epp", "format_version": "1.05"}], ids=["optima", "epp"])
def test_approved_statements_become_one_file_once_and_the_documents_go_on(bank, ledger, destination, configure, fmt):
    configure(**fmt, bank_statements=True, bank_accounts=BANK_ACCOUNTS)
    run()
    [written] = bank_files(destination)
    by_register = {r["register"]: r for r in read(written)}
    assert set(by_register) == {"BANK-PKO", "BANK-MBANK"}  # the unapproved February one waits
    assert by_register["BANK-PKO"]["lines"] == expected(JANUARY)
    assert by_register["BANK-MBANK"]["lines"] == expected(SAVINGS_JANUARY)
    assert sum(line[1] for line in by_register["BANK-PKO"]["lines"]) == Decimal("1344.46")
    if fmt == OPTIMA:
        assert by_register["BANK-PKO"]["period"] == ("2026-01-01", "2026-01-31")
        assert written.read_bytes().startswith(b"<?xml version='1.0' encoding='windows-1250'?>")
    extension = ".xml" if fmt == OPTIMA else ".epp"
    assert written.suffix == extension and (destination / FILE.replace(".epp", extension)).exists()
    assert ready(bank) == []  # the documents as before
    created = [(e, s, t) for e, s, _, _, _, t in log_rows(ledger, "created") if e == "bank_statement"]
    assert {s for _, s, _ in created} == {"PL61109010140000071219812874/2026-01-01/2026-01-31",
                                          "PL27114020040000300201355387/2026-01-01/2026-01-31"}
    assert {t for *_, t in created} == {written.name}
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)

    first = written.read_bytes()
    run()  # nothing new: no file, the same bytes
    assert bank_files(destination) == [written] and written.read_bytes() == first
    written.unlink()
    run(reexport_month="2026-01")
    assert written.read_bytes() == first


def test_a_statement_without_a_mapped_account_waits_naming_the_field_and_the_rest_go_on(bank, ledger, destination,
                                                                                        configure):
    bank.seed(bank_statements=[UNMAPPED])
    run()
    [first] = bank_files(destination)
    assert {r["register"] for r in reports(first)} == {"BANK-PKO", "BANK-MBANK"}
    [(entity, source, _, category, reason, _)] = log_rows(ledger, "rejected")
    assert (entity, source, category) == ("bank_statement", "PL83102010260000042270201111/2026-01-01/2026-01-31",
                                          "UNMAPPED_BANK_ACCOUNT")
    assert reason.startswith("bank statement of account PL83 1020 1026 0000 0422 7020 1111 for 2026-01-01..2026-01-31: "
                             "field BANK_STATEMENT_ACCOUNT_NUMBER 'PL83 1020 1026 0000 0422 7020 1111' has no bank "
                             "register mapping; add it to bank_accounts in Variable erpbridge_saldeo_accounting")
    assert ledger.execute("SELECT entity, error_category FROM quarantine").fetchall() == \
        [("bank_statement", "UNMAPPED_BANK_ACCOUNT")]

    configure(**OPTIMA, bank_statements=True,
              bank_accounts={**BANK_ACCOUNTS, "PL83102010260000042270201111": "BANK-PEKAO"})
    run()
    files = bank_files(destination)
    assert len(files) == 2 and [r["register"] for r in reports(files[1] if files[0] == first else files[0])] == \
        ["BANK-PEKAO"]
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def test_an_epp_statement_with_a_text_outside_the_code_page_waits_naming_the_operation(bank, ledger, destination,
                                                                                        configure):
    configure(format="epp", format_version="1.05", bank_statements=True, bank_accounts=BANK_ACCOUNTS)
    bank.seed(bank_statements=[statement(SAVINGS, "2026-03-01", "2026-03-31",
                                         operation("1.00", "CREDIT", "2026-03-02", "Zwrot"),
                                         operation("2.00", "DEBIT", "2026-03-03", "Opłata ✓ karta"))])
    run()
    [written] = bank_files(destination)
    assert {r["register"] for r in read(written)} == {"BANK-PKO", "BANK-MBANK"}
    assert [line[2] for r in read(written) for line in r["lines"]].count("Zwrot") == 0
    [(entity, _, _, category, reason, _)] = log_rows(ledger, "rejected")
    assert (entity, category) == ("bank_statement", "INVALID_DATA")
    assert ("bank statement of account PL27 1140 2004 0000 3002 0135 5387 for 2026-03-01..2026-03-31: field "
            "BANK_OPERATIONS/BANK_OPERATION[2]/OPERATION_DESCRIPTION 'Opłata ✓ karta' has '✓'") in reason


def test_an_unwritable_folder_keeps_the_recorded_statements_for_the_next_run_never_in_a_second_file(
        bank, ledger, destination):
    with unwritable(destination):
        run("failed")
    assert bank_files(destination) == []
    bank.seed(bank_statements=[statement(ACCOUNT, "2026-03-01", "2026-03-31",
                                         operation("5.00", "CREDIT", "2026-03-02", "Zwrot"))])
    run()
    files = bank_files(destination)
    assert len(files) == 2
    periods = sorted(r["period"] for f in files for r in reports(f))
    assert periods == [("2026-01-01", "2026-01-31"), ("2026-01-01", "2026-01-31"), ("2026-03-01", "2026-03-31")]
    assert sorted(r["id"] for f in files for r in reports(f)) == sorted({r["id"] for f in files for r in reports(f)})


def test_a_crash_after_the_file_is_written_neither_loses_nor_doubles_a_statement(bank, ledger, destination):
    """kill -9 as soon as the statements' file is in the folder (before the ledger hears it was written, or just
    after), then a clean run: every statement in exactly one file, the file the ledger's bytes."""
    proc = task_process("bank")
    assert kill_when(proc, lambda: bool(bank_files(destination))), "the export ended before its file was written"
    run()
    [written] = bank_files(destination)
    ids = [r["id"] for r in reports(written)]
    assert len(ids) == len(set(ids)) == 2
    [(content, written_at)] = ledger.execute("SELECT content, written_at FROM accounting_export_file"
                                             " WHERE file_name = %s", (written.name,)).fetchall()
    assert bytes(content) == written.read_bytes() and written_at is not None
    assert ledger.execute("SELECT count(*) FROM document_transfer WHERE entity = 'bank_statement'").fetchone() == (2,)


def test_a_crash_with_the_statements_recorded_and_their_file_not_written_is_finished_by_the_next_run(
        bank, ledger, destination, monkeypatch):
    """kill -9 while the documents' list is refused: the statements' file recorded and committed, not yet written."""
    bank.faults(respond={"path": "/api/xml/2.12/document/list", "status": 503, "count": 1000, "body": "down"})
    conn = json.loads(os.environ["AIRFLOW_CONN_SALDEO_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_SALDEO_DEFAULT", json.dumps({**conn, "extra": {**conn["extra"], "backoff": 2}}))
    assert kill_when(task_process("bank-recorded"), lambda: statements_recorded(ledger))
    assert bank_files(destination) == []
    bank.admin("DELETE", "faults")
    monkeypatch.setenv("AIRFLOW_CONN_SALDEO_DEFAULT", json.dumps(conn))
    run()
    [written] = bank_files(destination)
    assert sorted(r["register"] for r in reports(written)) == ["BANK-MBANK", "BANK-PKO"]
    [(content,)] = ledger.execute("SELECT content FROM accounting_export_file WHERE file_name = %s",
                                  (written.name,)).fetchall()
    assert bytes(content) == written.read_bytes()


def test_a_format_without_statements_is_refused_in_plain_words_and_the_documents_go_on(hub, ledger, destination,
                                                                                      configure):
    hub.seed(bank_statements=[JANUARY])
    configure(format="ksef_fa3", format_version="1-0E", bank_statements=True, bank_accounts=BANK_ACCOUNTS,
              ksef_exemption_basis="art. 43 ust. 1 pkt 37 ustawy o VAT")
    run("failed")
    [(entity, source, _, category, reason, _)] = log_rows(ledger, "failed")
    assert (entity, source, category) == ("bank_statement", "settings", "FORMAT_VERSION")
    assert "KSeF FA(3) is a schema for invoices only and holds no bank statements" in reason
    assert "What to do: set bank_statements to false" in reason
    assert ready(hub) == [] and bank_files(destination) == []  # the documents exported and marked all the same
    assert not any("bank_statement" in r["path"] for r in hub.requests())


def test_a_hub_without_the_bank_module_is_refused_in_plain_words_and_the_documents_go_on(airflow_db, ledger, saldeo,
                                                                                        configure, destination):
    saldeo.seed(companies=[{"program_id": COMPANY, "name": "Klient", "bank_module": False}])
    configure(**OPTIMA, bank_statements=True, bank_accounts=BANK_ACCOUNTS)
    saldeo.seed(documents=DOCUMENTS)
    run("failed")
    [(entity, source, _, category, reason, _)] = log_rows(ledger, "failed")
    assert (entity, source, category) == ("bank_statement", "hub", "HUB_BANK_STATEMENTS")
    assert "6001: User does not have access" in reason and "Bank statements module" in reason
    assert ready(saldeo) == []


def test_statements_stay_off_unless_the_company_asks_for_them(hub, destination):
    hub.seed(bank_statements=[JANUARY])
    run()
    assert bank_files(destination) == [] and not any("bank_statement" in r["path"] for r in hub.requests())


def test_statements_ending_before_bank_statements_since_are_not_exported(bank, destination, configure):
    configure(**OPTIMA, bank_statements=True, bank_accounts=BANK_ACCOUNTS,
              bank_statements_since="2026-02-01")
    run()
    assert bank_files(destination) == []  # January is older; February is not approved yet


def test_a_dry_run_counts_the_statements_and_writes_nothing(bank, ledger, destination):
    bank.seed(bank_statements=[UNMAPPED])
    result = run(dry_run=True)
    counts = result.get_task_instance("export_documents").xcom_pull()
    assert {k: v for k, v in counts.items() if k.startswith("statements_")} == {
        "statements_would_export": 2, "statements_would_reject": 1, "statements_waiting": 1}
    assert list(destination.iterdir()) == [] and log_rows(ledger) == []
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
